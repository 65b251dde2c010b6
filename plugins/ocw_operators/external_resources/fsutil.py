"""File helpers: bounded, symlink-refusing reads inside a root and crash-safe (atomic) writes."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

MAX_TEXT_FILE_BYTES = 5 * 1024 * 1024


class UnsafeFileError(Exception):
    """A file that must not be read or replaced: a symlink, outside its root, oversized or not UTF-8."""


@dataclass(frozen=True)
class TextFile:
    text: str  # newlines normalized to "\n"
    newline: str  # the file's own newline style, restored on write


def read_text_inside(path: Path, root: Path, *, max_bytes: int = MAX_TEXT_FILE_BYTES) -> TextFile:
    """Read a UTF-8 text file that must be a regular file (not a symlink) under ``root``."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeFileError(f"{path.name} is a symlink; refusing to follow it")
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFileError(f"{path.name} is not a regular file")
    if not path.resolve().is_relative_to(root.resolve()):
        raise UnsafeFileError(f"{path} resolves outside {root}")
    if info.st_size > max_bytes:
        raise UnsafeFileError(f"{path.name} is {info.st_size} bytes, over the {max_bytes}-byte limit")
    raw = path.read_bytes()
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnsafeFileError(f"{path.name} is not valid UTF-8 (byte {error.start})") from None
    newline = "\r\n" if "\r\n" in decoded else "\n"
    return TextFile(text=decoded.replace("\r\n", "\n"), newline=newline)


def atomic_write_text(path: Path, text: str, *, newline: str = "\n") -> None:
    """Replace ``path`` with ``text`` so readers see the old or the new file, never a partial one.

    Temp file in the same directory, fsync, rename over the target, fsync the directory. The target's
    permissions are kept; a symlink at ``path`` is refused rather than replaced.
    """
    if path.is_symlink():
        raise UnsafeFileError(f"{path} is a symlink; refusing to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
    data = text.replace("\n", newline).encode("utf-8") if newline != "\n" else text.encode("utf-8")
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; some filesystems refuse O_RDONLY fsync on directories.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
