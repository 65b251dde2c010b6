"""Save Page Now 2 (SPN2) protocol: requests, response parsing and errors, and the blocking client (requests).

No Airflow imports: :class:`ocw_operators.hooks.wayback.WaybackHook` builds these clients, and the sessions they
use, from a Connection.

The rules every call follows:

* every request has a connect and a read timeout, and the body is read up to :data:`MAX_BODY_BYTES` only;
* the status code is judged *before* the body is decoded (a 429 or 502 HTML page is an HTTP error, not a
  JSON error), and a 2xx body that is not the JSON SPN2 documents is a :class:`WaybackBadResponse`;
* the access key and secret never appear in an exception or log message: error excerpts are scrubbed, and
  the ``Authorization`` header is built per request and never stored on an object that gets printed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import requests

from ocw_operators.http_support import (
    Deadline,
    ResponseTooLarge,
    ResponseTooSlow,
    aread_bounded,
    body_excerpt,
    has_userinfo,
    read_bounded,
    redact_url,
    redact_userinfo,
    retry_after_seconds,
    scrub_secrets,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://web.archive.org"
DEFAULT_TIMEOUT_SECONDS = 30.0
# SPN2 documents a 10 s connect timeout of its own; never wait longer than that to connect.
MAX_CONNECT_TIMEOUT_SECONDS = 10.0
# SPN2's JSON answers are small (a batch status of 50 jobs with resource lists is well under this).
MAX_BODY_BYTES = 2 * 1024 * 1024
EXCERPT_CHARS = 200
# Used when a 429 carries no usable Retry-After; SPN2 historically blocked an IP for minutes, not seconds.
DEFAULT_RETRY_AFTER_SECONDS = 60.0
MAX_RETRY_AFTER_SECONDS = 3600.0

PENDING, SUCCESS, ERROR = "pending", "success", "error"
STATUS_VALUES = frozenset({PENDING, SUCCESS, ERROR})


# --- results ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaptureSubmission:
    """SPN2 accepted a capture request and started (or reused) job ``job_id``."""

    url: str
    job_id: str
    message: str = ""


@dataclass(frozen=True)
class JobStatus:
    """One capture job's state as ``/save/status`` reports it (JSON-serialisable via :meth:`to_dict`)."""

    job_id: str
    status: str  # pending | success | error
    original_url: str = ""
    timestamp: str = ""
    http_status: int | None = None
    status_ext: str = ""
    message: str = ""

    @property
    def wayback_url(self) -> str:
        """The capture's playback URL (only meaningful for a ``success``); never with credentials in it."""
        return f"https://web.archive.org/web/{self.timestamp}/{redact_userinfo(self.original_url)}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobStatus:
        return cls(
            job_id=str(data["job_id"]),
            status=str(data["status"]),
            original_url=str(data.get("original_url") or ""),
            timestamp=str(data.get("timestamp") or ""),
            http_status=_optional_int(data.get("http_status")),
            status_ext=str(data.get("status_ext") or ""),
            message=str(data.get("message") or ""),
        )


# --- errors -----------------------------------------------------------------------------------------------


class WaybackError(Exception):
    """Base class of every SPN2 failure this package raises."""


class WaybackRateLimited(WaybackError):
    """HTTP 429: SPN2 asks us to wait ``retry_after`` seconds before the next request."""

    def __init__(self, retry_after: float, excerpt: str = "") -> None:
        super().__init__(f"SPN2 rate limit (HTTP 429); retry after {retry_after:.0f}s. {excerpt}".strip())
        self.retry_after = retry_after
        self.excerpt = excerpt


class WaybackHttpError(WaybackError):
    """Any other non-2xx answer."""

    def __init__(self, status: int, excerpt: str, what: str = "request") -> None:
        super().__init__(f"SPN2 {what} failed with HTTP {status}: {excerpt!r}")
        self.status = status
        self.excerpt = excerpt


class WaybackBadResponse(WaybackError):
    """A 2xx answer that is not the JSON SPN2 documents (HTML, truncated, oversized, wrong shape)."""


class WaybackCaptureRefused(WaybackError):
    """HTTP 200 without a ``job_id``: SPN2 refused the capture (e.g. ``error:too-many-daily-captures``)."""

    def __init__(self, url: str, status_ext: str, message: str) -> None:
        super().__init__(f"SPN2 refused to capture {url}: {status_ext or 'no job_id'} {message}".strip())
        self.url = url
        self.status_ext = status_ext
        self.message = message


