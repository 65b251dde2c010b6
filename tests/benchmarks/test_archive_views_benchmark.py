"""A miniature Archive-views benchmark: it seeds, renders every page and streams the CSVs (no timing asserted)."""

from __future__ import annotations

from benchmarks import bench_archive_views


def test_the_benchmark_measures_every_page_and_csv(monkeypatch):
    monkeypatch.setattr(
        bench_archive_views, "FULL", {"resources": 2_000, "sites": 50, "courses": 200, "files": 4_000, "volumes": 40}
    )
    figures = bench_archive_views.run(no_postgres=True)
    sqlite = figures["sqlite"]
    assert len(sqlite["pages"]) == 12 and all(page["first_page_ms"] > 0 for page in sqlite["pages"])
    assert {table["table"]: table["rows"] for table in sqlite["csv"]} == {
        # broken and check_failed: the last two of every ten; unchecked: every 97th
        "links: problems": sum(1 for n in range(2_000) if n % 97 == 0 or n % 10 >= 8),
        "tivoli: file log": 4_000,
    }
    assert figures["summary"].startswith("archive_views: slowest first page sqlite")
