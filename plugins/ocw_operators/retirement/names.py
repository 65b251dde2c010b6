"""Names that come from outside (course ids, resource names) and the paths built from them.

A resource name becomes both a file in the holding area and a member of the zip DSpace unpacks, so a name
with ``..``, an absolute path, a drive letter, a backslash, a NUL or another control character could write
outside the holding area (zip-slip) or outside DSpace's unpack directory. Such names are refused, never
"cleaned": silently renaming a course file would change what is archived. So are names no file system would
take (more than 255 bytes of UTF-8 in one path component, or 1,024 in the whole path): they are refused when
the CMS lists them, naming the course and the file, instead of failing with ``ENAMETOOLONG`` mid-fetch.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path, PurePosixPath

# Course ids are CMS paths below /courses/: "<department>/<course slug>" (see the seed's set_dspace_handle URL).
_COURSE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,99}/[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_DRIVE = re.compile(r"^[A-Za-z]:")
# NAME_MAX of ext4, XFS and the other file systems the holding area and DSpace's unpack directory live on.
MAX_COMPONENT_BYTES = 255
# The longest relative path inside a course's package (macOS's PATH_MAX; well below Linux's 4,096, which
# must still fit the holding area's own root in front of it).
MAX_PATH_BYTES = 1024
_SHOWN_CHARS = 160
_LIMITS = (
    f"a file name may have at most {MAX_COMPONENT_BYTES} bytes per path component and {MAX_PATH_BYTES:,} per path, "
    "so the file cannot be archived under this name (rename it in the CMS)"
)


class HostileNameError(ValueError):
    """A course id or resource name that could escape its directory or is otherwise unusable."""


class NameTooLongError(HostileNameError):
    """A name with a path component over 255 bytes or a path over 1,024 bytes (UTF-8): no file system takes it."""


def shown(name: str) -> str:
    """``name`` quoted for a message, shortened if it is very long (the byte counts are given beside it)."""
    if len(name) <= _SHOWN_CHARS:
        return repr(name)
    return f"{name[: _SHOWN_CHARS - 40]!r}…{name[-30:]!r}"


def utf8_size(name: str, what: str) -> int:
    try:
        return len(name.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate, e.g. from a JSON "\ud800" escape
        raise HostileNameError(f"{what} is not valid Unicode text") from None


def check_name_length(name: str, *, what: str | None = None) -> str:
    """Return ``name`` if each component fits in 255 bytes and the whole path in 1,024 (UTF-8).

    :param what: how messages call the name (default: ``resource name '<name>'``).
    """
    what = what or f"resource name {shown(name)}"
    components = name.split("/")
    for position, component in enumerate(components):
        size = utf8_size(component, what)
        if size > MAX_COMPONENT_BYTES:
            part = "its file name" if position == len(components) - 1 else f"its path component {shown(component)}"
            raise NameTooLongError(f"{what} is too long: {part} has {size} bytes in UTF-8; {_LIMITS}")
    size = utf8_size(name, what)
    if size > MAX_PATH_BYTES:
        raise NameTooLongError(f"{what} is too long: {size} bytes in UTF-8 in all; {_LIMITS}")
    return name


def validate_course_id(course_id: str) -> str:
    """Return ``course_id`` if it is ``<department>/<slug>``; raise :class:`HostileNameError` otherwise."""
    if not isinstance(course_id, str) or not _COURSE_ID.match(course_id) or ".." in course_id.split("/"):
        raise HostileNameError(f"not a course id of the form <department>/<course-slug>: {course_id!r}")
    return course_id


def validate_member_name(name: str) -> str:
    """Return ``name`` if it is a safe relative POSIX path; raise :class:`HostileNameError` otherwise."""
    if not isinstance(name, str) or not name:
        raise HostileNameError(f"empty or non-text resource name: {name!r}")
    if "\x00" in name:
        raise HostileNameError(f"resource name contains NUL: {name!r}")
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise HostileNameError(f"resource name contains control characters: {name!r}")
    if "\\" in name:
        raise HostileNameError(f"resource name contains a backslash: {name!r}")
    if name.startswith("/") or _DRIVE.match(name):
        raise HostileNameError(f"resource name is an absolute path: {name!r}")
    if any(part in ("", ".", "..") for part in name.split("/")):
        raise HostileNameError(f"resource name has empty, '.' or '..' components: {name!r}")
    return check_name_length(name)


def safe_join(root: Path, relative: str) -> Path:
    """``root / relative`` after validating ``relative``; refuses any existing symlink on the way.

    Symlinks inside the holding area could point a write (fetch) or a read (packaging) outside it.
    """
    validate_member_name(relative)
    path = root
    for part in PurePosixPath(relative).parts:
        path = path / part
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(mode):
            raise HostileNameError(f"refusing to follow the symlink {path} inside {root}")
    return path


def course_dir_name(course_id: str) -> Path:
    """The relative directory for a course: ``<department>/<slug>`` (validated)."""
    return Path(*validate_course_id(course_id).split("/"))


def zip_file_name(course_id: str) -> str:
    """The zip's file name: the course slug, as OCW named its retired-course zips."""
    return validate_course_id(course_id).split("/")[1] + ".zip"
