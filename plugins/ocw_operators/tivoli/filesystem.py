"""File-system primitives for the Tivoli dropbox: scans that never follow symlinks, and crash-safe moves.

Moves never overwrite. A move is a ``rename`` when source and destination share a file system; otherwise
(``EXDEV``) the file is copied to a hidden partial name, fsynced, its size verified, renamed into place, and
only then is the source deleted. A crash at any point leaves the file complete in at least one place.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ocw_operators.tivoli.names import UnsafeNameError, check_safe_name

COPY_CHUNK_BYTES = 1024 * 1024
PARTIAL_SUFFIX = ".tivoli-partial"
# Below this many bytes per volume a thread pool costs more than it saves.
PARALLEL_HASH_MIN_BYTES = 64 * 1024 * 1024

Checkpoint = Callable[[str], None]


def no_checkpoint(_step: str) -> None:
    """Default step hook; tests pass one that simulates a crash at a chosen step boundary."""


class UnsafePathError(RuntimeError):
    """A path that would leave its root, pass through a symlink, or overwrite an existing file."""


def join(folder: str, name: str) -> str:
    """Relative POSIX paths as plain strings: pathlib costs more than the syscalls on large trees."""
    return f"{folder}/{name}" if folder else name


@dataclass(frozen=True, slots=True)
class ScannedFile:
    folder: str  # relative to the scanned root, "" for the root itself, "/"-separated
    name: str
    size: int
    mtime_ns: int

    @property
    def relpath(self) -> str:
        return join(self.folder, self.name)


@dataclass
class TreeScan:
    """Everything under one resource folder, gathered without following a single symlink."""

    files: list[ScannedFile] = field(default_factory=list)
    directories: list[str] = field(default_factory=list)
    newest_mtime_ns: int = 0
    problems: list[str] = field(default_factory=list)


def scan_tree(root: Path) -> TreeScan:
    """Recursively list ``root``; symlinks, special files and unsafe names are recorded as problems."""
    scan = TreeScan(newest_mtime_ns=os.lstat(root).st_mtime_ns)
    pending = [""]
    while pending:
        relative = pending.pop()
        with os.scandir(os.path.join(root, relative) if relative else root) as entries:
            for entry in entries:
                _scan_entry(entry, relative, scan, pending)
    scan.files.sort(key=lambda scanned: (scanned.folder, scanned.name))
    scan.directories.sort()
    return scan


def _scan_entry(entry: os.DirEntry, relative: str, scan: TreeScan, pending: list[str]) -> None:
    shown = join(relative, entry.name)
    try:
        check_safe_name(entry.name)
    except UnsafeNameError as error:
        scan.problems.append(f"unsafe name: {error}")
        return
    if entry.is_symlink():
        scan.problems.append(f"symlink {shown!r} (symlinks are never followed)")
        return
    info = entry.stat(follow_symlinks=False)
    scan.newest_mtime_ns = max(scan.newest_mtime_ns, info.st_mtime_ns)
    if stat.S_ISDIR(info.st_mode):
        scan.directories.append(shown)
        pending.append(shown)
    elif stat.S_ISREG(info.st_mode):
        scan.files.append(ScannedFile(relative, entry.name, info.st_size, info.st_mtime_ns))
    else:
        scan.problems.append(f"special file {shown!r} (not a regular file)")


def sha1_of(path: Path | str, expected_size: int | None = None) -> str:
    """SHA-1 of a regular file opened without following symlinks; checks the size read if given."""
    digest = hashlib.sha1(usedforsecurity=False)
    read = 0
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        if expected_size is not None and expected_size < COPY_CHUNK_BYTES:
            # A small file in one read; asking one byte more tells a file that grew from one that did not.
            chunk = os.read(fd, expected_size + 1)
            digest.update(chunk)
            read = len(chunk)
        else:
            while chunk := os.read(fd, COPY_CHUNK_BYTES):
                digest.update(chunk)
                read += len(chunk)
    finally:
        os.close(fd)
    if expected_size is not None and read != expected_size:
        raise OSError(errno.EIO, f"{path} changed while being read ({read} bytes, expected {expected_size})")
    return digest.hexdigest()


def sha1_many(paths_and_sizes: list[tuple[str, int]], workers: int = 4) -> list[str]:
    """SHA-1 of many files. Large files are read and hashed in threads (both release the GIL); for small
    files the thread hand-off costs more than the read, so they are hashed in line."""
    total_bytes = sum(size for _path, size in paths_and_sizes)
    if workers <= 1 or len(paths_and_sizes) < 2 or total_bytes < PARALLEL_HASH_MIN_BYTES:
        return [sha1_of(path, size) for path, size in paths_and_sizes]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tivoli-sha1") as pool:
        return list(pool.map(lambda item: sha1_of(*item), paths_and_sizes))


def ensure_inside(root: Path, path: Path) -> Path:
    """``path`` (under ``root``) with every existing component checked: no symlinks, no escape."""
    relative = path.relative_to(root)
    current = root
    for part in relative.parts:
        check_safe_name(part)
        current = current / part
        if current.is_symlink():
            raise UnsafePathError(f"{current} is a symlink; refusing to move anything through it")
    return path


def make_dirs_inside(root: Path, path: Path, created: set[Path]) -> None:
    """``mkdir -p`` below ``root`` refusing symlinked components; records created parents for fsync."""
    ensure_inside(root, path)
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir()
        created.add(directory.parent)


def fsync_directory(path: Path) -> None:
    """Make renames and creations inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def partial_path(destination: Path) -> Path:
    return destination.with_name(f".{destination.name}{PARTIAL_SUFFIX}")


