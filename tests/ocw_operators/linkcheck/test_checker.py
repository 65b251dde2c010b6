"""The link checker at the HTTP boundary, against the link farm (and a recording server where headers matter)."""

from __future__ import annotations

import logging
import socket
import time

import pytest
from aiohttp import web

from ocw_operators.db.models import ResourceStatus
from ocw_operators.linkcheck.checker import (
    USER_AGENT,
    CheckSettings,
    LinkCheckResult,
    check_links,
    describe_error,
)

FAST = CheckSettings(total_timeout_s=2.0, connect_timeout_s=1.0)


def check_one(url: str, settings: CheckSettings = FAST) -> LinkCheckResult:
    [result] = check_links([(7, url)], settings)
    assert result.resource_id == 7
    assert result.url == url
    return result


def outcome(result: LinkCheckResult) -> tuple[ResourceStatus, int | None, str]:
    return result.status, result.response_code, result.error


@pytest.fixture(scope="module")
def farm(sandbox_runtime):
    """One shared farm for tests that do not read its statistics."""
    from ocw_sandbox.linkfarm import make_linkfarm_app

    [port] = sandbox_runtime.serve_many(make_linkfarm_app(), [0])
    return f"http://127.0.0.1:{port}"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- ocw-studio's status rules, end to end -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/ok", ResourceStatus.VALID, 200),
        ("/status/204", ResourceStatus.VALID, 204),
        ("/status/302", ResourceStatus.VALID, 302),  # a redirect without Location is a final answer
        ("/redirect/1", ResourceStatus.VALID, 200),
        ("/redirect/3", ResourceStatus.VALID, 200),
        ("/status/400", ResourceStatus.BROKEN, 400),
        ("/status/404", ResourceStatus.BROKEN, 404),
        ("/status/410", ResourceStatus.BROKEN, 410),
        ("/status/500", ResourceStatus.BROKEN, 500),
        ("/status/502", ResourceStatus.BROKEN, 502),
        ("/status/401", ResourceStatus.UNCHECKED, 401),
        ("/status/402", ResourceStatus.UNCHECKED, 402),
        ("/status/403", ResourceStatus.UNCHECKED, 403),
        ("/status/408", ResourceStatus.UNCHECKED, 408),
        ("/status/429", ResourceStatus.UNCHECKED, 429),
        ("/status/503", ResourceStatus.UNCHECKED, 503),
        ("/head-405", ResourceStatus.VALID, 200),  # HEAD refused, GET fine: the fallback finds the page
        ("/head-501", ResourceStatus.VALID, 200),
        ("/status/405", ResourceStatus.BROKEN, 405),  # 405 to GET as well: really broken
        ("/status/501", ResourceStatus.BROKEN, 501),
    ],
)
def test_final_status_is_judged_by_ocw_studio_rules(farm, path, status, code):
    assert outcome(check_one(farm + path)) == (status, code, "")


@pytest.mark.parametrize("url", ["", "   ", "\t\n"])
def test_empty_url_is_valid_without_a_code_or_a_request_as_in_ocw_studio(url):
    assert outcome(check_one(url)) == (ResourceStatus.VALID, None, "")


# --- what goes over the wire ---------------------------------------------------------------------------------


@pytest.fixture
def recorder(sandbox_runtime):
    """A server that records each request's method, path, and headers; ``/cookie-gate`` loops until a cookie
    comes back, like sites that test for cookie support before serving the page."""
    seen: list[dict] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append({"method": request.method, "path": request.path_qs, "headers": dict(request.headers)})
        if request.path == "/cookie-gate" and "gate" not in request.cookies:
            response = web.Response(status=302, headers={"Location": request.path_qs})
            response.set_cookie("gate", "open")
            return response
        if request.path == "/to-ok":
            return web.Response(status=301, headers={"Location": "/ok"})
        if request.path == "/get-only" and request.method == "HEAD":
            return web.Response(status=405)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    port = sandbox_runtime.serve(app)
    return f"http://127.0.0.1:{port}", seen


