"""Where a DAG run keeps a report for people: ``<data dir>/reports/<dag_id>/<run id>.<ext>``. No Airflow imports.

Run ids come from the scheduler, the UI, the REST API or the CLI and may hold ``:``, ``+``, ``/``, spaces or
anything ``[scheduler] allowed_run_id_pattern`` lets through, so file names are reduced to letters, digits,
``.``, ``_`` and ``-``; when that changes the name, a short hash of the real run id keeps two runs apart.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

REPORTS_DIR = "reports"
MAX_STEM_LENGTH = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_file_stem(name: str) -> str:
    """``manual__2026-03-01T00:00:00+00:00`` -> ``manual__2026-03-01T00-00-00-00-00-<8 hex>``; never empty,
    never hidden (leading dot), never a path."""
    stem = _UNSAFE.sub("-", name).strip(".-")[:MAX_STEM_LENGTH] or "run"
    if stem != name:
        stem = f"{stem}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}"
    return stem


def run_report_path(data_dir: str | Path, dag_id: str, run_id: str, suffix: str = ".csv") -> Path:
    """The default report file of one DAG run (the same path on every retry of that run)."""
    return Path(data_dir) / REPORTS_DIR / safe_file_stem(dag_id) / f"{safe_file_stem(run_id)}{suffix}"