class WaybackCredentialsInUrl(WaybackError, ValueError):
    """The URL carries a user name or password (``http://user:pw@host/``); it is never sent to SPN2."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"{redact_userinfo(url)} is linked with credentials (a user name or password) in its URL; "
            "not sent to the Wayback Machine, whose captures are public"
        )


class WaybackTransportError(WaybackError):
    """The request never got an HTTP answer (connection refused or reset, read timeout)."""


class WaybackConnectTimeout(WaybackTransportError):
    """Connecting to SPN2 timed out (recorded as ``error:connect-timeout``, as ocw-studio does)."""


# --- settings and pure helpers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spn2Settings:
    """Where SPN2 is and how to authenticate; ``repr`` never shows the credentials."""

    base_url: str = DEFAULT_BASE_URL
    access_key: str = field(default="", repr=False)
    secret: str = field(default="", repr=False)
    timeout: float = DEFAULT_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"SPN2 base URL must be http(s)://host[:port], got {self.base_url!r}")
        if not (0 < self.timeout <= 600):
            raise ValueError(f"SPN2 timeout must be in (0, 600] seconds, got {self.timeout!r}")

    @property
    def connect_timeout(self) -> float:
        return min(self.timeout, MAX_CONNECT_TIMEOUT_SECONDS)

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.access_key or self.secret:
            headers["Authorization"] = f"LOW {self.access_key}:{self.secret}"
        return headers

    def url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}{path}"

    def scrub(self, text: str) -> str:
        """Remove the credentials from text that came back from the server (a proxy may echo headers)."""
        return scrub_secrets(text, (self.secret, self.access_key))

    @property
    def shown_url(self) -> str:
        """The base URL as messages name it (never with credentials written into it)."""
        return redact_url(self.base_url)


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float:
    """Seconds to wait from a 429's ``Retry-After``: the default when it is missing or unreadable, at most an hour."""
    seconds = retry_after_seconds(value, now=now)
    if seconds is None:
        return DEFAULT_RETRY_AFTER_SECONDS
    return min(seconds, MAX_RETRY_AFTER_SECONDS)


def _optional_int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _excerpt(body: bytes, settings: Spn2Settings) -> str:
    return settings.scrub(body_excerpt(body, EXCERPT_CHARS))


def _decode_json(body: bytes, settings: Spn2Settings, what: str) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WaybackBadResponse(
            f"SPN2 {what} answered 2xx with a body that is not JSON ({error.__class__.__name__}): "
            f"{_excerpt(body, settings)!r}"
        ) from None


def _raise_for_status(status: int, headers: Mapping[str, str], body: bytes, settings: Spn2Settings, what: str):
    if status == 429:
        raise WaybackRateLimited(parse_retry_after(headers.get("Retry-After")), _excerpt(body, settings))
    if not 200 <= status < 300:
        raise WaybackHttpError(status, _excerpt(body, settings), what)


def parse_submission(
    url: str, status: int, headers: Mapping[str, str], body: bytes, settings: Spn2Settings
) -> CaptureSubmission:
    """Interpret a ``POST /save`` answer."""
    _raise_for_status(status, headers, body, settings, "capture request")
    data = _decode_json(body, settings, "capture request")
    if not isinstance(data, dict):
        raise WaybackBadResponse(f"SPN2 capture answer is not a JSON object: {_excerpt(body, settings)!r}")
    message = settings.scrub(str(data.get("message") or ""))
    if message:
        log.warning("SPN2 message for %s: %s", url, message)
    job_id = str(data.get("job_id") or "").strip()
    if not job_id:
        raise WaybackCaptureRefused(url, str(data.get("status_ext") or ""), message)
    return CaptureSubmission(url=str(data.get("url") or url), job_id=job_id, message=message)


def parse_statuses(status: int, headers: Mapping[str, str], body: bytes, settings: Spn2Settings) -> list[JobStatus]:
    """Interpret a ``/save/status`` answer: a list of per-job dicts (as ocw-studio assumes) or a single dict."""
    _raise_for_status(status, headers, body, settings, "status request")
    data = _decode_json(body, settings, "status request")
    items = [data] if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise WaybackBadResponse(f"SPN2 status answer is neither a list nor an object: {_excerpt(body, settings)!r}")
    statuses = []
    for item in items:
        if not isinstance(item, dict):
            raise WaybackBadResponse(f"SPN2 status answer has a non-object entry: {str(item)[:EXCERPT_CHARS]!r}")
        if not item.get("job_id") or item.get("status") not in STATUS_VALUES:
            # e.g. {"status": "error", "message": "..."} for a job SPN2 no longer knows: nothing to record.
            log.warning(
                "Ignoring SPN2 status entry without a job id or known status: %s", settings.scrub(str(item)[:200])
            )
            continue
        status = JobStatus.from_dict(item)
        # Server-supplied text ends up in the archive DB and the trigger event: never with our credentials in it.
        statuses.append(
            replace(status, message=settings.scrub(status.message), status_ext=settings.scrub(status.status_ext))
        )
    return statuses


