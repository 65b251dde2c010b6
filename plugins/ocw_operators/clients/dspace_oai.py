"""DSpace's OAI-PMH endpoint over HTTP: list verbs followed through resumption tokens, 503 Retry-After, bounded
everything. The XML is read by :mod:`ocw_operators.oai.protocol`.

The client is plain Python (requests + lxml) so it is tested without Airflow; ``DSpaceOaiHook`` builds one from
an Airflow Connection.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urlsplit

import requests

from ocw_operators.http_support import BoundedReader, Deadline, body_excerpt, redact_url, retry_after_seconds
from ocw_operators.oai.protocol import (
    ListPage,
    NoRecordsMatch,
    OaiRecord,
    OaiSet,
    RepositoryInfo,
    parse_get_record_response,
    parse_identify_response,
    parse_list_response,
)

log = logging.getLogger(__name__)

LIST_VERBS = ("ListRecords", "ListIdentifiers")


class OaiHttpError(RuntimeError):
    """The repository answered with an HTTP error status (after any 503 retries)."""

    def __init__(self, status: int, url: str, detail: str = "") -> None:
        self.status = status
        super().__init__(f"OAI-PMH request to {url} failed with HTTP {status}{': ' + detail if detail else ''}")


class OaiUnavailable(OaiHttpError):
    """HTTP 503 persisted beyond the retry budget, or Retry-After asked for a longer wait than allowed."""


@dataclass(frozen=True)
class OaiClientSettings:
    """Where and how to talk to one OAI-PMH endpoint.

    :param base_url: the endpoint, e.g. ``https://dspace.mit.edu/oai/request`` (no query string).
    :param http_method: ``GET`` or ``POST`` (OAI-PMH requires servers to accept both).
    :param connect_timeout: seconds to establish a connection.
    :param read_timeout: seconds between bytes before the read fails.
    :param total_timeout: seconds one whole response may take, so a trickling server cannot hold the task.
    :param max_503_retries: how many 503 answers to wait out per request before giving up.
    :param default_retry_after: seconds to wait after a 503 without a usable Retry-After header.
    :param max_retry_after: the longest single wait accepted; a longer Retry-After fails the request.
    :param max_response_bytes: refuse a response body larger than this (a page of 100 records is far smaller).
    """

    base_url: str
    http_method: str = "GET"
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    total_timeout: float = 600.0
    max_503_retries: int = 5
    default_retry_after: float = 30.0
    max_retry_after: float = 900.0
    max_response_bytes: int = 64 * 1024 * 1024
    user_agent: str = "ocw-archive-airflow OAI-PMH harvester"

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"OAI base URL must be an http(s) URL, got {redact_url(self.base_url)!r}")
        if parts.query or parts.fragment:
            raise ValueError("OAI base URL must not carry a query string or fragment")
        if self.http_method.upper() not in ("GET", "POST"):
            raise ValueError(f"http_method must be GET or POST, not {self.http_method!r}")
        if self.max_503_retries < 0 or self.max_response_bytes <= 0:
            raise ValueError("max_503_retries must be >= 0 and max_response_bytes > 0")


class OaiClient:
    """Talks OAI-PMH 2.0 to one endpoint.

    :param settings: endpoint and limits (:class:`OaiClientSettings`).
    :param session: a ``requests.Session`` configured for the endpoint (auth, if any; TLS, proxies, headers).
    :param sleep: how to wait out a 503 (injectable so tests do not sleep for real).
    """

    def __init__(
        self,
        settings: OaiClientSettings,
        session: requests.Session,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.session = session
        # A new Session already says "python-requests/x"; only a User-Agent the Connection's headers chose wins.
        if self.session.headers.get("User-Agent", requests.utils.default_user_agent()) == (
            requests.utils.default_user_agent()
        ):
            self.session.headers["User-Agent"] = settings.user_agent
        self._sleep = sleep

    # --- verbs -------------------------------------------------------------------------------------------

    def identify(self) -> RepositoryInfo:
        return self._request({"verb": "Identify"}, parse_identify_response)

    def get_record(self, identifier: str, metadata_prefix: str = "oai_dc") -> OaiRecord:
        params = {"verb": "GetRecord", "identifier": identifier, "metadataPrefix": metadata_prefix}
        return self._request(params, parse_get_record_response)

    def list_sets(self) -> Iterator[OaiSet]:
        for page in self._pages("ListSets", {"verb": "ListSets"}, None):
            yield from page.sets

    def list_pages(
        self,
        verb: str = "ListRecords",
        *,
        metadata_prefix: str = "oai_dc",
        set_spec: str | None = None,
        from_: str | None = None,
        until: str | None = None,
        resumption_token: str | None = None,
    ) -> Iterator[ListPage]:
        """Yield each page of ``verb`` until the repository sends an empty resumption token.

        ``from_``/``until`` are already-formatted datestamps (see ``records.format_datestamp``). With
        ``resumption_token`` the list continues where an earlier (interrupted) harvest stopped; tokens are
        exclusive arguments, so the other filters are then not sent. ``noRecordsMatch`` yields one empty
        last page. The next request is only sent when the caller asks for the next page, so a caller that
        commits each page before continuing never holds more than one page.
        """
        if verb not in LIST_VERBS:
            raise ValueError(f"verb must be one of {LIST_VERBS}, not {verb!r}")
        first: dict[str, str] = {"verb": verb, "metadataPrefix": metadata_prefix}
        for name, value in (("set", set_spec), ("from", from_), ("until", until)):
            if value:
                first[name] = value
        yield from self._pages(verb, first, resumption_token)

    # --- plumbing ------------------------------------------------------------------------------------------

    def _pages(self, verb: str, first: dict[str, str], token: str | None) -> Iterator[ListPage]:
        params = {"verb": verb, "resumptionToken": token} if token else first
        while True:
            try:
                page = self._request(params, lambda body: parse_list_response(body, verb=verb))
            except NoRecordsMatch:
                yield ListPage()
                return
            yield page
            if page.is_last:
                return
            params = {"verb": verb, "resumptionToken": page.resumption_token or ""}

    def _request(self, params: dict[str, str], parse: Callable[[IO[bytes]], Any]) -> Any:
        response = self._send_waiting_out_503(params)
        with response:
            body = BoundedReader(
                lambda size: response.raw.read(size, decode_content=True),
                max_bytes=self.settings.max_response_bytes,
                deadline=Deadline(self.settings.total_timeout),
                what="OAI-PMH response",
            )
            return parse(body)

    def _send_waiting_out_503(self, params: dict[str, str]) -> requests.Response:
        settings = self.settings
        url = redact_url(settings.base_url)
        for attempt in range(settings.max_503_retries + 1):
            response = self._send(params)
            if response.status_code == 200:
                return response
            detail = _short_body(response)
            response.close()
            if response.status_code != 503:
                raise OaiHttpError(response.status_code, url, detail)
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            wait = settings.default_retry_after if wait is None else wait
            if wait > settings.max_retry_after:
                raise OaiUnavailable(
                    503, url, f"Retry-After asks for {wait:.0f} s, above {settings.max_retry_after:.0f}"
                )
            if attempt == settings.max_503_retries:
                break
            log.warning(
                "OAI-PMH endpoint %s answered 503; waiting %.1f s (retry %d of %d)",
                url,
                wait,
                attempt + 1,
                settings.max_503_retries,
            )
            self._sleep(wait)
        raise OaiUnavailable(503, url, f"still unavailable after {settings.max_503_retries} retries")

    def _send(self, params: dict[str, str]) -> requests.Response:
        timeout = (self.settings.connect_timeout, self.settings.read_timeout)
        if self.settings.http_method.upper() == "POST":
            return self.session.post(self.settings.base_url, data=params, timeout=timeout, stream=True)
        return self.session.get(self.settings.base_url, params=params, timeout=timeout, stream=True)


def _short_body(response: requests.Response, limit: int = 300) -> str:
    """The first bytes of an error body, for the exception message (bounded; never the whole page)."""
    try:
        raw = response.raw.read(limit, decode_content=True) or b""
    except Exception:
        return ""
    return body_excerpt(raw, limit)
