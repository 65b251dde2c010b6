"""Client for the course CMS: retirement queue, course resources and metadata, ``set_dspace_handle``.

The CMS (a Zope/Plone site) authenticates with ``__ac_name``/``__ac_password`` form variables, which the
legacy engine sent in the query string. Credentials in a URL leak into access logs, proxies and exception
messages, so this client sends them in the POST body and as HTTP Basic on GETs (``auth_style="form"``, the
default) or as HTTP Basic throughout (``"basic"``);
``"query"`` exists only for a CMS that accepts nothing else. Whatever the style, every error message is built
here from redacted URLs, and exceptions from ``requests`` (which quote the full URL) are never re-raised.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import requests

from ocw_operators.clients.dspace_sword import hdl_uri
from ocw_operators.http_support import ResponseTooLarge, read_bounded, redact_query_strings, redact_url
from ocw_operators.retirement.course import Course, CourseDataError, course_from_json
from ocw_operators.retirement.names import validate_course_id, validate_member_name

CHUNK_BYTES = 1024 * 1024
MAX_JSON_BYTES = 32 * 1024 * 1024
AuthStyle = Literal["form", "basic", "query"]


class CmsError(RuntimeError):
    """The CMS could not do what was asked; the message never contains credentials or query strings."""


class CourseNotFoundError(CmsError):
    """The CMS has no such course."""


@dataclass(frozen=True)
class CmsSettings:
    base_url: str
    username: str = field(repr=False)
    password: str = field(repr=False)
    auth_style: AuthStyle = "form"
    connect_timeout: float = 10.0
    read_timeout: float = 120.0


class CmsClient:
    """Talks to the CMS over HTTP; see the module docstring for how credentials travel."""

    def __init__(self, settings: CmsSettings, session: requests.Session) -> None:
        """:param session: configured for the CMS (TLS, proxies, headers); how credentials travel is decided here."""
        if settings.auth_style not in ("form", "basic", "query"):
            raise ValueError(f"auth_style must be form, basic or query, not {settings.auth_style!r}")
        self.settings = settings
        self.session = session
        if settings.auth_style == "basic":
            self.session.auth = (settings.username, settings.password)
        if settings.auth_style == "query":
            logging.getLogger("urllib3.connectionpool").addFilter(_URLLIB3_FILTER)

    # -- plumbing ------------------------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.settings.base_url.rstrip('/')}/{path.lstrip('/')}"

    def _credentials(self) -> dict[str, str]:
        return {"__ac_name": self.settings.username, "__ac_password": self.settings.password}

    def _request(self, method: str, path: str, *, params: dict[str, str] | None = None, stream: bool = False):
        url = self._url(path)
        params = dict(params or {})
        data, auth = None, None
        if self.settings.auth_style == "query":
            params |= self._credentials()
        elif self.settings.auth_style == "form" and method == "POST":
            data = {**params, **self._credentials()}
            params = {}
        elif self.settings.auth_style == "form":
            auth = (self.settings.username, self.settings.password)  # a GET has no body: HTTP Basic
        failure = None
        try:
            response = self.session.request(
                method,
                url,
                params=params or None,
                data=data,
                auth=auth,
                timeout=(self.settings.connect_timeout, self.settings.read_timeout),
                stream=stream,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            failure = CmsError(f"CMS request {method} {redact_url(url)} failed: {error.__class__.__name__}")
        if failure is not None:
            # Raised outside the except block: requests' exception quotes the full URL and must not even
            # travel as __context__ into a traceback.
            raise failure
        if response.status_code == 404:
            response.close()
            raise CourseNotFoundError(f"the CMS has nothing at {redact_url(url)} (HTTP 404)")
        if response.status_code in (401, 403) or response.is_redirect:
            response.close()
            raise CmsError(
                f"the CMS refused the credentials of its Connection for {method} {redact_url(url)} "
                f"(HTTP {response.status_code})"
            )
        if response.status_code >= 400:
            response.close()
            raise CmsError(f"CMS request {method} {redact_url(url)} failed with HTTP {response.status_code}")
        return response

    def _json(self, path: str) -> Any:
        response = self._request("GET", path, stream=True)
        with response:
            body = _bounded(response, MAX_JSON_BYTES, what=f"JSON from {redact_url(response.url)}")
        try:
            return json.loads(body)
        except ValueError:
            raise CmsError(f"the CMS answered {redact_url(response.url)} with something that is not JSON") from None

    # -- API ---------------------------------------------------------------------------------------------------

    def retirement_queue(self) -> list[str]:
        """Course ids scheduled for retirement, each validated."""
        payload = self._json("retirement_queue")
        courses = payload.get("courses") if isinstance(payload, dict) else None
        if not isinstance(courses, list):
            raise CmsError("the CMS retirement queue is not a JSON object with a 'courses' list")
        return [validate_course_id(entry["course_id"] if isinstance(entry, dict) else entry) for entry in courses]

    def course(self, course_id: str) -> Course:
        validate_course_id(course_id)
        payload = self._json(f"courses/{course_id}/resources.json")
        try:
            return course_from_json(payload, course_id)
        except (KeyError, TypeError) as error:
            raise CourseDataError(f"course {course_id}: unusable resource list ({error})") from None

    @contextlib.contextmanager
    def resource_chunks(self, course_id: str, name: str) -> Iterator[Iterable[bytes]]:
        validate_course_id(course_id)
        validate_member_name(name)
        response = self._request("GET", f"courses/{course_id}/files/{quote(name)}", stream=True)
        with response:
            yield _chunks(response)

    def resource_metadata(self, course_id: str, name: str, *, max_bytes: int) -> bytes:
        validate_course_id(course_id)
        validate_member_name(name)
        response = self._request("GET", f"courses/{course_id}/metadata/{quote(name)}.xml", stream=True)
        with response:
            return _bounded(response, max_bytes, what=f"metadata of {name!r}")

    def set_dspace_handle(self, course_id: str, handle: str) -> None:
        """Call the course's ``set_dspace_handle`` view with ``dspace_handle=hdl://<prefix>/<suffix>``."""
        validate_course_id(course_id)
        response = self._request(
            "POST", f"courses/{course_id}/set_dspace_handle", params={"dspace_handle": hdl_uri(handle)}
        )
        response.close()


def _chunks(response: requests.Response) -> Iterator[bytes]:
    failure = None
    try:
        yield from response.iter_content(CHUNK_BYTES)
    except requests.RequestException as error:
        failure = CmsError(f"download from {redact_url(response.url)} was cut off: {error.__class__.__name__}")
    if failure is not None:
        raise failure


class _RedactQueryStrings(logging.Filter):
    """Strip query strings from urllib3's request log lines (they carry the credentials in ``query`` style)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "__ac_" in message:
            record.msg, record.args = redact_query_strings(message), ()
        return True


_URLLIB3_FILTER = _RedactQueryStrings()


def _bounded(response: requests.Response, max_bytes: int, *, what: str) -> bytes:
    try:
        return read_bounded(_chunks(response), max_bytes=max_bytes, what=what)
    except ResponseTooLarge as error:
        raise CmsError(f"{error}; refused") from None
