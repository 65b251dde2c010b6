"""Check many external URLs at once, judged exactly as ocw-studio judges one.

ocw-studio (``external_resources/api.py``) checks one URL at a time with
``requests.head(url, allow_redirects=True, timeout=30, headers={"Accept": "*/*", "User-Agent": ...})``
and turns any exception into a failed check. This module keeps those rules (see
:mod:`ocw_operators.linkcheck.rules`) and changes how the requests are made:

* every URL of a batch is checked concurrently on one ``aiohttp`` session (connections are reused), with a
  global cap on requests in flight and a politeness cap per host (``scheme://host:port``);
* a server that answers HEAD with 405 or 501 is asked once more with GET, at the URL that refused HEAD (only the
  status line and headers are read; the body is never downloaded), because many servers refuse HEAD although the
  page is fine; the GET's final status is the one judged and recorded;
* each URL has a bounded total time, all redirects and the GET fallback included; time spent waiting for a
  free slot is not charged to the URL, so a slow host cannot make other hosts' URLs time out;
* redirects are followed up to ``max_redirects`` (HEAD and GET hops together; requests' default is 30, which
  only makes redirect loops slower to detect), cookies set along one URL's redirect chain are sent on its
  later hops (as ``requests`` does), and no cookie is shared between URLs;
* URLs that are too long or not http(s) fail without any request.

Outcomes: an empty or whitespace-only URL is ``valid`` with no response code and no request, exactly as
ocw-studio records it. A final status is classified by :func:`~ocw_operators.linkcheck.rules.classify_response`.
Any failure to get a final status (DNS, refused or reset connection, timeout, TLS, invalid URL, too many
redirects) is ``check_failed`` with a short reason in ``error`` and no response code.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from http.cookies import BaseCookie

import aiohttp
from yarl import URL

from ocw_operators.db.models import ResourceStatus
from ocw_operators.http_support import redact_userinfo
from ocw_operators.linkcheck.rules import classify_response

USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 Safari/537.36"
)
REQUEST_HEADERS = {"Accept": "*/*", "User-Agent": USER_AGENT}
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHECKABLE_SCHEMES = frozenset({"http", "https"})
# Real sites send long Set-Cookie and Content-Security-Policy headers; aiohttp's 8 KiB default rejects some.
MAX_RESPONSE_HEADER_BYTES = 32 * 1024
# The archive DB stores the reason in a 255-character column.
MAX_ERROR_LENGTH = 200
# Idle keep-alive connections are dropped after this long, so a big batch does not hoard sockets.
KEEPALIVE_TIMEOUT_S = 15.0

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
_WHITESPACE = re.compile(r"\s")


@dataclass(frozen=True)
class CheckSettings:
    """How a batch is checked. The defaults suit the weekly check of real external sites."""

    total_timeout_s: float = 30.0  # bounded total time per URL, all redirects and the GET fallback included
    connect_timeout_s: float = 10.0
    max_redirects: int = 10
    max_concurrency: int = 100  # in flight across all hosts
    per_host_limit: int = 4  # politeness: max in flight per host (scheme://host:port)
    get_fallback_statuses: frozenset[int] = frozenset({405, 501})
    max_url_length: int = 2048

    def __post_init__(self) -> None:
        for name in ("total_timeout_s", "connect_timeout_s", "max_concurrency", "per_host_limit", "max_url_length"):
            if getattr(self, name) <= 0:
                raise ValueError(f"CheckSettings.{name} must be positive, got {getattr(self, name)!r}")
        if self.max_redirects < 0:
            raise ValueError(f"CheckSettings.max_redirects must not be negative, got {self.max_redirects!r}")


@dataclass(frozen=True, repr=False)
class LinkCheckResult:
    resource_id: int
    url: str  # as stored, credentials included: never log it as is (its repr leaves them out)
    status: ResourceStatus
    response_code: int | None
    error: str  # "" unless check_failed: short reason, e.g. "timeout after 30.0s", "invalid URL: ..."

    def __repr__(self) -> str:
        return (
            f"LinkCheckResult(resource_id={self.resource_id}, url={redact_userinfo(self.url)!r}, "
            f"status={self.status.value!r}, response_code={self.response_code}, error={self.error!r})"
        )


class LinkCheckError(Exception):
    """A URL could not be checked; the message is the short reason stored with the result."""


def parse_checkable_url(url: str, max_length: int, what: str = "invalid URL") -> URL:
    """Parse ``url`` (already stripped) or raise :class:`LinkCheckError` saying why it cannot be requested."""
    if len(url) > max_length:
        raise LinkCheckError(f"{what}: longer than {max_length} characters")
    if _CONTROL_CHARACTERS.search(url):
        raise LinkCheckError(f"{what}: contains control characters")
    try:
        parsed = URL(url)
        port = parsed.port
    except (TypeError, ValueError) as error:
        raise LinkCheckError(f"{what}: {error}") from error
    if not parsed.scheme:
        raise LinkCheckError(f"{what}: not an absolute URL")
    if parsed.scheme not in CHECKABLE_SCHEMES:
        raise LinkCheckError(f"{what}: scheme {parsed.scheme!r} is not http or https")
    if not parsed.host or _WHITESPACE.search(parsed.host):
        raise LinkCheckError(f"{what}: missing or malformed host")
    if port is None or port <= 0:
        raise LinkCheckError(f"{what}: bad port")
    return parsed


def host_key(url: URL) -> str:
    """The politeness key: ``scheme://host:port`` (one web server, as far as a client can tell)."""
    return f"{url.scheme}://{url.host}:{url.port}"


