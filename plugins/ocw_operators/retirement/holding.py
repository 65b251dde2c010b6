"""The DSpace holding area: each course's files and XML metadata, fetched once and checksummed.

Layout under the holding root::

    <department>/<slug>/content/<resource name>          course files
    <department>/<slug>/metadata/<resource name>.xml     their XML metadata from the CMS
    <department>/<slug>/manifest.json                    course description + size/MD5/CRC-32 per file
    <department>/<slug>/_package/<slug>.zip              the METS SIP built from them

Files already present with the CMS's checksum are not downloaded again, so a retried or rerun fetch only
transfers what is missing or changed. Every file is written to a temporary name, fsynced and renamed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from ocw_operators.retirement.course import Course, Resource, course_from_manifest
from ocw_operators.retirement.names import MAX_COMPONENT_BYTES, course_dir_name, safe_join, zip_file_name
from ocw_operators.safe_xml import parse_xml

MANIFEST_NAME = "manifest.json"
PACKAGE_DIR = "_package"
CHUNK_BYTES = 1024 * 1024
MAX_METADATA_BYTES = 16 * 1024 * 1024


class HoldingAreaError(RuntimeError):
    """A file in the holding area could not be fetched or does not match what the CMS describes."""


class CourseSource(Protocol):
    """What the fetch step needs from the CMS (implemented by ``CmsClient``)."""

    def course(self, course_id: str) -> Course: ...

    def resource_chunks(self, course_id: str, name: str) -> contextlib.AbstractContextManager[Iterable[bytes]]: ...

    def resource_metadata(self, course_id: str, name: str, *, max_bytes: int) -> bytes: ...


@dataclass(frozen=True)
class FileRecord:
    size: int
    md5: str
    crc32: int
    mtime_ns: int


@dataclass(frozen=True)
class FetchSummary:
    course_id: str
    files_downloaded: int
    files_skipped: int
    bytes_downloaded: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_checksums(path: Path) -> tuple[str, int]:
    md5 = hashlib.md5(usedforsecurity=False)
    crc = 0
    with open(path, "rb", buffering=0) as handle:
        while chunk := handle.read(CHUNK_BYTES):
            md5.update(chunk)
            crc = zlib.crc32(chunk, crc)
    return md5.hexdigest(), crc


@contextlib.contextmanager
def atomic_writer(target: Path) -> Iterator[Any]:
    """Open a temporary sibling of ``target`` for writing; fsync and rename it into place on success."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.part-{os.getpid()}")
    if len(os.fsencode(temporary.name)) > MAX_COMPONENT_BYTES:
        # A file name near the 255-byte limit must still be writable: shorten only the temporary name.
        digest = hashlib.sha1(os.fsencode(target.name), usedforsecurity=False).hexdigest()[:16]
        temporary = target.with_name(f".{digest}.part-{os.getpid()}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    handle = os.fdopen(os.open(temporary, flags, 0o644), "wb")
    try:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        os.replace(temporary, target)
        fsync_directory(target.parent)
    except BaseException:
        handle.close()
        temporary.unlink(missing_ok=True)
        raise


class HoldingArea:
    """The holding area rooted at ``root`` (an existing directory, typically from an Airflow Variable)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def course_dir(self, course_id: str) -> Path:
        return self.root / course_dir_name(course_id)

    def package_path(self, course_id: str) -> Path:
        return self.course_dir(course_id) / PACKAGE_DIR / zip_file_name(course_id)

    def member_path(self, course_id: str, member: str) -> Path:
        return safe_join(self.course_dir(course_id), member)

    # -- manifest ------------------------------------------------------------------------------------------

    def load_manifest(self, course_id: str) -> tuple[Course, dict[str, FileRecord]] | None:
        path = self.course_dir(course_id) / MANIFEST_NAME
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        files = {name: FileRecord(**record) for name, record in payload["files"].items()}
        return course_from_manifest(payload["course"]), files

    def write_manifest(self, course: Course, files: dict[str, FileRecord]) -> None:
        payload = {"course": course.to_json(), "files": {name: asdict(record) for name, record in files.items()}}
        with atomic_writer(self.course_dir(course.course_id) / MANIFEST_NAME) as handle:
            handle.write(json.dumps(payload, indent=1, sort_keys=True).encode("utf-8"))

    # -- fetch -----------------------------------------------------------------------------------------------

    def fetch(self, source: CourseSource, course_id: str) -> FetchSummary:
        """Bring every resource and metadata file of ``course_id`` into the holding area (idempotent)."""
        course = source.course(course_id)
        self.root.mkdir(parents=True, exist_ok=True)
        previous = self.load_manifest(course_id)
        known = previous[1] if previous else {}
        files: dict[str, FileRecord] = {}
        downloaded = skipped = transferred = 0
        for resource in course.resources:
            record, fetched = self._fetch_content(source, course_id, resource, known.get(resource.content_member))
            files[resource.content_member] = record
            downloaded, skipped = downloaded + fetched, skipped + (not fetched)
            transferred += record.size if fetched else 0
            if resource.has_metadata:
                record, fetched = self._fetch_metadata(source, course_id, resource, known.get(resource.metadata_member))
                files[resource.metadata_member] = record
                downloaded, skipped = downloaded + fetched, skipped + (not fetched)
                transferred += record.size if fetched else 0
        self.write_manifest(course, files)
        return FetchSummary(course_id, downloaded, skipped, transferred)

    def _present(self, path: Path, expected_md5: str | None, known: FileRecord | None) -> FileRecord | None:
        """The file's record if ``path`` already holds the expected content, else None."""
        if expected_md5 is None or not path.is_file():
            return None
        info = path.stat()
        if known and known.md5 == expected_md5 and known.size == info.st_size and known.mtime_ns == info.st_mtime_ns:
            return known
        md5, crc = file_checksums(path)
        if md5 != expected_md5:
            return None
        return FileRecord(info.st_size, md5, crc, info.st_mtime_ns)

    def _fetch_content(
        self, source: CourseSource, course_id: str, resource: Resource, known: FileRecord | None
    ) -> tuple[FileRecord, bool]:
        target = self.member_path(course_id, resource.content_member)
        present = self._present(target, resource.md5, known)
        if present is not None:
            return present, False
        md5, crc, size = hashlib.md5(usedforsecurity=False), 0, 0
        with atomic_writer(target) as handle, source.resource_chunks(course_id, resource.name) as chunks:
            for chunk in chunks:
                size += len(chunk)
                if size > resource.size:
                    raise HoldingAreaError(
                        f"{course_id}: {resource.name!r} is larger than the {resource.size} bytes listed"
                    )
                md5.update(chunk)
                crc = zlib.crc32(chunk, crc)
                handle.write(chunk)
            if size != resource.size:
                raise HoldingAreaError(
                    f"{course_id}: {resource.name!r} has {size} bytes, the CMS listed {resource.size}"
                )
            if resource.md5 and md5.hexdigest() != resource.md5:
                raise HoldingAreaError(
                    f"{course_id}: {resource.name!r} does not match the CMS's MD5 (corrupt download)"
                )
        return FileRecord(size, md5.hexdigest(), crc, target.stat().st_mtime_ns), True

    def _fetch_metadata(
        self, source: CourseSource, course_id: str, resource: Resource, known: FileRecord | None
    ) -> tuple[FileRecord, bool]:
        target = self.member_path(course_id, resource.metadata_member)
        present = self._present(target, resource.metadata_md5, known)
        if present is not None:
            return present, False
        data = source.resource_metadata(course_id, resource.name, max_bytes=MAX_METADATA_BYTES)
        # Refuse malformed XML and XML with entities before it can reach the package.
        parse_xml(data, source=f"metadata of {resource.name!r} in course {course_id}")
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if resource.metadata_md5 and md5 != resource.metadata_md5:
            raise HoldingAreaError(f"{course_id}: metadata of {resource.name!r} does not match the CMS's MD5")
        with atomic_writer(target) as handle:
            handle.write(data)
        return FileRecord(len(data), md5, zlib.crc32(data), target.stat().st_mtime_ns), True
