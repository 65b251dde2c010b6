import datetime as dt
import hashlib
import os
import shutil
import subprocess
import zipfile

import pytest

from ocw_operators.retirement import zipstream
from ocw_operators.retirement.names import (
    HostileNameError,
    NameTooLongError,
    safe_join,
    validate_course_id,
    validate_member_name,
    zip_file_name,
)
from ocw_operators.retirement.zipstream import SourceChangedError, StreamingZipWriter

HOSTILE = ["../etc/passwd", "a/../../b", "/etc/passwd", "C:/windows/x", "a\\..\\b", "a\x00.pdf", "a//b", "./a",
           "a/.", "", "tab\there", "x" * 1100]  # fmt: skip


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_member_names_are_refused(name):
    with pytest.raises(HostileNameError):
        validate_member_name(name)


def test_ordinary_names_pass():
    assert (
        validate_member_name("lecture-notes/MIT21H_126 lec01 (2003).pdf") == "lecture-notes/MIT21H_126 lec01 (2003).pdf"
    )
    assert validate_member_name("vidéos/cours.mp4")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("notes/" + "a" * 256 + "/x.pdf", r"its path component 'a+'…'a+' has 256 bytes"),
        ("é" * 128 + ".pdf", "its file name has 260 bytes"),  # 132 characters, but 260 bytes of UTF-8
        ("/".join(["d" * 250] * 4) + "/" + "f" * 30, "1034 bytes in UTF-8 in all"),
    ],
    ids=["component", "multibyte-component", "path"],
)
def test_names_too_long_for_a_file_system_are_refused_in_bytes(name, message):
    with pytest.raises(NameTooLongError, match=message) as refused:
        validate_member_name(name)
    assert "at most 255 bytes per path component and 1,024 per path" in str(refused.value)
    assert validate_member_name("é" * 125 + ".txt")  # exactly 254 bytes
    assert validate_member_name("/".join(["d" * 255] * 3) + "/" + "f" * 254)  # exactly 1,024 bytes


def test_a_name_that_is_not_unicode_text_is_refused():
    with pytest.raises(HostileNameError, match="not valid Unicode"):
        validate_member_name("lecture\ud800.pdf")


@pytest.mark.parametrize("course_id", ["history", "../x/y", "history/../..", "a/b/c", "history/x?y", "/abs/path", ""])
def test_bad_course_ids_are_refused(course_id):
    with pytest.raises(HostileNameError):
        validate_course_id(course_id)


def test_course_id_and_zip_name():
    course_id = "history/21h-126-america-in-depression-and-war-spring-2003"
    assert validate_course_id(course_id) == course_id
    assert zip_file_name(course_id) == "21h-126-america-in-depression-and-war-spring-2003.zip"


def test_safe_join_refuses_symlinks_inside_the_root(tmp_path):
    (tmp_path / "outside").mkdir()
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(tmp_path / "outside", root / "content")
    with pytest.raises(HostileNameError, match="symlink"):
        safe_join(root, "content/file.pdf")
    assert safe_join(root, "metadata/file.xml") == root / "metadata" / "file.xml"


def _write_zip(path, files, *, mets=b"<mets/>"):
    with open(path, "wb") as handle:
        writer = StreamingZipWriter(handle)
        writer.add_bytes("mets.xml", mets, modified=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        for name, source in files:
            writer.add_file(name, source)
        return writer.close()


@pytest.mark.parametrize("force_zip64", [False, True])
def test_zip_is_readable_and_md5_computed_while_writing_matches_the_file(tmp_path, monkeypatch, force_zip64):
    if force_zip64:
        monkeypatch.setattr(zipstream, "ZIP64_LIMIT", 100)  # every size and offset takes the ZIP64 path
    sources = []
    for index, size in enumerate([0, 1, 5000, 3 * zipstream.CHUNK_BYTES + 7]):
        path = tmp_path / f"f{index}.bin"
        path.write_bytes(os.urandom(size))
        sources.append((f"content/dir {index}/f{index}.bin", path))
    sources.append(("content/é-unicode.txt", tmp_path / "f1.bin"))
    md5, size = _write_zip(tmp_path / "out.zip", sources)
    data = (tmp_path / "out.zip").read_bytes()
    assert md5 == hashlib.md5(data).hexdigest() and size == len(data)
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        assert archive.testzip() is None
        assert archive.namelist() == ["mets.xml"] + [name for name, _ in sources]
        for name, path in sources:
            assert archive.read(name) == path.read_bytes()
    if shutil.which("unzip"):
        result = subprocess.run(
            ["unzip", "-tq", str(tmp_path / "out.zip")], check=False, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_a_file_that_changes_after_its_crc_was_taken_is_detected(tmp_path):
    source = tmp_path / "a.bin"
    source.write_bytes(b"a" * 1000)
    with open(tmp_path / "out.zip", "wb") as handle, pytest.raises(SourceChangedError):
        StreamingZipWriter(handle).add_file("content/a.bin", source, crc32=12345)


def test_symlinks_and_duplicates_are_refused(tmp_path):
    (tmp_path / "real.bin").write_bytes(b"x")
    os.symlink(tmp_path / "real.bin", tmp_path / "link.bin")
    with open(tmp_path / "out.zip", "wb") as handle:
        writer = StreamingZipWriter(handle)
        with pytest.raises(OSError):
            writer.add_file("content/link.bin", tmp_path / "link.bin")
        writer.add_file("content/real.bin", tmp_path / "real.bin")
        with pytest.raises(ValueError, match="duplicate"):
            writer.add_file("content/real.bin", tmp_path / "real.bin")
        with pytest.raises(HostileNameError):
            writer.add_bytes("../evil", b"", modified=dt.datetime.now(dt.UTC))