def describe_error(error: BaseException, settings: CheckSettings) -> str:
    """A short, secret-free reason for a failed check (stored in ``check_error``).

    The reasons name no URL, but an exception's own text may quote one (with its ``user:password@``): that
    userinfo is removed whatever the exception.
    """
    return redact_userinfo(_reason(error, settings))[:MAX_ERROR_LENGTH]


def _reason(error: BaseException, settings: CheckSettings) -> str:  # noqa: PLR0911 - one line per failure kind
    if isinstance(error, LinkCheckError):
        return str(error)
    # aiohttp's connect timeout is also a TimeoutError, so it must be told apart first.
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return f"connect timeout after {settings.connect_timeout_s}s"
    if isinstance(error, TimeoutError):
        return f"timeout after {settings.total_timeout_s}s"
    if isinstance(error, aiohttp.ClientConnectorError):
        return _connect_reason(error)
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return "server disconnected without a response"
    if isinstance(error, ConnectionResetError):
        return "connection reset by server"
    if isinstance(error, aiohttp.InvalidURL):
        return f"invalid URL: {error.description or 'rejected by the HTTP client'}"
    if isinstance(error, aiohttp.ClientResponseError):
        return f"malformed HTTP response: {error.message}"
    if isinstance(error, OSError):
        return f"network error: {error.strerror or type(error).__name__}"
    return f"{type(error).__name__}: {error}"


def _connect_reason(error: aiohttp.ClientConnectorError) -> str:
    if isinstance(error, aiohttp.ClientConnectorDNSError):
        return f"DNS lookup failed for {error.host}"
    if isinstance(error, aiohttp.ClientSSLError):
        return f"TLS error: {error}"
    if isinstance(error.os_error, ConnectionRefusedError):
        return "connection refused"
    return f"connection failed: {error.os_error.strerror or type(error.os_error).__name__}"


class _TimeBudget:
    """What is left of a URL's total time. Only time spent talking to servers is charged."""

    def __init__(self, seconds: float) -> None:
        self.remaining = seconds

    @contextlib.asynccontextmanager
    async def charge(self) -> AsyncIterator[None]:
        if self.remaining <= 0:
            raise TimeoutError
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with asyncio.timeout(self.remaining):
                yield
        finally:
            self.remaining -= loop.time() - started


class _RedirectCookies:
    """Cookies set along one URL's redirect chain, sent on its later hops (some sites loop without them)."""

    def __init__(self) -> None:
        self._jar: aiohttp.CookieJar | None = None

    def remember(self, response: aiohttp.ClientResponse) -> None:
        if response.cookies:
            if self._jar is None:
                self._jar = aiohttp.CookieJar(unsafe=True)  # unsafe: also keep cookies of IP-address hosts
            self._jar.update_cookies(response.cookies, response.url)

    def for_url(self, url: URL) -> BaseCookie[str] | None:
        return None if self._jar is None else self._jar.filter_cookies(url)


@dataclass(frozen=True)
class _Answer:
    status: int
    location: str | None  # the Location of a redirect, else None


@dataclass
class _CheckState:
    """Everything one URL's check carries across hops: time left, redirects used, cookies."""

    budget: _TimeBudget
    cookies: _RedirectCookies = field(default_factory=_RedirectCookies)
    redirects: int = 0


