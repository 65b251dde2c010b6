import datetime as dt
from pathlib import PurePosixPath

import pytest

from ocw_operators.tivoli.identifiers import (
    FolderKind,
    InvalidIdentifierError,
    VolumeId,
    classify_top_level,
    normalize_bibid,
    normalize_vid,
    parse_volume_folder,
)
from ocw_operators.tivoli.names import UnsafeNameError, check_safe_name, dated_name, unused_dated_name


def test_pair_split_destination_path():
    assert VolumeId.parse("UF12345678_00001").staging_relpath == PurePosixPath("UF/12/34/56/78/00001")
    assert VolumeId("ca00001234", "7").staging_relpath == PurePosixPath("CA/00/00/12/34/00007")


@pytest.mark.parametrize(
    ("name", "kind", "value"),
    [
        ("UF12345678_00001", FolderKind.FLAT_VOLUME, VolumeId("UF12345678", "00001")),
        ("UF00001532_00017", FolderKind.FLAT_VOLUME, VolumeId("UF00001532", "00017")),
        ("UF12345678", FolderKind.BIBID, "UF12345678"),
        ("DLOC", FolderKind.UNRECOGNIZED, None),
        ("UF1234567_00001", FolderKind.UNRECOGNIZED, None),  # seven digits
        ("UF12345678_0001", FolderKind.UNRECOGNIZED, None),  # four-digit VID
        ("U512345678_00001", FolderKind.UNRECOGNIZED, None),
        ("UF12345678_00001 copy", FolderKind.UNRECOGNIZED, None),
        ("\uff35\uff2612345678", FolderKind.UNRECOGNIZED, None),  # full-width letters are not ASCII
    ],
)
def test_classify_top_level_folders(name, kind, value):
    assert classify_top_level(name) == (kind, value)


@pytest.mark.parametrize(
    ("name", "vid"), [("00001", "00001"), ("VID00001", "00001"), ("vid00042", "00042"), ("0001", None), ("notes", None)]
)
def test_volume_folders_inside_a_bibid_folder(name, vid):
    assert parse_volume_folder(name) == vid


def test_identifier_validation_errors_are_clear():
    with pytest.raises(InvalidIdentifierError, match="two letters"):
        normalize_bibid("12345678UF")
    with pytest.raises(InvalidIdentifierError, match="five digits"):
        normalize_vid("1234567")
    assert normalize_vid(1) == "00001"
    assert normalize_vid("VID00003") == "00003"


def test_dated_rename_matches_the_seed():
    day = dt.date(2009, 10, 29)
    assert dated_name("00001.tif", day) == "00001 (2009_10_29).tif"
    assert dated_name("UF12345678_00001.mets", dt.date(2009, 10, 10)) == "UF12345678_00001 (2009_10_10).mets"
    assert dated_name("README", day) == "README (2009_10_29)"
    assert dated_name(".hidden", day) == ".hidden (2009_10_29)"
    assert unused_dated_name("00001.tif", day, {"00001 (2009_10_29).tif"}) == "00001 (2009_10_29_2).tif"


@pytest.mark.parametrize(
    "name",
    [
        "..",
        ".",
        "",
        "a/b",
        "..\\..\\evil.tif",
        "bad\nNormal File--> 1 /etc/passwd [Sent]",
        "tab\tname",
        "x" * 256,
        "bad\udcff.tif",
    ],
)
def test_unsafe_names_are_refused(name):
    with pytest.raises(UnsafeNameError):
        check_safe_name(name)


def test_ordinary_names_pass():
    for name in ("00001.tif", "UF12345678_00001.mets.xml", "Thumbs.db", "d\u00e9j\u00e0 vu.txt", "a b (1).jpg"):
        assert check_safe_name(name) == name
