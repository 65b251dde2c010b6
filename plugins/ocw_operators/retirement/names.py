"""Names that come from outside (course ids, resource names) and the paths built from them.

A resource name becomes both a file in the holding area and a member of the zip DSpace unpacks, so a name
with ``..``, an absolute path, a drive letter, a backslash, a NUL or another control character could write
outside the holding area (zip-slip) or outside DSpace's unpack directory. Such names are refused, never
"cleaned": silently renaming a course file would change what is archived.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path, PurePosixPath

# Course ids are CMS paths below /courses/: "<department>/<course slug>" (see the seed's set_dspace_handle URL).
_COURSE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,99}/[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_DRIVE = re.compile(r"^[A-Za-z]:")
MAX_NAME_BYTES = 1024


class HostileNameError(ValueError):
    """A course id or resource name that could escape its directory or is otherwise unusable."""


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
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise HostileNameError(f"resource name is longer than {MAX_NAME_BYTES} bytes: {name[:80]!r}...")
    return name


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
