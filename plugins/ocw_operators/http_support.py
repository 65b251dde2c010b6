"""What the HTTP clients need beyond ``apache-airflow-providers-http``: bounded bodies, Retry-After, redaction.

The provider's ``HttpHook`` configures a ``requests.Session`` from a Connection (see
:mod:`ocw_operators.hooks.http_base`); it leaves to the caller how much of an answer to read and for how long, what
a ``Retry-After`` header means, and what may be quoted in a message. Every client (CMS, DSpace SWORD and OAI-PMH,
Wayback SPN2) and the link checker use these helpers, each turning the exceptions here into its own error types.
No Airflow imports.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import re
import time
from collections.abc import AsyncIterable, Callable, Iterable
from urllib.parse import quote, urlsplit, urlunsplit

READ_CHUNK_BYTES = 64 * 1024

# --- bounded bodies ----------------------------------------------------------------------------------------------


class ResponseTooLarge(ValueError):
    """A response body was larger than its limit; the rest was not read."""


class ResponseTooSlow(TimeoutError):
    """A response body was still arriving at its deadline (a server dripping bytes resets every read timeout)."""


class Deadline:
    """A total time limit for one answer, on the monotonic clock, started when it is created."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._at = time.monotonic() + seconds

    def expired(self) -> bool:
        return time.monotonic() >= self._at


class _Budget:
    """Counts the bytes of one body and checks its deadline after each chunk."""

    def __init__(self, max_bytes: int, deadline: Deadline | None, what: str) -> None:
        self.max_bytes = max_bytes
        self.deadline = deadline
        self.what = what
        self.bytes_read = 0

    def take(self, chunk: bytes) -> bytes:
        self.bytes_read += len(chunk)
        if self.bytes_read > self.max_bytes:
            raise ResponseTooLarge(f"{self.what} is larger than {self.max_bytes} bytes")
        if self.deadline is not None and self.deadline.expired():
            raise ResponseTooSlow(f"{self.what} took longer than {self.deadline.seconds:.0f}s to arrive")
        return chunk


def read_bounded(
    chunks: Iterable[bytes], *, max_bytes: int, deadline: Deadline | None = None, what: str = "the answer"
) -> bytes:
    """The whole body from ``chunks`` (e.g. ``response.iter_content(...)``), refused once over ``max_bytes``.

    :raises ResponseTooLarge: the body is larger than ``max_bytes`` (``what`` names it in the message).
    :raises ResponseTooSlow: ``deadline`` passed while the body was arriving.
    """
    budget = _Budget(max_bytes, deadline, what)
    return b"".join(budget.take(chunk) for chunk in chunks)


async def aread_bounded(
    chunks: AsyncIterable[bytes], *, max_bytes: int, deadline: Deadline | None = None, what: str = "the answer"
) -> bytes:
    """:func:`read_bounded` for an async body (e.g. aiohttp's ``response.content.iter_chunked(...)``)."""
    budget = _Budget(max_bytes, deadline, what)
    return b"".join([budget.take(chunk) async for chunk in chunks])


class BoundedReader:
    """A file-like view of a body for streaming parsers: ``read(size)`` with :func:`read_bounded`'s limits.

    :param read: reads up to ``size`` bytes of the body, e.g. ``lambda size: response.raw.read(size,
        decode_content=True)``.
    """

    def __init__(
        self,
        read: Callable[[int], bytes],
        *,
        max_bytes: int,
        deadline: Deadline | None = None,
        what: str = "the answer",
    ) -> None:
        self._read = read
        self._budget = _Budget(max_bytes, deadline, what)

    @property
    def bytes_read(self) -> int:
        return self._budget.bytes_read

    def read(self, size: int = READ_CHUNK_BYTES) -> bytes:
        if size is None or size < 0:
            size = READ_CHUNK_BYTES
        return self._budget.take(self._read(size))


def body_excerpt(body: bytes, limit: int) -> str:
    """The start of a body as one line of at most ``limit`` characters, for an error message."""
    text = body[: limit * 4].decode("utf-8", errors="replace")
    return " ".join(text.split())[:limit]


# --- Retry-After -------------------------------------------------------------------------------------------------


def retry_after_seconds(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date (RFC 9110 10.2.3).

    None when the header is missing or unreadable; a date in the past, or a negative number, means now (0).
    Each client decides what None means and how long a wait it accepts.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        seconds = _seconds_until(text, now)
    if seconds is None or not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


def _seconds_until(http_date: str, now: dt.datetime | None) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return (when - (now or dt.datetime.now(dt.UTC))).total_seconds()


# --- redaction ---------------------------------------------------------------------------------------------------

# The authority is read the way browsers read it (WHATWG URL): after ``scheme:`` and any slashes or backslashes, up
# to the first ``/``, ``?``, ``#`` or backslash; the userinfo ends at its *last* ``@``.
_SCHEMES = r"(?:https?|ftp|wss?)"
_AUTHORITY = re.compile(rf"^\s*{_SCHEMES}:[/\\]*([^/?#\\]*)", re.IGNORECASE)
_USERINFO_IN_TEXT = re.compile(rf"(\b{_SCHEMES}:[/\\]*)[^/?#\\\s]*@", re.IGNORECASE)
_QUERY_STRING = re.compile(r"\?[^\s'\"]*")


def has_userinfo(url: str) -> bool:
    """True when ``url`` carries a user name (and maybe a password) before its host."""
    match = _AUTHORITY.match(url or "")
    return bool(match and "@" in match.group(1))


def redact_userinfo(text: str) -> str:
    """``text`` with the userinfo of every URL in it removed (``http://user:pw@host/`` -> ``http://host/``)."""
    return _USERINFO_IN_TEXT.sub(r"\1", text or "")


def redact_url(url: str) -> str:
    """``url`` without its userinfo, query string or fragment: the form of a URL allowed in messages and logs.

    A URL with none of them is returned as it is (it also keys stored state, e.g. an OAI-PMH endpoint's harvest).
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc and not parts.query and not parts.fragment:
        return url
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2].lower(), parts.path, "", ""))


def redact_query_strings(text: str) -> str:
    """``text`` with every query string replaced by ``?<redacted>`` (a legacy API may put credentials there)."""
    return _QUERY_STRING.sub("?<redacted>", text)


def scrub_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret, as it is and percent-encoded, replaced by ``***`` (for text a server echoed)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
    return text
