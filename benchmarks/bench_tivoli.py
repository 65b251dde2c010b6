"""Tivoli preparation throughput against a bare rename-only walk of the same tree, in the same run.

Two identical dropboxes are built (``volumes`` flat volume folders of ``files_per_volume`` small files, a
quarter of them in an ``images/`` subfolder). The baseline walks one with ``os.walk`` and ``os.rename``s every
file into a mirror tree: the least any mover can do. The preparation processes the other completely: scan
without following symlinks, quiet-period check, the archive-log lookup per volume, SHA-1 of every file,
intents written in bulk, whole-folder renames, fsync of the touched folders, the bulk update to staged, the
volume status and the removal of the emptied sources, against an SQLite archive DB (the embedded default).
Both run on a warm page cache (the files were just written). Each round builds fresh trees and alternates
which side goes first; reported are files/s per round and the median ratio. The target is at least 0.5.

Run alone with ``python -m benchmarks.bench_tivoli [--quick]``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT / "plugins", ROOT / "include", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from sqlalchemy import func, select  # noqa: E402 - after the sys.path set-up for standalone runs

from ocw_operators.db import make_engine, migrate  # noqa: E402
from ocw_operators.db.engine import session_scope  # noqa: E402
from ocw_operators.db.models.tivoli import TivoliFileLog  # noqa: E402
from ocw_operators.tivoli.prep import DEFAULT_BULK_FILES, PrepConfig, prepare_dropbox  # noqa: E402

TARGET_RATIO = 0.5
FILE_BYTES = 1024


def build_dropbox(root: Path, volumes: int, files_per_volume: int) -> int:
    """Flat volume folders ``UF000000BB_000VV``; returns the number of files written."""
    body = os.urandom(FILE_BYTES)
    written = 0
    for index in range(volumes):
        folder = root / f"UF{index // 100:08d}_{index % 100 + 1:05d}"
        (folder / "images").mkdir(parents=True)
        for number in range(files_per_volume):
            subfolder = folder / "images" if number % 4 == 0 else folder
            (subfolder / f"{number + 1:05d}.tif").write_bytes(body[:-8] + number.to_bytes(8, "big"))
            written += 1
    return written


def bare_rename_walk(source: Path, destination: Path) -> int:
    """The baseline: walk the tree and rename every file into a mirror tree. Nothing else."""
    moved = 0
    for current, _dirnames, filenames in os.walk(source):
        target = destination / os.path.relpath(current, source)
        target.mkdir(parents=True, exist_ok=True)
        for name in filenames:
            os.rename(os.path.join(current, name), target / name)
            moved += 1
    return moved


def _one_round(volumes: int, files_per_volume: int, prep_first: bool) -> tuple[float, float, int]:
    """One baseline and one preparation over fresh, identical trees; returns their seconds and file count."""
    with tempfile.TemporaryDirectory(prefix="bench-tivoli-") as scratch:
        base = Path(scratch)
        for name in ("baseline-in", "baseline-out", "dropbox", "staging"):
            (base / name).mkdir()
        total = build_dropbox(base / "baseline-in", volumes, files_per_volume)
        build_dropbox(base / "dropbox", volumes, files_per_volume)
        url = f"sqlite:///{base / 'archive.db'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        os.sync()  # neither side pays for the other's writeback
        # Files were written moments ago: a clock ten minutes ahead puts them past the quiet period.
        later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
        config = PrepConfig(dropbox=base / "dropbox", staging=base / "staging")

        def baseline() -> float:
            started = time.perf_counter()
            moved = bare_rename_walk(base / "baseline-in", base / "baseline-out")
            seconds = time.perf_counter() - started
            if moved != total:
                raise RuntimeError(f"the baseline moved {moved} of {total} files")
            return seconds

        def preparation() -> float:
            started = time.perf_counter()
            report = prepare_dropbox(engine, config, run_id="bench", clock=lambda: later)
            seconds = time.perf_counter() - started
            with session_scope(engine) as session:
                rows = session.scalar(select(func.count()).select_from(TivoliFileLog))
            if report.files_staged != total or rows != total:
                raise RuntimeError(f"the preparation staged {report.files_staged} and logged {rows} of {total}")
            return seconds

        if prep_first:
            prep_seconds, baseline_seconds = preparation(), baseline()
        else:
            baseline_seconds, prep_seconds = baseline(), preparation()
        engine.dispose()
    return baseline_seconds, prep_seconds, total


def run(quick: bool = False, **_options: Any) -> dict[str, Any]:
    """Rounds alternate which side goes first; the median of the per-round ratios is the result."""
    volumes, files_per_volume, rounds = (50, 100, 3) if quick else (500, 100, 3)
    results = [_one_round(volumes, files_per_volume, prep_first=bool(n % 2)) for n in range(rounds)]
    total = results[0][2]
    per_round = [
        {
            "baseline_files_per_s": round(total / baseline),
            "prep_files_per_s": round(total / prep),
            "ratio": round(baseline / prep, 2),
        }
        for baseline, prep, _ in results
    ]
    ratio = statistics.median(baseline / prep for baseline, prep, _ in results)
    baseline_rate = statistics.median(total / baseline for baseline, _, _ in results)
    prep_rate = statistics.median(total / prep for _, prep, _ in results)
    return {
        "files": total,
        "volumes": volumes,
        "file_bytes": FILE_BYTES,
        "rounds": per_round,
        "baseline_files_per_s": round(baseline_rate),
        "prep_files_per_s": round(prep_rate),
        "ratio_prep_to_baseline": round(ratio, 2),
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
        "log_rows_per_round": total,
        "intents_per_transaction": DEFAULT_BULK_FILES,
        "summary": (
            f"tivoli prep {prep_rate:,.0f} files/s vs bare rename walk {baseline_rate:,.0f} files/s: "
            f"median ratio {ratio:.2f}x over {rounds} rounds (target >= {TARGET_RATIO}x), "
            f"{total:,} files in {volumes} volumes"
        ),
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
