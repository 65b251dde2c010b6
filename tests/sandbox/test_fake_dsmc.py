"""The sandbox's fake dsmc: archive, retrieve and query in dsmc's style, with its return codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ocw_operators.tivoli.dsmc import parse_archive_output, parse_retrieve_output

ROOT = Path(__file__).resolve().parents[2]


def _dsmc(vault: Path | None, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {"PYTHONPATH": str(ROOT / "include"), **env}
    if vault is not None:
        environment["OCW_FAKE_DSMC_VAULT"] = str(vault)
    return subprocess.run(
        [sys.executable, "-m", "ocw_sandbox.fake_dsmc", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=30,
        check=False,
    )


@pytest.fixture
def area(tmp_path) -> Path:
    staging = tmp_path / "staging"
    (staging / "UF" / "12").mkdir(parents=True)
    (staging / "UF" / "12" / "00001 (2009_10_10).tif").write_text("one")
    (staging / "UF" / "12" / "[odd].tif").write_text("brackets")
    return staging


def test_archive_then_retrieve_a_version_by_description(tmp_path, area):
    vault = tmp_path / "vault"
    archived = _dsmc(vault, "archive", f"{area}/*", "-subdir=yes", "-description=batch one")
    assert archived.returncode == 0, archived.stdout
    assert "Archive function invoked." in archived.stdout
    assert sorted(parse_archive_output(archived.stdout.splitlines()).sent) == [
        (str(area / "UF" / "12" / "00001 (2009_10_10).tif"), 3),
        (str(area / "UF" / "12" / "[odd].tif"), 8),
    ]
    (area / "UF" / "12" / "[odd].tif").write_text("changed!")
    _dsmc(vault, "archive", f"{area}/*", "-subdir=yes", "-description=batch two")
    out = tmp_path / "out" / "odd.tif"
    retrieved = _dsmc(vault, "retrieve", str(area / "UF" / "12" / "[odd].tif"), str(out), "-description=batch one")
    assert retrieved.returncode == 0, retrieved.stdout
    assert out.read_text() == "brackets", "brackets in names are literal, and the described version is chosen"
    assert parse_retrieve_output(retrieved.stdout.splitlines()).retrieved[0][1] == str(out)
    listed = _dsmc(vault, "query", "archive", f"{area}/*")
    assert listed.returncode == 0 and listed.stdout.count("batch") == 4


def test_failures_on_demand_and_return_codes(tmp_path, area):
    vault = tmp_path / "vault"
    dropped = _dsmc(vault, "archive", f"{area}/*", "-subdir=yes", OCW_FAKE_DSMC_FAIL_AFTER="1")
    assert dropped.returncode == 12 and "ANS1017E" in dropped.stdout
    per_file = _dsmc(vault, "archive", f"{area}/*", "-subdir=yes", OCW_FAKE_DSMC_FAIL_FILES="*odd*")
    assert per_file.returncode == 8
    assert parse_archive_output(per_file.stdout.splitlines()).failed == [str(area / "UF" / "12" / "[odd].tif")]
    missing = _dsmc(vault, "retrieve", str(area / "nothing.tif"), str(tmp_path / "x"))
    assert missing.returncode == 8 and "ANS1302E" in missing.stdout
    assert _dsmc(None, "archive", f"{area}/*").returncode == 12, "no vault: the session cannot be established"
    assert _dsmc(vault, "bogus").returncode == 12