class _LinkChecker:
    def __init__(self, session: aiohttp.ClientSession, settings: CheckSettings) -> None:
        self._session = session
        self._settings = settings
        self._in_flight = asyncio.Semaphore(settings.max_concurrency)
        self._host_slots: dict[str, asyncio.Semaphore] = {}

    async def check(self, url: str) -> tuple[int | None, str]:
        """``(final status, "")`` or ``(None, reason)``; an empty URL is ``(None, "")`` without a request."""
        stripped = url.strip()
        if not stripped:
            return None, ""
        try:
            target = parse_checkable_url(stripped, self._settings.max_url_length)
            return await self._final_status(target), ""
        except asyncio.CancelledError:
            raise
        except Exception as error:  # every failure is this URL's result, never the batch's
            return None, describe_error(error, self._settings)

    async def _final_status(self, url: URL) -> int:
        state = _CheckState(budget=_TimeBudget(self._settings.total_timeout_s))
        final_url, status = await self._follow("HEAD", url, state)
        if status in self._settings.get_fallback_statuses:
            # The server refuses HEAD (405) or never implemented it (501); GET tells whether the page is there.
            _, status = await self._follow("GET", final_url, state)
        return status

    async def _follow(self, method: str, url: URL, state: _CheckState) -> tuple[URL, int]:
        """Request ``url``, following redirects; return the last URL and its status."""
        while True:
            answer = await self._exchange(method, url, state)
            if answer.location is None:
                return url, answer.status
            state.redirects += 1
            if state.redirects > self._settings.max_redirects:
                raise LinkCheckError(f"too many redirects (more than {self._settings.max_redirects})")
            url = self._redirect_target(url, answer.location)

    def _redirect_target(self, url: URL, location: str) -> URL:
        try:
            joined = url.join(URL(location))
        except (TypeError, ValueError) as error:
            raise LinkCheckError(f"invalid redirect target: {error}") from error
        return parse_checkable_url(str(joined), self._settings.max_url_length, what="invalid redirect target")

    async def _exchange(self, method: str, url: URL, state: _CheckState) -> _Answer:
        """One request/response, holding this host's slot and a global slot only while it is on the wire."""
        async with (
            self._host_slot(url),
            self._in_flight,
            state.budget.charge(),
            self._session.request(
                method, url, allow_redirects=False, headers=REQUEST_HEADERS, cookies=state.cookies.for_url(url)
            ) as response,
        ):
            state.cookies.remember(response)
            location = response.headers.get("Location") if response.status in REDIRECT_STATUSES else None
            if method != "HEAD":
                # Drop the connection instead of reading (or draining) a body we do not need.
                response.close()
            return _Answer(response.status, location)

    def _host_slot(self, url: URL) -> asyncio.Semaphore:
        key = host_key(url)
        slot = self._host_slots.get(key)
        if slot is None:
            slot = self._host_slots[key] = asyncio.Semaphore(self._settings.per_host_limit)
        return slot


def _session(settings: CheckSettings) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        # The semaphores are the real caps; this only bounds open sockets if they were ever bypassed.
        limit=settings.max_concurrency,
        keepalive_timeout=KEEPALIVE_TIMEOUT_S,
        ttl_dns_cache=300,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=settings.connect_timeout_s),
        # No cookies shared between URLs; each redirect chain keeps its own (see _RedirectCookies).
        cookie_jar=aiohttp.DummyCookieJar(),
        # Like requests: honour HTTP(S)_PROXY / NO_PROXY from the environment.
        trust_env=True,
        max_line_size=MAX_RESPONSE_HEADER_BYTES,
        max_field_size=MAX_RESPONSE_HEADER_BYTES,
    )


def _result(resource_id: int, url: str, outcome: tuple[int | None, str]) -> LinkCheckResult:
    response_code, error = outcome
    status = ResourceStatus.CHECK_FAILED if error else classify_response(response_code)
    return LinkCheckResult(resource_id=resource_id, url=url, status=status, response_code=response_code, error=error)


async def acheck_links(
    items: Iterable[tuple[int, str]], settings: CheckSettings = CheckSettings()
) -> list[LinkCheckResult]:
    """Check every ``(resource_id, url)`` concurrently; results come back in input order.

    A URL listed more than once is requested once and its outcome reported for each entry. Time: a URL never
    takes more than ``total_timeout_s`` on the wire, so a batch ends within roughly
    ``ceil(URLs on the busiest host / per_host_limit) * total_timeout_s`` (size task timeouts from that).
    """
    items = list(items)
    if not items:
        return []
    unique_urls = list(dict.fromkeys(url for _, url in items))
    async with _session(settings) as session:
        checker = _LinkChecker(session, settings)
        outcomes = await asyncio.gather(*(checker.check(url) for url in unique_urls))
    outcome_by_url = dict(zip(unique_urls, outcomes, strict=True))
    return [_result(resource_id, url, outcome_by_url[url]) for resource_id, url in items]


def check_links(items: Sequence[tuple[int, str]], settings: CheckSettings = CheckSettings()) -> list[LinkCheckResult]:
    """Synchronous entry point for workers; from code already running an event loop use :func:`acheck_links`."""
    return asyncio.run(acheck_links(items, settings))
