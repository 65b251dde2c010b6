"""Link checking: the project's concurrent checker against ocw-studio's sequential HEAD loop.

The link farm runs in a separate process (so server and client do not share a GIL) on ``--hosts`` ports with
``--latency-ms`` added to every request. ``--urls`` URLs are spread evenly over the hosts with a realistic mix
(mostly fine pages, 404s, 403/429/503, redirect chains, servers refusing HEAD, resets) and exactly 1% ``/hang``.

Both sides get the same per-URL timeout T (``--timeout``): the checker's total time per URL and the baseline's
``requests`` timeout. Each hanging URL costs the sequential baseline T seconds, so T is kept to a few seconds
(real checks use 30 s) to let the baseline finish in a reasonable time; a larger T only widens the gap.

Reported: wall times and their ratio, whether both classify every URL the same (they must, except the
405/501-on-HEAD paths where the checker's GET fallback legitimately finds the page: counted separately), and the
most requests the farm saw in flight on one host against the checker's per-host cap.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import random
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from ocw_operators.db.models import ResourceStatus
from ocw_operators.linkcheck.checker import REQUEST_HEADERS, CheckSettings, check_links
from ocw_operators.linkcheck.rules import classify_response

ROOT = Path(__file__).resolve().parent.parent
FULL_URLS = 10_000
QUICK_URLS = 1_000
HOSTS = 200
LATENCY_MS = 100.0
DEFAULT_TIMEOUT_S = 3.0
TARGET_SPEEDUP = 20.0
SEED = 20240826
FARM_START_TIMEOUT_S = 60.0

HANG_PATH = "/hang"
HANG_SHARE = 0.01
# Share of each path among the URLs that do not hang; "/ok" takes whatever the others leave.
URL_MIX: dict[str, float] = {
    "/status/404": 0.08,
    "/status/403": 0.03,
    "/status/410": 0.01,
    "/status/500": 0.01,
    "/status/429": 0.01,
    "/status/503": 0.01,
    "/status/405": 0.01,  # refuses HEAD and GET alike: broken on both sides
    "/redirect/1": 0.04,
    "/redirect/3": 0.02,
    "/head-405": 0.04,  # refuses only HEAD: the GET fallback finds the page
    "/head-501": 0.01,  # never implemented HEAD: likewise
    "/reset": 0.005,
}
GET_FALLBACK_PATHS = frozenset({"/head-405", "/head-501"})

Outcome = tuple[str, int | None]  # (status, response code)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--urls", type=int, default=None, help=f"URLs to check (default {FULL_URLS}, quick {QUICK_URLS})"
    )
    parser.add_argument("--hosts", type=int, default=HOSTS, help=f"link-farm ports, one host each (default {HOSTS})")
    parser.add_argument("--latency-ms", type=float, default=LATENCY_MS, help="farm latency per request (default 100)")
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="per-URL timeout T for both sides (default 3 s)"
    )


@dataclass(frozen=True)
class Workload:
    urls: list[str]
    paths: list[str]  # the farm path of each URL, to explain differences
    mix: dict[str, int]


def build_workload(ports: list[int], count: int, seed: int = SEED) -> Workload:
    """``count`` distinct URLs: exactly 1% hang, the rest per ``URL_MIX``; shuffled, then dealt round-robin to hosts."""
    hangs = round(count * HANG_SHARE)
    paths = [HANG_PATH] * hangs
    for path, share in URL_MIX.items():
        paths += [path] * int((count - hangs) * share)
    paths += ["/ok"] * (count - len(paths))
    random.Random(seed).shuffle(paths)
    urls = [f"http://127.0.0.1:{ports[i % len(ports)]}{path}?n={i}" for i, path in enumerate(paths)]
    return Workload(urls=urls, paths=paths, mix=dict(collections.Counter(paths).most_common()))


@contextlib.contextmanager
def linkfarm_process(hosts: int, latency_ms: float) -> Iterator[list[int]]:
    """Start ``python -m ocw_sandbox linkfarm`` in its own process; yield its ports; always stop it."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), str(ROOT / "plugins"), str(ROOT)])}
    command = [sys.executable, "-m", "ocw_sandbox", "linkfarm", "--ephemeral", str(hosts)]
    command += ["--latency-ms", str(latency_ms)]
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, env=env, text=True)
        try:
            yield _wait_for_announcement(process, stderr)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


def _wait_for_announcement(process: subprocess.Popen, stderr) -> list[int]:
    ready, _, _ = select.select([process.stdout], [], [], FARM_START_TIMEOUT_S)
    line = process.stdout.readline() if ready else ""
    if not line:
        stderr.seek(0)
        detail = stderr.read().decode(errors="replace")[-2000:]
        raise RuntimeError(f"the link farm did not start within {FARM_START_TIMEOUT_S:.0f} s: {detail}")
    return json.loads(line)["ports"]


class FarmStats:
    def __init__(self, port: int) -> None:
        self._url = f"http://127.0.0.1:{port}/_sandbox/stats"

    def reset(self) -> None:
        requests.delete(self._url, timeout=10).raise_for_status()

    def read(self) -> dict[str, Any]:
        stats = requests.get(self._url, timeout=10).json()
        return {
            "requests": stats["requests"],
            "max_in_flight_per_host": stats["max_in_flight_per_port"],
            "max_in_flight_all_hosts": stats["max_in_flight"],
        }


