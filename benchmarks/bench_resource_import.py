"""Benchmark of the external-resource markdown import, each measurement beside its baseline in the same run.

1. Link scanning: ``scan_markdown`` (CommonMark-aware: code, references, nested brackets, parentheses) against a
   naive one-regex link finder, the quick script this replaces (it mangles code and parenthesised URLs).
2. Import of a synthetic sites directory into SQLite: commit (DB upserts + atomic fsync'd rewrites) against a dry
   run of the same sites (parsing and planning only).

Run: ``PYTHONPATH=plugins python benchmarks/bench_resource_import.py [--sites N] [--pages N] [--repeat N]``.
Bounded: a few seconds with the defaults; no network.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from ocw_operators.db import make_engine, migrate
from ocw_operators.external_resources.markdown_import import import_sites
from ocw_operators.external_resources.markdown_links import scan_markdown
from ocw_operators.external_resources.options import ImportOptions

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_SITE = ROOT / "tests" / "fixtures" / "sites" / "18.06-spring-2010"
NAIVE_LINK = re.compile(r"\[([^\]]*)\]\((https?://[^)\s]+)\)")


def _corpus(pages: int) -> list[str]:
    bodies = [path.read_text() for path in sorted((FIXTURE_SITE / "content").rglob("*.md"))]
    return [bodies[index % len(bodies)].replace("spring2010", f"spring2010-{index}") for index in range(pages)]


def _best_of(repeat: int, action) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return min(timings)


def bench_scanning(pages: int, repeat: int) -> dict[str, float]:
    corpus = _corpus(pages)
    chars = sum(len(body) for body in corpus)
    ours = _best_of(repeat, lambda: [scan_markdown(body) for body in corpus])
    naive = _best_of(repeat, lambda: [NAIVE_LINK.findall(body) for body in corpus])
    return {
        "pages": pages,
        "scan_markdown_mb_per_s": round(chars / ours / 1e6, 2),
        "naive_regex_mb_per_s": round(chars / naive / 1e6, 2),
        "ratio_scan_time_vs_naive": round(ours / naive, 1),
    }


def _make_sites(root: Path, sites: int) -> None:
    for index in range(sites):
        shutil.copytree(FIXTURE_SITE, root / f"course-{index:03d}")


def bench_import(sites: int, repeat: int) -> dict[str, float]:
    dry_times, commit_times = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="bench-resource-import-") as work:
            work_dir = Path(work)
            url = f"sqlite:///{work_dir / 'archive.db'}"
            migrate.upgrade(url)
            engine = make_engine(url)
            _make_sites(work_dir / "sites", sites)
            common = {
                "sites_dir": work_dir / "sites",
                "rules": ["link_to_external_resource", "nav_item_to_external_resource"],
            }
            dry = ImportOptions.build(run_id="dry", out_csv=work_dir / "dry.csv", **common)
            commit = ImportOptions.build(run_id="commit", commit=True, **common)
            started = time.perf_counter()
            import_sites(engine, dry)
            dry_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            import_sites(engine, commit)
            commit_times.append(time.perf_counter() - started)
            engine.dispose()
    dry, commit = statistics.median(dry_times), statistics.median(commit_times)
    return {
        "sites": sites,
        "dry_run_s": round(dry, 3),
        "commit_s": round(commit, 3),
        "ratio_commit_vs_dry_run": round(commit / dry, 1),
    }


def run(quick: bool = False, **_options) -> dict:
    """The ``python -m benchmarks`` entry point."""
    if quick:
        return {"scanning": bench_scanning(100, 1), "import": bench_import(4, 1)}
    return {"scanning": bench_scanning(600, 3), "import": bench_import(20, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--pages", type=int, default=600)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = {"scanning": bench_scanning(args.pages, args.repeat), "import": bench_import(args.sites, args.repeat)}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
