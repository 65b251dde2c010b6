"""BibID/VID identifiers of digital resources and how dropbox folder names map to them.

A BibID is two letters and eight digits (``UF12345678``), a VID five digits (``00001``). They are validated
by pattern only: the seed says a volume need not exist in the tracking database as long as it looks valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath

BIBID_PATTERN = re.compile(r"[A-Za-z]{2}[0-9]{8}")
VID_PATTERN = re.compile(r"[0-9]{5}")
_FLAT_FOLDER = re.compile(r"(?P<bibid>[A-Za-z]{2}[0-9]{8})_(?P<vid>[0-9]{5})")
_VOLUME_FOLDER = re.compile(r"(?:VID)?(?P<vid>[0-9]{5})", re.IGNORECASE)


class InvalidIdentifierError(ValueError):
    """A BibID or VID that does not match its pattern."""


def normalize_bibid(value: str) -> str:
    """``uf12345678`` -> ``UF12345678``; raises :class:`InvalidIdentifierError` when not 2 letters + 8 digits."""
    text = (value or "").strip()
    if not BIBID_PATTERN.fullmatch(text) or not text.isascii():
        raise InvalidIdentifierError(f"BibID {value!r} is not two letters followed by eight digits")
    return text.upper()


def normalize_vid(value: str | int) -> str:
    """``1``, ``"1"``, ``"00001"`` or ``"VID00001"`` -> ``"00001"``."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= 99999:
            raise InvalidIdentifierError(f"VID {value!r} is out of range")
        return f"{value:05d}"
    text = str(value or "").strip()
    if text.upper().startswith("VID"):
        text = text[3:]
    if text.isascii() and text.isdigit() and len(text) <= 5:
        text = text.zfill(5)
    if not VID_PATTERN.fullmatch(text) or not text.isascii():
        raise InvalidIdentifierError(f"VID {value!r} is not five digits")
    return text


@dataclass(frozen=True, order=True)
class VolumeId:
    """One volume (one digital resource) of a bibliographic record."""

    bibid: str
    vid: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "bibid", normalize_bibid(self.bibid))
        object.__setattr__(self, "vid", normalize_vid(self.vid))

    @classmethod
    def parse(cls, text: str) -> VolumeId:
        """Parse the flat form ``UF12345678_00001``."""
        match = _FLAT_FOLDER.fullmatch(text or "")
        if not match:
            raise InvalidIdentifierError(f"{text!r} is not in the flat form UF12345678_00001")
        return cls(match["bibid"], match["vid"])

    @property
    def flat(self) -> str:
        return f"{self.bibid}_{self.vid}"

    @property
    def staging_relpath(self) -> PurePosixPath:
        """The pair-split destination: ``UF12345678_00001`` -> ``UF/12/34/56/78/00001``."""
        b = self.bibid
        return PurePosixPath(b[0:2], b[2:4], b[4:6], b[6:8], b[8:10], self.vid)

    def __str__(self) -> str:
        return self.flat


class FolderKind(StrEnum):
    FLAT_VOLUME = "flat_volume"  # UF12345678_00001: a resource folder, processed
    BIBID = "bibid"  # UF12345678: descend into its volume folders
    UNRECOGNIZED = "unrecognized"  # anything else, e.g. an intermediary DLOC folder: skipped and reported


def classify_top_level(name: str) -> tuple[FolderKind, VolumeId | str | None]:
    """Classify a top-level dropbox folder name: ``(kind, VolumeId | bibid | None)``."""
    match = _FLAT_FOLDER.fullmatch(name)
    if match and name.isascii():
        return FolderKind.FLAT_VOLUME, VolumeId(match["bibid"], match["vid"])
    if BIBID_PATTERN.fullmatch(name) and name.isascii():
        return FolderKind.BIBID, normalize_bibid(name)
    return FolderKind.UNRECOGNIZED, None


def parse_volume_folder(name: str) -> str | None:
    """The VID of a volume folder inside a bare BibID folder (``00001`` or ``VID00001``), else None."""
    match = _VOLUME_FOLDER.fullmatch(name)
    if not match or not name.isascii():
        return None
    return match["vid"]