def test_sends_head_with_ocw_studio_headers_and_follows_redirects(recorder):
    base, seen = recorder
    assert outcome(check_one(base + "/to-ok")) == (ResourceStatus.VALID, 200, "")
    assert [(request["method"], request["path"]) for request in seen] == [("HEAD", "/to-ok"), ("HEAD", "/ok")]
    for request in seen:
        assert request["headers"]["User-Agent"] == USER_AGENT
        assert request["headers"]["Accept"] == "*/*"


def test_get_fallback_is_tried_once_after_head(recorder):
    base, seen = recorder
    assert outcome(check_one(base + "/get-only")) == (ResourceStatus.VALID, 200, "")
    assert [request["method"] for request in seen] == ["HEAD", "GET"]


def test_cookies_set_during_a_redirect_chain_are_sent_on_its_next_hops_but_never_shared(recorder):
    base, seen = recorder
    results = check_links([(1, base + "/cookie-gate?a"), (2, base + "/cookie-gate?b")], FAST)
    assert [outcome(result) for result in results] == [(ResourceStatus.VALID, 200, "")] * 2
    for query in ("?a", "?b"):
        hops = [request for request in seen if request["path"] == "/cookie-gate" + query]
        assert len(hops) == 2
        assert "Cookie" not in hops[0]["headers"]  # the other URL's cookie was not reused
        assert hops[1]["headers"]["Cookie"] == "gate=open"


# --- failures: each is this URL's result, never the batch's ------------------------------------------------------


def test_hang_fails_within_the_bounded_timeout(farm):
    settings = CheckSettings(total_timeout_s=0.5, connect_timeout_s=0.5)
    started = time.monotonic()
    result = check_one(farm + "/hang", settings)
    elapsed = time.monotonic() - started
    assert outcome(result) == (ResourceStatus.CHECK_FAILED, None, "timeout after 0.5s")
    assert elapsed < 5  # generous: the point is it does not wait for the server's 120 s


def test_total_timeout_covers_the_whole_redirect_chain(linkfarm):
    farm = linkfarm(latency_s=0.15)  # each hop is well under the limit; six of them are not
    settings = CheckSettings(total_timeout_s=0.5, connect_timeout_s=0.5)
    assert outcome(check_one(farm.url("/redirect/5"), settings)) == (
        ResourceStatus.CHECK_FAILED,
        None,
        "timeout after 0.5s",
    )


def test_waiting_for_a_host_slot_is_not_charged_to_the_url(linkfarm):
    farm = linkfarm(latency_s=0.2)
    settings = CheckSettings(total_timeout_s=0.5, connect_timeout_s=0.5, per_host_limit=1)
    items = [(n, farm.url(f"/ok?n={n}")) for n in range(5)]  # one at a time: the last waits ~0.8 s
    started = time.monotonic()
    results = check_links(items, settings)
    assert time.monotonic() - started >= 0.9
    assert [outcome(result) for result in results] == [(ResourceStatus.VALID, 200, "")] * 5


def test_reset_connection_fails_the_check(farm):
    result = check_one(farm + "/reset")
    assert result.status is ResourceStatus.CHECK_FAILED
    assert result.response_code is None
    assert result.error in {"server disconnected without a response", "connection reset by server"}


def test_refused_connection_fails_the_check():
    assert outcome(check_one(f"http://127.0.0.1:{closed_port()}/ok")) == (
        ResourceStatus.CHECK_FAILED,
        None,
        "connection refused",
    )


def test_errors_never_repeat_credentials_embedded_in_the_url():
    result = check_one(f"http://archivist:s3cr3t-token@127.0.0.1:{closed_port()}/ok")
    assert result.status is ResourceStatus.CHECK_FAILED
    assert "s3cr3t" not in result.error
    assert "archivist" not in result.error


def test_no_failure_logs_or_stores_credentials_embedded_in_the_url(farm, caplog):
    """Every way a check with ``user:password@`` in its URL can fail: the reason, the result and the logs."""
    caplog.set_level(logging.DEBUG)
    userinfo = "archivist:s3cr3t-token@"
    authority = farm.split("//")[1]
    urls = [
        f"http://{userinfo}{authority}/hang",
        f"http://{userinfo}{authority}/reset",
        f"http://{userinfo}{authority}/redirect-loop",
        f"http://{userinfo}{authority}/status/401",
        f"http://{userinfo}127.0.0.1:{closed_port()}/ok",
        f"http://{userinfo}no-such-host.invalid/",
        f"http://{userinfo}example.org:99999/",
        f"http://{userinfo}a..b/",
        f"https://{userinfo}{authority}/ok",  # TLS to a plain HTTP server
    ]
    results = check_links(list(enumerate(urls)), CheckSettings(total_timeout_s=1.0, connect_timeout_s=1.0))
    assert [result.status for result in results].count(ResourceStatus.CHECK_FAILED) == len(urls) - 1
    for result in results:
        for text in (result.error, repr(result), str(result)):
            assert "s3cr3t" not in text and "archivist" not in text, text
    assert "s3cr3t" not in caplog.text and "archivist" not in caplog.text