def status_form(job_ids: Sequence[str]) -> dict[str, str]:
    ids = [job_id.strip() for job_id in job_ids if job_id and job_id.strip()]
    if any("," in job_id for job_id in ids):
        raise ValueError("SPN2 job ids cannot contain commas")
    return {"job_ids": ",".join(ids)}


def capture_form(url: str) -> dict[str, str]:
    """The ``POST /save`` form; raises :class:`WaybackCredentialsInUrl` for a URL with userinfo (every client)."""
    if has_userinfo(url):
        raise WaybackCredentialsInUrl(url)
    # skip_first_archive=1 is SPN2's faster path; capture_outlinks stays off (ocw-studio removed it on purpose).
    return {"url": url, "skip_first_archive": "1"}


# --- sync client (workers) --------------------------------------------------------------------------------


class Spn2Client:
    """Blocking SPN2 client over one ``requests.Session`` (use as a context manager or call :meth:`close`).

    :param session: configured for SPN2 (TLS, proxies, headers); the ``LOW`` authorization is added per request.
    """

    def __init__(self, settings: Spn2Settings, session: requests.Session) -> None:
        self.settings = settings
        self.session = session

    def __enter__(self) -> Spn2Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    def submit_capture(self, url: str) -> CaptureSubmission:
        if not url or not url.strip():
            raise ValueError("cannot submit an empty URL to SPN2")
        status, headers, body = self._post("/save", capture_form(url.strip()))
        return parse_submission(url.strip(), status, headers, body, self.settings)

    def job_statuses(self, job_ids: Iterable[str]) -> list[JobStatus]:
        form = status_form(list(job_ids))
        if not form["job_ids"]:
            return []
        status, headers, body = self._post("/save/status", form)
        return parse_statuses(status, headers, body, self.settings)

    def _post(self, path: str, form: Mapping[str, str]) -> tuple[int, Mapping[str, str], bytes]:
        settings = self.settings
        deadline = Deadline(settings.timeout)
        try:
            with self.session.post(
                settings.url(path),
                data=dict(form),
                headers=settings.headers(),
                timeout=(settings.connect_timeout, settings.timeout),
                allow_redirects=False,
                stream=True,
            ) as response:
                body = read_body(response.iter_content(64 * 1024), deadline)
                return response.status_code, response.headers, body
        except ResponseTooSlow as error:
            # A server dripping bytes would otherwise reset the per-read timeout forever.
            raise WaybackTransportError(str(error)) from None
        except requests.exceptions.ConnectTimeout:
            raise connect_timed_out(settings) from None
        except requests.exceptions.Timeout:
            raise no_answer(settings, path) from None
        except requests.exceptions.RequestException as error:
            raise request_failed(settings, path, error) from None


# --- what both clients share ---------------------------------------------------------------------------------


def read_body(chunks: Iterable[bytes], deadline: Deadline | None = None) -> bytes:
    """An answer's body, refused beyond :data:`MAX_BODY_BYTES` (and after ``deadline``)."""
    try:
        return read_bounded(chunks, max_bytes=MAX_BODY_BYTES, deadline=deadline, what="SPN2 answer")
    except ResponseTooLarge as error:
        raise WaybackBadResponse(f"{error}; refusing to read it") from None


async def aread_body(chunks: AsyncIterable[bytes]) -> bytes:
    """:func:`read_body` of an async body (the session's total timeout is its deadline)."""
    try:
        return await aread_bounded(chunks, max_bytes=MAX_BODY_BYTES, what="SPN2 answer")
    except ResponseTooLarge as error:
        raise WaybackBadResponse(f"{error}; refusing to read it") from None


def connect_timed_out(settings: Spn2Settings) -> WaybackConnectTimeout:
    return WaybackConnectTimeout(
        f"connecting to SPN2 at {settings.shown_url} timed out after {settings.connect_timeout:.0f}s"
    )


def no_answer(settings: Spn2Settings, path: str) -> WaybackTransportError:
    return WaybackTransportError(f"SPN2 at {settings.shown_url} did not answer {path} within {settings.timeout:.0f}s")


def request_failed(settings: Spn2Settings, path: str, error: BaseException) -> WaybackTransportError:
    return WaybackTransportError(f"SPN2 request {path} to {settings.shown_url} failed: {error.__class__.__name__}")
