"""Atomic writes and guarded reads."""

from __future__ import annotations

import os

import pytest

from ocw_operators.external_resources import fsutil
from ocw_operators.external_resources.fsutil import UnsafeFileError, atomic_write_text, read_text_inside
from ocw_operators.external_resources.sites import SiteFileError, discover_sites, split_front_matter


def test_atomic_write_replaces_content_and_keeps_permissions(tmp_path):
    target = tmp_path / "page.md"
    target.write_text("old")
    target.chmod(0o640)
    atomic_write_text(target, "new\nline\n", newline="\r\n")
    assert target.read_bytes() == b"new\r\nline\r\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["page.md"]


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "page.md"
    target.write_text("original")

    def broken_replace(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fsutil.os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space"):
        atomic_write_text(target, "new")
    assert target.read_text() == "original"
    assert os.listdir(tmp_path) == ["page.md"]


def test_symlinks_are_neither_read_nor_replaced(tmp_path):
    real = tmp_path / "real.md"
    real.write_text("x")
    link = tmp_path / "link.md"
    link.symlink_to(real)
    with pytest.raises(UnsafeFileError, match="symlink"):
        read_text_inside(link, tmp_path)
    with pytest.raises(UnsafeFileError, match="symlink"):
        atomic_write_text(link, "y")
    assert real.read_text() == "x"


def test_oversized_files_are_refused(tmp_path):
    big = tmp_path / "big.md"
    big.write_bytes(b"a" * 2048)
    with pytest.raises(UnsafeFileError, match="over the 1024-byte limit"):
        read_text_inside(big, tmp_path, max_bytes=1024)


def test_front_matter_yaml_toml_none_and_broken():
    assert split_front_matter("---\nuid: a\n---\nbody", "p.md") == ("---\nuid: a\n---\n", {"uid": "a"}, "body")
    assert split_front_matter('+++\nuid = "b"\n+++\nbody', "p.md")[1] == {"uid": "b"}
    assert split_front_matter("just [a](https://x.org)", "p.md") == ("", {}, "just [a](https://x.org)")
    with pytest.raises(SiteFileError, match="front matter is not closed"):
        split_front_matter("---\nuid: a\nbody", "p.md")
    with pytest.raises(SiteFileError, match="not a mapping"):
        split_front_matter("---\n- a list\n---\n", "p.md")


def test_site_filter_reports_unknown_names(tmp_path):
    (tmp_path / "a-course").mkdir()
    sites, skipped = discover_sites(tmp_path, ["a-course", "missing"])
    assert [site.name for site in sites] == ["a-course"]
    assert [(skip.name, skip.reason) for skip in skipped] == [("missing", "no such site folder")]