def test_an_error_text_quoting_a_url_loses_its_userinfo():
    reason = describe_error(RuntimeError("cannot fetch http://archivist:s3cr3t@example.org/x"), CheckSettings())
    assert reason == "RuntimeError: cannot fetch http://example.org/x"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://files.example.org/syllabus.pdf", "invalid URL: scheme 'ftp' is not http or https"),
        ("mailto:someone@example.org", "invalid URL: scheme 'mailto' is not http or https"),
        ("javascript:alert(1)", "invalid URL: scheme 'javascript' is not http or https"),
        ("/courses/relative/path", "invalid URL: not an absolute URL"),
        ("www.example.org/page", "invalid URL: not an absolute URL"),
        ("http://", "invalid URL: missing or malformed host"),
        ("http://exa mple.org/", "invalid URL: missing or malformed host"),
        ("http://example.org:99999/", "invalid URL: Port out of range 0-65535"),
        ("http://example.org/\x00evil", "invalid URL: contains control characters"),
        ("http://example.org/a\r\nX-Injected: 1", "invalid URL: contains control characters"),
        ("http://example.org/" + "a" * 2100, "invalid URL: longer than 2048 characters"),
    ],
)
def test_invalid_urls_fail_without_a_request(url, reason):
    assert outcome(check_one(url)) == (ResourceStatus.CHECK_FAILED, None, reason)


def test_overlong_url_makes_no_request(linkfarm):
    farm = linkfarm()
    result = check_one(farm.url("/ok?q=" + "x" * 100), CheckSettings(max_url_length=64))
    assert outcome(result) == (ResourceStatus.CHECK_FAILED, None, "invalid URL: longer than 64 characters")
    assert farm.stats()["requests"] == 0


def test_redirects_are_followed_up_to_the_cap_and_no_further(farm):
    settings = CheckSettings(total_timeout_s=2.0, max_redirects=3)
    assert outcome(check_one(farm + "/redirect/3", settings)) == (ResourceStatus.VALID, 200, "")
    too_many = (ResourceStatus.CHECK_FAILED, None, "too many redirects (more than 3)")
    assert outcome(check_one(farm + "/redirect/4", settings)) == too_many
    assert outcome(check_one(farm + "/redirect-loop", settings)) == too_many


def test_redirect_loop_fails_with_default_settings(farm):
    assert outcome(check_one(farm + "/redirect-loop")) == (
        ResourceStatus.CHECK_FAILED,
        None,
        "too many redirects (more than 10)",
    )


def test_one_batch_survives_every_kind_of_bad_url(farm):
    settings = CheckSettings(total_timeout_s=0.5, connect_timeout_s=0.5)
    items = [
        (1, farm + "/hang"),
        (2, "ftp://nope/"),
        (3, farm + "/ok"),
        (4, f"http://127.0.0.1:{closed_port()}/"),
        (5, farm + "/reset"),
        (6, farm + "/redirect-loop"),
        (7, farm + "/status/404"),
    ]
    results = check_links(items, settings)
    assert [(result.resource_id, result.status) for result in results] == [
        (1, ResourceStatus.CHECK_FAILED),
        (2, ResourceStatus.CHECK_FAILED),
        (3, ResourceStatus.VALID),
        (4, ResourceStatus.CHECK_FAILED),
        (5, ResourceStatus.CHECK_FAILED),
        (6, ResourceStatus.CHECK_FAILED),
        (7, ResourceStatus.BROKEN),
    ]
    assert all(bool(result.error) == (result.status is ResourceStatus.CHECK_FAILED) for result in results)


# --- concurrency and politeness, as the server sees it ---------------------------------------------------------