def baseline_check(url: str, timeout_s: float) -> Outcome:
    """ocw-studio's ``is_url_broken`` + task logic: one ``requests.head`` per URL, any exception a failed check."""
    if url.strip() == "":
        return ResourceStatus.VALID.value, None
    try:
        response = requests.head(url, allow_redirects=True, timeout=timeout_s, headers=REQUEST_HEADERS)
    except Exception:
        return ResourceStatus.CHECK_FAILED.value, None
    return classify_response(response.status_code).value, response.status_code


def run_baseline(urls: list[str], timeout_s: float) -> list[Outcome]:
    outcomes = []
    started = time.perf_counter()
    for done, url in enumerate(urls, 1):
        outcomes.append(baseline_check(url, timeout_s))
        if done % 500 == 0:
            print(f"  baseline: {done}/{len(urls)} URLs, {time.perf_counter() - started:.0f} s", flush=True)
    return outcomes


def run_checker(urls: list[str], settings: CheckSettings) -> list[Outcome]:
    results = check_links(list(enumerate(urls)), settings)
    return [(result.status.value, result.response_code) for result in results]


def _timed(function, *args) -> tuple[Any, float]:
    started = time.perf_counter()
    value = function(*args)
    return value, time.perf_counter() - started


def compare(workload: Workload, checker: list[Outcome], baseline: list[Outcome]) -> dict[str, Any]:
    identical = fallback = 0
    others: list[dict[str, Any]] = []
    for url, path, ours, theirs in zip(workload.urls, workload.paths, checker, baseline, strict=True):
        if ours == theirs:
            identical += 1
        elif path in GET_FALLBACK_PATHS and ours == ("valid", 200) and theirs[0] == "broken":
            fallback += 1
        else:
            others.append({"url": url, "checker": list(ours), "baseline": list(theirs)})
    return {
        "identical": identical,
        "get_fallback_differences": fallback,
        "other_differences": len(others),
        "other_difference_examples": others[:10],
    }


def _by_status(outcomes: list[Outcome]) -> dict[str, int]:
    return dict(collections.Counter(status for status, _ in outcomes).most_common())


def run(
    quick: bool,
    urls: int | None = None,
    hosts: int = HOSTS,
    latency_ms: float = LATENCY_MS,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> dict[str, Any]:
    count = urls or (QUICK_URLS if quick else FULL_URLS)
    settings = CheckSettings(total_timeout_s=timeout, connect_timeout_s=min(timeout, 10.0))
    with linkfarm_process(hosts, latency_ms) as ports:
        workload = build_workload(ports, count)
        stats = FarmStats(ports[0])
        print(f"  farm up on {len(ports)} ports; checking {count} URLs with the checker", flush=True)
        stats.reset()
        checker, checker_s = _timed(run_checker, workload.urls, settings)
        checker_farm = stats.read()
        print(f"  checker: {checker_s:.1f} s; now the sequential baseline", flush=True)
        stats.reset()
        baseline, baseline_s = _timed(run_baseline, workload.urls, timeout)
        baseline_farm = stats.read()
    comparison = compare(workload, checker, baseline)
    speedup = baseline_s / checker_s
    cap_held = checker_farm["max_in_flight_per_host"] <= settings.per_host_limit
    return {
        "urls": count,
        "hosts": len(ports),
        "latency_ms": latency_ms,
        "timeout_s_per_url": timeout,
        "mix": workload.mix,
        "checker": {
            "wall_s": round(checker_s, 2),
            "urls_per_s": round(count / checker_s, 1),
            "per_host_limit": settings.per_host_limit,
            "max_concurrency": settings.max_concurrency,
            "by_status": _by_status(checker),
            "farm": checker_farm,
        },
        "baseline": {
            "wall_s": round(baseline_s, 2),
            "urls_per_s": round(count / baseline_s, 1),
            "by_status": _by_status(baseline),
            "farm": baseline_farm,
        },
        "speedup": round(speedup, 1),
        "target_speedup": TARGET_SPEEDUP,
        "target_met": speedup >= TARGET_SPEEDUP,
        "classification": comparison,
        "per_host_cap_held": cap_held,
        "notes": [
            f"same per-URL timeout T={timeout} s on both sides (checker: total per URL incl. redirects and the GET "
            "fallback; baseline: requests' connect/read timeout); every /hang URL costs the sequential baseline T.",
            "get_fallback_differences: /head-405 and /head-501 URLs, broken for HEAD-only ocw-studio, valid for the "
            "checker, which retries them once with GET.",
            "farm figures are measured by the link-farm server process (requests and most requests in flight).",
        ],
        "summary": (
            f"linkcheck: {count} URLs on {len(ports)} hosts ({latency_ms:g} ms latency, T={timeout:g} s): checker "
            f"{checker_s:.1f} s vs sequential baseline {baseline_s:.1f} s = {speedup:.1f}x (target "
            f"{TARGET_SPEEDUP:g}x); {comparison['other_differences']} unexpected classification differences, "
            f"{comparison['get_fallback_differences']} GET-fallback differences; max in flight per host "
            f"{checker_farm['max_in_flight_per_host']} (cap {settings.per_host_limit})"
        ),
    }
