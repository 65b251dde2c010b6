"""Benchmark: harvest N sandbox OAI-PMH records into the archive DB (SQLite); records/s and peak RSS.

The sandbox DSpace runs in its own process; each harvest runs in a fresh child process that reports its own
``ru_maxrss``, so the peak memory is the harvester's alone. Two sizes show whether memory depends on the record
count. The baseline, measured in the same run on the same server, is the straightforward way to write it:
parse each whole page with ``etree.fromstring`` and ``session.merge`` every record in one transaction committed
at the end (which is also not crash-safe). Results are reported as ratios to it.

Run alone: ``python benchmarks/bench_oai.py [--quick]``.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT / "plugins", ROOT / "include", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

FULL_SIZES = (10_000, 100_000)
QUICK_SIZES = (2_000, 10_000)
COLLECTION = "1721.1/33971"
SET_SPEC = "col_1721.1_33971"
TARGET_RECORDS_PER_SECOND = 5_000
CHILD_TIMEOUT_S = 900


# --- the sandbox process ------------------------------------------------------------------------------------


def _serve_sandbox(records: int, ready, stop) -> None:
    from ocw_sandbox.dspace_store import DSpaceStore, SandboxItem
    from ocw_sandbox.oai import make_oai_app
    from ocw_sandbox.runtime import SandboxRuntime

    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    store = DSpaceStore()
    for number in range(records):
        handle = f"1721.1/{100001 + number}"
        dublin_core = {
            "title": [f"Course {number}: Introduction to a subject, Spring 2003"],
            "identifier.uri": [f"https://ocw.mit.edu/courses/course-{number}-spring-2003/"],
            "contributor.author": ["Faculty, Some"],
            "date.issued": ["2003"],
        }
        store.add(SandboxItem(handle, COLLECTION, dublin_core, start + dt.timedelta(seconds=number)))
    # The index is built once, as DSpace's `oai import` does, not re-sorted for every page.
    app = make_oai_app(store, auto_import=False)
    with SandboxRuntime() as runtime:
        port = runtime.serve(app)
        ready.put(port)
        stop.wait(CHILD_TIMEOUT_S)


# --- the harvester processes --------------------------------------------------------------------------------


def _harvest_streaming(base_url: str, db_url: str, report) -> None:
    import requests

    from ocw_operators.clients.dspace_oai import OaiClient, OaiClientSettings
    from ocw_operators.db import make_engine, migrate
    from ocw_operators.db.models.oai import HarvestMode
    from ocw_operators.oai.harvest import HarvestRequest, HarvestScope, OaiHarvester
    from ocw_operators.oai.records import Granularity

    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    client = OaiClient(OaiClientSettings(base_url=base_url), requests.Session())
    harvester = OaiHarvester(engine, client, HarvestScope(endpoint=base_url, set_spec=SET_SPEC))
    started = time.perf_counter()
    result = harvester.harvest(HarvestRequest(HarvestMode.FULL), granularity=Granularity.SECOND)
    seconds = time.perf_counter() - started
    report.put(_measurement(result.records, seconds, _stored(engine)))


def _harvest_baseline(base_url: str, db_url: str, report) -> None:
    import requests
    from lxml import etree
    from sqlalchemy.orm import Session

    from ocw_operators.db import make_engine, migrate
    from ocw_operators.db.models.oai import OaiHarvestedItem
    from ocw_operators.oai.records import handle_from_identifier, parse_datestamp

    ns = {"o": "http://www.openarchives.org/OAI/2.0/", "dc": "http://purl.org/dc/elements/1.1/"}
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    started = time.perf_counter()
    count = 0
    params: dict[str, str] = {"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": SET_SPEC}
    with Session(engine) as session:
        while True:
            root = etree.fromstring(requests.get(base_url, params=params, timeout=60).content, parser)
            for record in root.iterfind(".//o:record", ns):
                identifier = record.findtext("o:header/o:identifier", namespaces=ns)
                session.merge(
                    OaiHarvestedItem(
                        handle=handle_from_identifier(identifier),
                        oai_identifier=identifier,
                        datestamp=parse_datestamp(record.findtext("o:header/o:datestamp", namespaces=ns)),
                        set_specs=" " + " ".join(s.text for s in record.iterfind("o:header/o:setSpec", ns)) + " ",
                        deleted=record.find("o:header", ns).get("status") == "deleted",
                        identifier_uri=record.findtext(".//dc:identifier", namespaces=ns),
                        title=record.findtext(".//dc:title", namespaces=ns),
                        last_harvested_on=dt.datetime.now(dt.UTC),
                    )
                )
                count += 1
            token = root.findtext(".//o:resumptionToken", namespaces=ns)
            if not token:
                break
            params = {"verb": "ListRecords", "resumptionToken": token}
        session.commit()
    seconds = time.perf_counter() - started
    report.put(_measurement(count, seconds, _stored(engine)))


def _stored(engine) -> int:
    from sqlalchemy import func, select

    from ocw_operators.db.engine import session_scope
    from ocw_operators.db.models.oai import OaiHarvestedItem

    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(OaiHarvestedItem)) or 0


def _measurement(records: int, seconds: float, stored: int) -> dict[str, Any]:
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "records": records,
        "stored": stored,
        "seconds": round(seconds, 3),
        "records_per_s": round(records / seconds, 1) if seconds else None,
        "peak_rss_mib": round(peak_kib / 1024, 1),
    }


def _in_child(context, target, *args) -> dict[str, Any]:
    report = context.Queue()
    process = context.Process(target=target, args=(*args, report))
    process.start()
    try:
        result = report.get(timeout=CHILD_TIMEOUT_S)
    finally:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
    if process.exitcode not in (0, None):
        raise RuntimeError(f"{target.__name__} exited with {process.exitcode}")
    return result


def _measure_size(context, records: int, workdir: Path) -> dict[str, Any]:
    ready, stop = context.Queue(), context.Event()
    server = context.Process(target=_serve_sandbox, args=(records, ready, stop), daemon=True)
    server.start()
    try:
        port = ready.get(timeout=CHILD_TIMEOUT_S)
        base_url = f"http://127.0.0.1:{port}/oai/request"
        streaming = _in_child(context, _harvest_streaming, base_url, f"sqlite:///{workdir / f'stream_{records}.db'}")
        baseline = _in_child(context, _harvest_baseline, base_url, f"sqlite:///{workdir / f'base_{records}.db'}")
    finally:
        stop.set()
        server.join(timeout=10)
        if server.is_alive():
            server.kill()
    for name, result in (("streaming", streaming), ("baseline", baseline)):
        if result["stored"] != records:
            raise RuntimeError(f"{name} harvest stored {result['stored']} of {records} records")
    return {
        "records": records,
        "streaming": streaming,
        "baseline": baseline,
        "throughput_ratio": round(streaming["records_per_s"] / baseline["records_per_s"], 2),
        "peak_rss_ratio": round(streaming["peak_rss_mib"] / baseline["peak_rss_mib"], 2),
    }


def run(quick: bool = False) -> dict[str, Any]:
    """Harvest two sizes with the project's streaming harvester and with the baseline; return the numbers."""
    sizes = QUICK_SIZES if quick else FULL_SIZES
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="bench-oai-") as tmp:
        results = [_measure_size(context, records, Path(tmp)) for records in sizes]
    small, large = results
    growth = large["streaming"]["peak_rss_mib"] - small["streaming"]["peak_rss_mib"]
    return {
        "benchmark": "oai_harvest",
        "quick": quick,
        "sizes": results,
        "streaming_records_per_s_at_largest": large["streaming"]["records_per_s"],
        "target_records_per_s": TARGET_RECORDS_PER_SECOND,
        "meets_target": large["streaming"]["records_per_s"] >= TARGET_RECORDS_PER_SECOND,
        # Memory independent of the record count: peak RSS growth between the sizes, relative to the small size.
        "streaming_peak_rss_growth_mib": round(growth, 1),
        "baseline_peak_rss_growth_mib": round(large["baseline"]["peak_rss_mib"] - small["baseline"]["peak_rss_mib"], 1),
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