def test_per_host_cap_holds_and_is_used(linkfarm):
    farm = linkfarm(hosts=1, latency_s=0.05)
    results = check_links([(n, farm.url(f"/ok?n={n}")) for n in range(40)], CheckSettings(per_host_limit=3))
    assert {result.status for result in results} == {ResourceStatus.VALID}
    stats = farm.wait_idle()
    assert stats["requests"] == 40
    assert stats["max_in_flight_per_port"] == 3


def test_per_host_cap_counts_get_fallbacks_and_redirect_hops(linkfarm):
    farm = linkfarm(hosts=1, latency_s=0.03)
    paths = ["/head-405", "/redirect/2", "/head-501", "/ok"]
    items = [(n, farm.url(f"{paths[n % 4]}?n={n}")) for n in range(24)]
    results = check_links(items, CheckSettings(per_host_limit=2))
    assert {(result.status, result.response_code) for result in results} == {(ResourceStatus.VALID, 200)}
    stats = farm.wait_idle()
    assert stats["requests"] == 6 * (2 + 3 + 2 + 1)
    assert stats["max_in_flight_per_port"] == 2


def test_global_cap_holds_across_hosts(linkfarm):
    farm = linkfarm(hosts=10, latency_s=0.05)
    items = [(n, farm.url(f"/ok?n={n}", host=n % 10)) for n in range(60)]
    results = check_links(items, CheckSettings(max_concurrency=5, per_host_limit=4))
    assert {result.status for result in results} == {ResourceStatus.VALID}
    stats = farm.wait_idle()
    assert stats["requests"] == 60
    assert stats["max_in_flight"] == 5
    assert stats["max_in_flight_per_port"] <= 4


def test_results_come_back_in_input_order(linkfarm):
    farm = linkfarm(hosts=3)
    paths = ["/slow/300", "/status/404", "/slow/150", "/ok", "/status/403", "/slow/50", "/redirect/2"]
    items = [(100 - n, farm.url(f"{path}?n={n}", host=n % 3)) for n, path in enumerate(paths)]
    results = check_links(items, FAST)
    assert [(result.resource_id, result.url) for result in results] == items
    assert [result.response_code for result in results] == [200, 404, 200, 200, 403, 200, 200]


def test_a_url_listed_twice_is_requested_once_and_reported_for_each_resource(linkfarm):
    farm = linkfarm()
    url = farm.url("/status/410")
    results = check_links([(1, url), (2, farm.url("/ok")), (3, url)], FAST)
    assert [(result.resource_id, result.response_code) for result in results] == [(1, 410), (2, 200), (3, 410)]
    assert farm.wait_idle()["requests"] == 2


def test_get_fallback_does_not_download_the_body(linkfarm):
    from ocw_sandbox.linkfarm import BIG_BODY_BYTES

    farm = linkfarm()
    assert outcome(check_one(farm.url("/big"))) == (ResourceStatus.VALID, 200, "")
    stats = farm.wait_idle()
    assert stats["requests"] == 2  # HEAD (405), then GET
    assert stats["big_bodies_completed"] == 0
    # Only what fits in the sockets' buffers left the server before the client hung up.
    assert stats["big_bytes_sent"] < BIG_BODY_BYTES // 8


# --- settings and error descriptions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"total_timeout_s": 0},
        {"connect_timeout_s": -1},
        {"max_concurrency": 0},
        {"per_host_limit": 0},
        {"max_url_length": 0},
        {"max_redirects": -1},
    ],
)
def test_settings_reject_nonsense(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        CheckSettings(**bad)


def test_connect_timeout_is_told_apart_from_the_total_timeout():
    import aiohttp

    settings = CheckSettings(total_timeout_s=30.0, connect_timeout_s=10.0)
    assert describe_error(aiohttp.ConnectionTimeoutError("slow connect"), settings) == "connect timeout after 10.0s"
    assert describe_error(TimeoutError(), settings) == "timeout after 30.0s"


def test_unexpected_errors_are_described_briefly():
    reason = describe_error(RuntimeError("x" * 1000), CheckSettings())
    assert reason.startswith("RuntimeError: x")
    assert len(reason) <= 200


def test_empty_batch_is_empty():
    assert check_links([]) == []
