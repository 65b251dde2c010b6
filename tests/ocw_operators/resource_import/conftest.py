from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture
def sites_dir(tmp_path) -> Path:
    """A private copy of the fixture course sites (the importer rewrites them in place)."""
    target = tmp_path / "sites"
    shutil.copytree(FIXTURES / "sites", target)
    return target


def snapshot_files(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root`` with its bytes and mtime: proof that nothing was touched."""
    return {
        path.relative_to(root).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }
