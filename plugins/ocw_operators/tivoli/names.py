"""File-name rules: which names may enter the staging area, and the date-suffixed rename.

A name is refused when it could escape the staging area or confuse the tools downstream: path separators
(``/`` and the Windows ``\\``), ``.``/``..``, control characters (a newline in a name could forge a line of
``dsmc`` output), bytes that are not UTF-8 (they cannot be logged faithfully), or more than 255 bytes.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Container

MAX_NAME_BYTES = 255


class UnsafeNameError(ValueError):
    """A file or folder name that must not be moved into the staging area."""


def check_safe_name(name: str) -> str:
    """Return ``name`` unchanged when it is safe; raise :class:`UnsafeNameError` with the reason otherwise."""
    if name in ("", ".", ".."):
        raise UnsafeNameError(f"{name!r} is not a file name")
    if "/" in name or "\\" in name:
        raise UnsafeNameError(f"{name!r} contains a path separator")
    # Fast path for the usual printable ASCII name; anything else is checked character by character.
    if not (name.isascii() and name.isprintable()) and any(unicodedata.category(char) == "Cc" for char in name):
        raise UnsafeNameError(f"{name!r} contains a control character")
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError as error:
        raise UnsafeNameError(f"{name!r} is not valid UTF-8") from error
    if len(encoded) > MAX_NAME_BYTES:
        raise UnsafeNameError(f"{name[:40]!r}... is longer than {MAX_NAME_BYTES} bytes")
    return name


def split_extension(name: str) -> tuple[str, str]:
    """``"00001.tif"`` -> ``("00001", ".tif")``; a leading dot is not an extension (``".hidden"``)."""
    dot = name.rfind(".")
    if dot <= 0:
        return name, ""
    return name[:dot], name[dot:]


def dated_name(name: str, day: dt.date, sequence: int = 1) -> str:
    """``00001.tif`` -> ``00001 (2009_10_29).tif``; a second rename the same day adds ``_2``, ``_3``..."""
    stem, extension = split_extension(name)
    suffix = day.strftime("%Y_%m_%d") if sequence == 1 else f"{day:%Y_%m_%d}_{sequence}"
    return f"{stem} ({suffix}){extension}"


def unused_dated_name(name: str, day: dt.date, taken: Container[str]) -> str:
    """The first dated variant of ``name`` not in ``taken`` (names archived, planned or present)."""
    sequence = 1
    while True:
        candidate = dated_name(name, day, sequence)
        if candidate not in taken:
            return check_safe_name(candidate)
        sequence += 1
