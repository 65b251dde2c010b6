"""A ZIP writer that writes strictly front to back and hashes every byte (MD5) as it writes.

Why not :mod:`zipfile`: on a seekable file it goes back to patch each local header after the data, so an
MD5 taken while writing would not match the file; on a non-seekable stream it switches to data descriptors,
which Java's ``ZipInputStream`` rejects for stored entries. Here the CRC-32 and size of each member are known
before its header is written (from the holding-area manifest or a read pass), so no byte is ever rewritten
and the MD5 is final the moment the last byte lands. Members are stored, not deflated: course content is
mostly PDFs, images and video that are already compressed, and storing keeps packaging at disk speed.

Memory use is one read buffer plus a few bytes per member for the central directory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import stat
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ocw_operators.retirement.names import validate_member_name

CHUNK_BYTES = 1024 * 1024
# Sizes and offsets at or above this need ZIP64 records (module attribute so tests can force ZIP64 on tiny zips).
ZIP64_LIMIT = 0xFFFFFFFF
ZIP64_ENTRY_LIMIT = 0xFFFF

_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
_CENTRAL_HEADER = struct.Struct("<IHHHHHHIIIHHHHHII")
_END_OF_CENTRAL_DIR = struct.Struct("<IHHHHIIH")
_ZIP64_END = struct.Struct("<IQHHIIQQQQ")
_ZIP64_LOCATOR = struct.Struct("<IIQI")
_UTF8_FLAG = 0x0800
_UNIX = 3
_REGULAR_FILE_ATTRS = (0o100644 & 0xFFFF) << 16


class SourceChangedError(RuntimeError):
    """A file changed between its checksum and its packaging; the zip must not be used."""


@dataclass(frozen=True)
class _Member:
    name: bytes
    flags: int
    dos_time: int
    dos_date: int
    crc: int
    size: int
    offset: int


def file_crc32(path: Path) -> int:
    """CRC-32 of a file, read in chunks."""
    crc = 0
    with open(path, "rb", buffering=0) as handle:
        while chunk := handle.read(CHUNK_BYTES):
            crc = zlib.crc32(chunk, crc)
    return crc


def _dos_datetime(moment: dt.datetime) -> tuple[int, int]:
    year = min(max(moment.year, 1980), 2107)
    dos_time = (moment.hour << 11) | (moment.minute << 5) | (moment.second // 2)
    dos_date = ((year - 1980) << 9) | (moment.month << 5) | moment.day
    return dos_time, dos_date


class StreamingZipWriter:
    """Write a stored ZIP sequentially to ``output``; ``close()`` returns ``(md5_hex, size_bytes)``.

    :param output: a binary file opened for writing; it is never seeked.
    """

    def __init__(self, output: BinaryIO) -> None:
        self._output = output
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._offset = 0
        self._members: list[_Member] = []
        self._names: set[str] = set()
        self._closed = False

    # -- members ---------------------------------------------------------------------------------------

    def add_bytes(self, name: str, data: bytes, *, modified: dt.datetime) -> None:
        """Add a small in-memory member (``mets.xml``)."""
        self._start_member(name, crc=zlib.crc32(data), size=len(data), modified=modified)
        self._write(data)

    def add_file(self, name: str, path: Path, *, crc32: int | None = None) -> None:
        """Add the regular file at ``path`` as ``name``, streamed in chunks.

        ``crc32`` (from the holding manifest) saves a read pass; it is verified while writing either way.
        Symlinks and non-regular files are refused.
        """
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags)
        with os.fdopen(fd, "rb", buffering=0) as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise SourceChangedError(f"{path} is not a regular file")
            size = info.st_size
            expected_crc = crc32 if crc32 is not None else file_crc32(path)
            modified = dt.datetime.fromtimestamp(info.st_mtime, dt.UTC)
            self._start_member(name, crc=expected_crc, size=size, modified=modified)
            written, crc = 0, 0
            while chunk := handle.read(CHUNK_BYTES):
                written += len(chunk)
                if written > size:
                    raise SourceChangedError(f"{path} grew while it was being packaged")
                crc = zlib.crc32(chunk, crc)
                self._write(chunk)
        if written != size or crc != expected_crc:
            raise SourceChangedError(f"{path} changed while it was being packaged (size or CRC-32 differ)")

    def _start_member(self, name: str, *, crc: int, size: int, modified: dt.datetime) -> None:
        if self._closed:
            raise ValueError("the zip is already closed")
        validate_member_name(name)
        if name in self._names:
            raise ValueError(f"duplicate zip member {name!r}")
        self._names.add(name)
        encoded = name.encode("utf-8")
        flags = 0 if encoded.isascii() else _UTF8_FLAG
        dos_time, dos_date = _dos_datetime(modified)
        zip64 = size >= ZIP64_LIMIT
        extra = struct.pack("<HHQQ", 1, 16, size, size) if zip64 else b""
        size32 = 0xFFFFFFFF if zip64 else size
        header = _LOCAL_HEADER.pack(
            0x04034B50, 45 if zip64 else 20, flags, 0, dos_time, dos_date, crc, size32, size32, len(encoded), len(extra)
        )
        self._members.append(_Member(encoded, flags, dos_time, dos_date, crc, size, self._offset))
        self._write(header + encoded + extra)

    # -- central directory -------------------------------------------------------------------------------

    def close(self) -> tuple[str, int]:
        """Write the central directory; return the archive's MD5 (hex) and size in bytes."""
        if self._closed:
            raise ValueError("the zip is already closed")
        directory_offset = self._offset
        for member in self._members:
            self._write(_central_record(member))
        directory_size = self._offset - directory_offset
        count = len(self._members)
        if count >= ZIP64_ENTRY_LIMIT or directory_size >= ZIP64_LIMIT or directory_offset >= ZIP64_LIMIT:
            zip64_end_offset = self._offset
            self._write(
                _ZIP64_END.pack(
                    0x06064B50, 44, (_UNIX << 8) | 45, 45, 0, 0, count, count, directory_size, directory_offset
                )
            )
            self._write(_ZIP64_LOCATOR.pack(0x07064B50, 0, zip64_end_offset, 1))
        self._write(
            _END_OF_CENTRAL_DIR.pack(
                0x06054B50,
                0,
                0,
                min(count, 0xFFFF),
                min(count, 0xFFFF),
                min(directory_size, 0xFFFFFFFF),
                min(directory_offset, 0xFFFFFFFF),
                0,
            )
        )
        self._closed = True
        return self._md5.hexdigest(), self._offset

    def _write(self, data: bytes | memoryview) -> None:
        self._output.write(data)
        self._md5.update(data)
        self._offset += len(data)


def _central_record(member: _Member) -> bytes:
    zip64_values = []
    size32 = member.size
    offset32 = member.offset
    if member.size >= ZIP64_LIMIT:
        zip64_values += [member.size, member.size]  # uncompressed, then compressed
        size32 = 0xFFFFFFFF
    if member.offset >= ZIP64_LIMIT:
        zip64_values.append(member.offset)
        offset32 = 0xFFFFFFFF
    extra = struct.pack(f"<HH{len(zip64_values)}Q", 1, 8 * len(zip64_values), *zip64_values) if zip64_values else b""
    version = 45 if zip64_values else 20
    return (
        _CENTRAL_HEADER.pack(
            0x02014B50,
            (_UNIX << 8) | version,
            version,
            member.flags,
            0,
            member.dos_time,
            member.dos_date,
            member.crc,
            size32,
            size32,
            len(member.name),
            len(extra),
            0,
            0,
            0,
            _REGULAR_FILE_ATTRS,
            offset32,
        )
        + member.name
        + extra
    )