class Mover:
    """Moves files and directories into the staging area, never overwriting, recording touched folders."""

    def __init__(
        self,
        *,
        allow_rename: bool = True,
        checkpoint: Checkpoint = no_checkpoint,
        heartbeat: Callable[[], None] = lambda: None,
    ) -> None:
        self.allow_rename = allow_rename
        self.checkpoint = checkpoint
        self.heartbeat = heartbeat  # called per copied chunk: a long copy must not let the lease lapse
        self.touched_dirs: set[Path] = set()

    def move_directory(self, source: Path, destination: Path) -> bool:
        """Rename a whole directory when the destination is absent; False when it must go file by file."""
        if not self.allow_rename or destination.exists() or destination.is_symlink():
            return False
        try:
            os.rename(source, destination)
        except OSError as error:
            if error.errno in (errno.EXDEV, errno.ENOTEMPTY, errno.EEXIST):
                return False
            raise
        self.touched_dirs.update((source.parent, destination.parent))
        self.checkpoint("directory_moved")
        return True

    def move_file(self, source: Path, destination: Path) -> None:
        if destination.exists() or destination.is_symlink():
            raise UnsafePathError(f"{destination} already exists; staging files are never overwritten")
        if self.allow_rename:
            try:
                os.rename(source, destination)
            except OSError as error:
                if error.errno != errno.EXDEV:
                    raise
            else:
                self.touched_dirs.update((source.parent, destination.parent))
                self.checkpoint("file_moved")
                return
        self._copy_verify_delete(source, destination)

    def _copy_verify_delete(self, source: Path, destination: Path) -> None:
        partial = partial_path(destination)
        partial.unlink(missing_ok=True)
        try:
            self._copy_to_partial(source, partial)
        except OSError:
            # A full staging area (ENOSPC) or a read error: free the space now, the next volume may fit.
            partial.unlink(missing_ok=True)
            raise
        self.checkpoint("file_copied")
        os.rename(partial, destination)
        fsync_directory(destination.parent)
        self.checkpoint("copy_renamed")
        os.unlink(source)
        self.touched_dirs.add(source.parent)
        self.checkpoint("source_deleted")

    def _copy_to_partial(self, source: Path, partial: Path) -> None:
        """Copy, fsync, keep the last write date and verify the size."""
        source_fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            source_info = os.fstat(source_fd)
            target_fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            try:
                with os.fdopen(source_fd, "rb", closefd=False) as reader:
                    while chunk := reader.read(COPY_CHUNK_BYTES):
                        _write_all(target_fd, chunk)
                        self.heartbeat()
                os.fsync(target_fd)
            finally:
                os.close(target_fd)
        finally:
            os.close(source_fd)
        # Keep the last write date: it is half of the "already archived" identity (size + last write date).
        os.utime(partial, ns=(source_info.st_atime_ns, source_info.st_mtime_ns))
        copied = os.lstat(partial).st_size
        if copied != source_info.st_size:
            raise OSError(errno.EIO, f"copy of {source} is {copied} bytes, expected {source_info.st_size}")

    def sync(self) -> None:
        """fsync every folder a rename touched, before the database says the files are staged."""
        for directory in sorted(self.touched_dirs):
            if directory.exists():
                fsync_directory(directory)
        self.touched_dirs.clear()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def remove_empty_dirs(root: Path, *, keep_root: bool = True) -> int:
    """Delete empty folders below ``root`` bottom-up, never following symlinks; returns how many."""
    removed = 0
    for current, _dirnames, filenames in os.walk(root, topdown=False, followlinks=False):
        path = Path(current)
        if (keep_root and path == root) or filenames:
            continue
        try:
            path.rmdir()  # fails harmlessly when a child survived or something new arrived
            removed += 1
        except OSError:
            continue
    return removed
