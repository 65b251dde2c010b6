"""The link farm's routes, statistics, fault injection and command line, seen by a plain HTTP client."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from ocw_sandbox.__main__ import parse_ports
from ocw_sandbox.control import inject_fault

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def farm(linkfarm):
    return linkfarm(hosts=2)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/ok", 200),
        ("HEAD", "/ok", 200),
        ("POST", "/ok", 200),
        ("GET", "/status/418", 418),
        ("HEAD", "/status/503", 503),
        ("GET", "/status/99", 400),
        ("GET", "/status/600", 400),
        ("HEAD", "/head-405", 405),
        ("GET", "/head-405", 200),
        ("HEAD", "/head-501", 501),
        ("GET", "/head-501", 200),
        ("HEAD", "/big", 405),
        ("GET", "/redirect/0", 200),
        ("GET", "/redirect/101", 400),
        ("GET", "/nowhere", 404),
    ],
)
def test_routes_answer_as_documented(farm, method, path, status):
    response = requests.request(method, farm.url(path), allow_redirects=False, timeout=5)
    assert response.status_code == status


def test_refusing_head_says_which_method_works(farm):
    assert requests.head(farm.url("/head-405"), timeout=5).headers["Allow"] == "GET"


def test_redirect_counts_down_on_the_same_host_and_keeps_the_query(farm):
    response = requests.get(farm.url("/redirect/3?n=7"), allow_redirects=False, timeout=5)
    assert (response.status_code, response.headers["Location"]) == (302, "/redirect/2?n=7")
    followed = requests.get(farm.url("/redirect/3?n=7"), timeout=5)
    assert followed.status_code == 200
    assert [hop.status_code for hop in followed.history] == [302, 302, 302]
    assert followed.url == farm.url("/redirect/0?n=7")


def test_redirect_loop_points_at_itself(farm):
    response = requests.head(farm.url("/redirect-loop?x=1"), timeout=5)
    assert (response.status_code, response.headers["Location"]) == (302, "/redirect-loop?x=1")
    with pytest.raises(requests.TooManyRedirects):
        requests.head(farm.url("/redirect-loop"), allow_redirects=True, timeout=5)


def test_reset_drops_the_connection(farm):
    with pytest.raises(requests.ConnectionError):
        requests.get(farm.url("/reset"), timeout=5)


def test_slow_answers_after_the_delay(farm):
    started = time.monotonic()
    assert requests.get(farm.url("/slow/200"), timeout=5).status_code == 200
    assert time.monotonic() - started >= 0.2


def test_latency_is_added_to_every_request(linkfarm):
    farm = linkfarm(latency_s=0.2)
    started = time.monotonic()
    assert requests.head(farm.url("/status/404"), timeout=5).status_code == 404
    assert time.monotonic() - started >= 0.2


def test_hang_holds_nothing_once_the_client_gives_up(farm):
    with pytest.raises(requests.ReadTimeout):
        requests.get(farm.url("/hang"), timeout=0.3)
    stats = farm.wait_idle(timeout=3)
    assert stats["in_flight"] == 0
    assert stats["requests"] == 1


def test_big_streams_its_body_to_a_reader(farm):
    from ocw_sandbox.linkfarm import BIG_BODY_BYTES

    with requests.get(farm.url("/big"), stream=True, timeout=5) as response:
        assert response.status_code == 200
        assert int(response.headers["Content-Length"]) == BIG_BODY_BYTES
        first = next(response.iter_content(1024 * 1024))
        assert first == b"\0" * len(first)
    stats = farm.wait_idle()
    assert 0 < stats["big_bytes_sent"] < BIG_BODY_BYTES
    assert stats["big_bodies_completed"] == 0


def test_stats_are_kept_per_port_and_can_be_reset(farm):
    for _ in range(3):
        requests.head(farm.url("/ok", host=0), timeout=5)
    requests.head(farm.url("/ok", host=1), timeout=5)
    stats = farm.stats()
    assert stats["requests"] == 4
    assert stats["ports"][str(farm.ports[0])] == {"in_flight": 0, "max_in_flight": 1, "requests": 3}
    assert stats["ports"][str(farm.ports[1])] == {"in_flight": 0, "max_in_flight": 1, "requests": 1}

    requests.delete(farm.url("/_sandbox/stats", host=1), timeout=5).raise_for_status()
    after = farm.stats()
    assert after["requests"] == 0
    assert after["max_in_flight"] == 0


def test_stats_see_concurrent_requests(linkfarm):
    from concurrent.futures import ThreadPoolExecutor

    farm = linkfarm(hosts=1)
    with ThreadPoolExecutor(max_workers=3) as pool:
        codes = list(pool.map(lambda n: requests.get(farm.url(f"/slow/400?n={n}"), timeout=5).status_code, range(3)))
    assert codes == [200, 200, 200]
    assert farm.stats()["max_in_flight_per_port"] == 3


def test_faults_target_named_routes(farm):
    inject_fault(farm.url(""), "ok", "status", status=500, times=1)
    assert requests.get(farm.url("/ok"), timeout=5).status_code == 500
    assert requests.get(farm.url("/ok"), timeout=5).status_code == 200
    inject_fault(farm.url(""), "head_405", "status", status=200, times=1)
    assert requests.head(farm.url("/head-405"), timeout=5).status_code == 200


def test_negative_latency_is_refused():
    from ocw_sandbox.linkfarm import make_linkfarm_app

    with pytest.raises(ValueError, match="latency"):
        make_linkfarm_app(latency_s=-1)


# --- python -m ocw_sandbox ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "ports"),
    [("9100-9103", [9100, 9101, 9102, 9103]), ("9100,9105", [9100, 9105]), ("9100, 9100-9101", [9100, 9101])],
)
def test_port_specs(spec, ports):
    assert parse_ports(spec) == ports


@pytest.mark.parametrize("spec", ["", "0", "9101-9100", "abc", "70000", "1-6000"])
def test_bad_port_specs_are_refused(spec):
    import argparse

    with pytest.raises(argparse.ArgumentTypeError):
        parse_ports(spec)


def test_command_line_serves_until_sigterm():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), str(ROOT / "plugins"), str(ROOT)])}
    command = [sys.executable, "-m", "ocw_sandbox", "linkfarm", "--ephemeral", "3", "--latency-ms", "10"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "the link farm did not announce itself"
        announcement = json.loads(process.stdout.readline())
        assert announcement["service"] == "linkfarm"
        assert announcement["host"] == "127.0.0.1"
        assert len(set(announcement["ports"])) == 3
        for port in announcement["ports"]:
            assert requests.get(f"http://127.0.0.1:{port}/status/410", timeout=5).status_code == 410
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=15)
