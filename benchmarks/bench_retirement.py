"""Benchmark: retire a generated course (2 GB; 200 MB in quick mode) against the sandbox DSpace and CMS.

Measured side by side in the same run, against the same sandbox SWORD endpoint (which runs in its own
process and does the same work for both: spool, MD5, unpack, mets.xml checks):

* ours: one worker process runs the packaging step (METS SIP zip, MD5 while writing), the copy into the
  retired-course-zips directory and the SWORD v1 deposit (body streamed from disk, Content-MD5);
* baseline: ``zip -0 -r`` of the same files (plus the same mets.xml, so DSpace accepts it) and
  ``curl --data-binary @zip`` to the same endpoint (``curl -X POST -T zip`` above 1 GB: ``--data-binary``
  loads the file into memory and fails with "out of memory" on a 2 GB zip).

Reported: the peak RSS (``ru_maxrss`` of each child process, read with ``wait4``) and throughput, for two
course sizes so that RSS can be seen not to grow with the course. Throughput compares packaging + deposit
with zip + curl (the copy step has no baseline counterpart and is reported separately).
Targets: peak RSS < 150 MB and independent of course size; throughput >= 0.7x the baseline.

Run alone: ``python benchmarks/bench_retirement.py [--quick]``; ``run(quick)`` is what ``python -m benchmarks``
calls. Every temporary file is removed at the end.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT / "plugins", ROOT / "include", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

MB = 1024 * 1024
USER, PASSWORD = "bench-depositor", "bench-password"
COLLECTION = "1721.1/33971"
COURSE_ID = "history/bench-generated-course"
TARGET_RSS_MB = 150
TARGET_RATIO = 0.7
CHILD_TIMEOUT_S = 1800
CURL_IN_MEMORY_LIMIT = 1024 * MB


def _child_env() -> dict[str, str]:
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "plugins"), str(ROOT / "include"), str(ROOT)])
    return env


def _run_child(args: list[str], *, cwd: Path | None = None) -> tuple[str, float, float]:
    """Run a child to completion; return (stdout, seconds, peak RSS in MB) using wait4 on that child only."""
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                               env=_child_env(), cwd=cwd)  # fmt: skip
    deadline = started + CHILD_TIMEOUT_S
    # Read both pipes while waiting so a chatty child cannot block; wait4 afterwards gives this child's rusage.
    out_chunks, err_chunks = [], []
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    selector.register(process.stderr, selectors.EVENT_READ)
    open_streams = 2
    while open_streams:
        if time.perf_counter() > deadline:
            process.kill()
            raise TimeoutError(f"{args[1:3]} ran longer than {CHILD_TIMEOUT_S} s")
        for key, _ in selector.select(timeout=1):
            data = os.read(key.fd, 65536)
            if not data:
                selector.unregister(key.fileobj)
                open_streams -= 1
            else:
                (out_chunks if key.fileobj is process.stdout else err_chunks).append(data)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    out, err = b"".join(out_chunks), b"".join(err_chunks)
    if process.returncode != 0:
        raise RuntimeError(f"{args[1:3]} failed ({process.returncode}): {err.decode(errors='replace')[-2000:]}")
    return out.decode(), seconds, usage.ru_maxrss / 1024  # Linux reports KiB


# -- child roles -----------------------------------------------------------------------------------------------


def serve(config: dict[str, Any]) -> None:
    """Sandbox DSpace + CMS in this process until stdin closes."""
    from ocw_sandbox.cms import generated_course, make_cms_app
    from ocw_sandbox.dspace import make_dspace_app
    from ocw_sandbox.dspace_store import DSpaceStore
    from ocw_sandbox.runtime import SandboxRuntime

    courses = [generated_course(course_id, size, file_bytes=32 * MB) for course_id, size in config["courses"]]
    with SandboxRuntime() as runtime:
        dspace = make_dspace_app(DSpaceStore(), username=USER, password=PASSWORD, collections={COLLECTION: "OCW"},
                                 spool_dir=config["spool"])  # fmt: skip
        cms = make_cms_app(courses, username=USER, password=PASSWORD)
        ports = {"dspace": runtime.serve(dspace), "cms": runtime.serve(cms)}
        print(json.dumps(ports), flush=True)
        sys.stdin.read()  # the parent closes stdin to stop the sandbox


def migrate(config: dict[str, Any]) -> None:
    from ocw_operators.db import migrate as migrations

    migrations.upgrade(config["db_url"])


def _engine(config: dict[str, Any]):
    from ocw_operators.db import make_engine

    return make_engine(config["db_url"])


def _session(auth: tuple[str, str] | None = None) -> Any:
    """A session as the CMS and SWORD hooks configure one: HTTP Basic if given, nothing from the environment."""
    import requests

    session = requests.Session()
    session.auth, session.trust_env = auth, False
    return session


def fetch(config: dict[str, Any]) -> None:
    from ocw_operators.clients.cms import CmsClient, CmsSettings
    from ocw_operators.retirement import state, steps
    from ocw_operators.retirement.holding import HoldingArea

    engine = _engine(config)
    state.register(engine, [config["course_id"]])
    cms = CmsClient(CmsSettings(config["cms_url"], USER, PASSWORD, read_timeout=600), _session())
    result = steps.fetch(engine, HoldingArea(config["holding"]), cms, config["course_id"])
    print(json.dumps(result.to_json()))


def retire(config: dict[str, Any]) -> None:
    """The measured worker: package, copy to retired zips, deposit; seconds per step on stdout."""
    from ocw_operators.clients.dspace_sword import SwordClient, SwordSettings
    from ocw_operators.retirement import steps
    from ocw_operators.retirement.collection_map import CollectionMap
    from ocw_operators.retirement.holding import HoldingArea

    engine = _engine(config)
    holding = HoldingArea(config["holding"])
    client = SwordClient(SwordSettings(config["dspace_url"], read_timeout=1200), _session(auth=(USER, PASSWORD)))
    timings = {}
    started = time.perf_counter()
    packaged = steps.package(engine, holding, config["course_id"])
    timings["package_s"] = time.perf_counter() - started
    started = time.perf_counter()
    steps.store(engine, Path(config["retired"]), config["course_id"])
    timings["store_s"] = time.perf_counter() - started
    started = time.perf_counter()
    deposited = steps.deposit(engine, client, CollectionMap({"history": COLLECTION}), config["course_id"])
    timings["deposit_s"] = time.perf_counter() - started
    print(json.dumps({**timings, "zip_bytes": packaged.detail["size"], "handle": deposited.detail["handle"]}))


# -- orchestration --------------------------------------------------------------------------------------------------


def _measure_size(size: int, workdir: Path, urls: dict[str, str], db_url: str) -> dict[str, Any]:
    course_id = f"{COURSE_ID}-{size // MB}mb"
    config = {"course_id": course_id, "holding": str(workdir / "holding"), "retired": str(workdir / "retired"),
              "db_url": db_url, "cms_url": urls["cms"], "dspace_url": urls["dspace"]}  # fmt: skip
    me = [sys.executable, str(Path(__file__).resolve())]
    _, fetch_s, fetch_rss = _run_child([*me, "--fetch", json.dumps(config)])
    out, worker_s, worker_rss = _run_child([*me, "--retire", json.dumps(config)])
    ours = json.loads(out)
    _sync_disk()
    baseline = _baseline(config, workdir, urls["dspace"])
    ours_seconds = ours["package_s"] + ours["deposit_s"]
    base_seconds = baseline["zip_s"] + baseline["curl_s"]
    return {
        "course_mb": round(size / MB),
        "zip_mb": round(ours["zip_bytes"] / MB, 1),
        "fetch": {"seconds": round(fetch_s, 2), "peak_rss_mb": round(fetch_rss, 1)},
        "ours": {
            "package_s": round(ours["package_s"], 2),
            "store_copy_s": round(ours["store_s"], 2),
            "deposit_s": round(ours["deposit_s"], 2),
            "worker_wall_s": round(worker_s, 2),
            "peak_rss_mb": round(worker_rss, 1),
            "throughput_mb_s": round(ours["zip_bytes"] / MB / ours_seconds, 1),
            "throughput_with_copy_mb_s": round(ours["zip_bytes"] / MB / (ours_seconds + ours["store_s"]), 1),
        },
        "baseline": {
            "zip_s": round(baseline["zip_s"], 2),
            "curl_s": round(baseline["curl_s"], 2),
            "zip_peak_rss_mb": round(baseline["zip_rss"], 1),
            "curl_peak_rss_mb": round(baseline["curl_rss"], 1),
            "curl_mode": baseline["curl_mode"],
            "throughput_mb_s": round(baseline["zip_bytes"] / MB / base_seconds, 1),
        },
        "throughput_ratio": round(base_seconds / ours_seconds * (ours["zip_bytes"] / baseline["zip_bytes"]), 2),
    }


def _baseline(config: dict[str, Any], workdir: Path, dspace_url: str) -> dict[str, Any]:
    """zip -0 -r + curl --data-binary @zip, fed the same files and mets.xml as our package."""
    course_dir = Path(config["holding"], *config["course_id"].split("/"))
    staging = workdir / "baseline"
    staging.mkdir(exist_ok=True)
    with zipfile.ZipFile(Path(config["retired"]) / Path(*config["course_id"].split("/")) /
                         f"{config['course_id'].split('/')[1]}.zip") as ours:  # fmt: skip
        (staging / "mets.xml").write_bytes(ours.read("mets.xml"))
    for part in ("content", "metadata"):
        (staging / part).symlink_to(course_dir / part)  # zip follows symlinks: the same bytes are stored
    archive = workdir / "baseline.zip"
    _, zip_s, zip_rss = _run_child(["zip", "-0", "-r", "-q", str(archive), "mets.xml", "content", "metadata"],
                                   cwd=staging)  # fmt: skip
    url = f"{dspace_url}/sword/deposit/{COLLECTION}"
    # curl --data-binary @file reads the whole file into memory and gives up on a 2 GB zip ("out of memory");
    # above CURL_IN_MEMORY_LIMIT the baseline streams it with -T (a stronger baseline: no copy in memory).
    in_memory = archive.stat().st_size < CURL_IN_MEMORY_LIMIT
    body = ["--data-binary", f"@{archive}"] if in_memory else ["-X", "POST", "-H", "Expect:", "-T", str(archive)]
    out, curl_s, curl_rss = _run_child([
        "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "1200", "-u", f"{USER}:{PASSWORD}",
        "-H", "Content-Type: application/zip", "-H", "Content-Disposition: filename=baseline.zip",
        "-H", "X-Packaging: http://purl.org/net/sword-types/METSDSpaceSIP", "-H", "X-Verbose: true", *body, url,
    ])  # fmt: skip
    if out.strip() not in ("201", "202"):
        raise RuntimeError(f"baseline deposit answered HTTP {out.strip()}")
    zip_bytes = archive.stat().st_size
    archive.unlink()
    shutil.rmtree(staging)
    return {"zip_s": zip_s, "zip_rss": zip_rss, "curl_s": curl_s, "curl_rss": curl_rss, "zip_bytes": zip_bytes,
            "curl_mode": "--data-binary @zip" if in_memory else "-X POST -T zip (streamed)"}  # fmt: skip


def _sync_disk() -> None:
    os.sync()


def run(quick: bool) -> dict[str, Any]:
    """Measure two course sizes; returns the figures and whether the targets are met."""
    if not (shutil.which("zip") and shutil.which("curl")):
        return {"name": "retirement", "skipped": "zip and curl are needed for the baseline"}
    sizes = [50 * MB, 200 * MB] if quick else [512 * MB, 2048 * MB]
    workdir = Path(tempfile.mkdtemp(prefix="bench-retirement-"))
    sandbox = None
    try:
        db_url = f"sqlite:///{workdir / 'archive.db'}"
        # In a child: this process stays small, because a forked child's ru_maxrss includes its parent's pages.
        _run_child([sys.executable, str(Path(__file__).resolve()), "--migrate", json.dumps({"db_url": db_url})])
        (workdir / "spool").mkdir()
        config = {"courses": [[f"{COURSE_ID}-{size // MB}mb", size] for size in sizes], "spool": str(workdir / "spool")}
        sandbox = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve", json.dumps(config)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=_child_env())  # fmt: skip
        ports = json.loads(sandbox.stdout.readline())
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        results = []
        for size in sizes:
            results.append(_measure_size(size, workdir / f"size-{size // MB}", urls, db_url))
            shutil.rmtree(workdir / f"size-{size // MB}", ignore_errors=True)
    finally:
        if sandbox is not None:
            sandbox.stdin.close()
            try:
                sandbox.wait(timeout=30)
            except subprocess.TimeoutExpired:
                sandbox.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    peak = max(result["ours"]["peak_rss_mb"] for result in results)
    rss_spread = abs(results[-1]["ours"]["peak_rss_mb"] - results[0]["ours"]["peak_rss_mb"])
    worst_ratio = min(result["throughput_ratio"] for result in results)
    return {
        "name": "retirement",
        "mode": "quick" if quick else "full",
        "sizes": results,
        "peak_rss_mb": peak,
        "rss_growth_mb_between_sizes": round(rss_spread, 1),
        "worst_throughput_ratio": worst_ratio,
        "targets": {"peak_rss_mb_below": TARGET_RSS_MB, "throughput_ratio_at_least": TARGET_RATIO},
        "meets_targets": peak < TARGET_RSS_MB and rss_spread < 20 and worst_ratio >= TARGET_RATIO,
    }


def main(argv: list[str]) -> None:
    roles = {"--serve": serve, "--fetch": fetch, "--retire": retire, "--migrate": migrate}
    if len(argv) == 2 and argv[0] in roles:
        roles[argv[0]](json.loads(argv[1]))
        return
    print(json.dumps(run(quick="--quick" in argv), indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
