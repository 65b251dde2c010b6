"""The harvested-record model and the OAI-PMH rules for identifiers, handles and datestamps."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

# A DSpace handle is "<prefix>/<suffix>", e.g. "1721.1/33971"; anything else is refused rather than stored.
HANDLE_PATTERN = re.compile(r"^[0-9][0-9.]*/[A-Za-z0-9._-]+$")
# The two OAI-PMH granularities: YYYY-MM-DD and YYYY-MM-DDThh:mm:ssZ (UTC).
_DATESTAMP_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?$")
# DSpace identifiers are "oai:<identifier prefix (host)>:<handle>".
OAI_IDENTIFIER_PATTERN = re.compile(r"^oai:(?P<host>[A-Za-z0-9.-]+):(?P<handle>.+)$")


class Granularity(StrEnum):
    """The two datestamp granularities OAI-PMH 2.0 allows (Identify/granularity)."""

    DAY = "YYYY-MM-DD"
    SECOND = "YYYY-MM-DDThh:mm:ssZ"


class OaiRecordError(ValueError):
    """A record from the repository does not follow the rules (bad identifier, datestamp, handle)."""


@dataclass(frozen=True, slots=True)
class OaiRecord:
    """One harvested item: header fields plus the two Dublin Core values the pipelines need.

    ``identifier_uri`` (dc.identifier.uri) and ``title`` are None for deleted records, whose OAI header
    carries no metadata.
    """

    oai_identifier: str
    handle: str
    datestamp: dt.datetime
    set_specs: tuple[str, ...]
    deleted: bool
    identifier_uri: str | None = None
    title: str | None = None


def handle_from_identifier(oai_identifier: str) -> str:
    """``oai:dspace.mit.edu:1721.1/12345`` -> ``1721.1/12345``; a clear error for anything else."""
    match = OAI_IDENTIFIER_PATTERN.match(oai_identifier or "")
    if match is None:
        raise OaiRecordError(f"OAI identifier {oai_identifier!r} is not of the DSpace form oai:<host>:<handle>")
    handle = match.group("handle")
    if not HANDLE_PATTERN.match(handle):
        raise OaiRecordError(f"OAI identifier {oai_identifier!r} does not end in a DSpace handle")
    return handle


def parse_datestamp(value: str) -> dt.datetime:
    """Parse an OAI datestamp of either granularity into an aware UTC datetime."""
    text = (value or "").strip()
    if not _DATESTAMP_PATTERN.match(text):
        raise OaiRecordError(f"datestamp {value!r} is not an OAI-PMH UTC datestamp")
    try:
        # fromisoformat is an order of magnitude faster than strptime; the pattern keeps it strict.
        moment = dt.datetime.fromisoformat(text[:-1] if text.endswith("Z") else text)
    except ValueError as error:
        raise OaiRecordError(f"datestamp {value!r} is not a valid date") from error
    return moment.replace(tzinfo=dt.UTC)


def format_datestamp(moment: dt.datetime, granularity: Granularity | str) -> str:
    """Render ``moment`` (aware; converted to UTC) at the repository's granularity.

    Day granularity truncates to the date, so a ``from`` bound moves earlier (more overlap, nothing lost).
    """
    if moment.tzinfo is None:
        raise ValueError("datestamps must be timezone-aware")
    utc = moment.astimezone(dt.UTC)
    if Granularity(granularity) is Granularity.DAY:
        return utc.strftime("%Y-%m-%d")
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def inclusive_until(exclusive_end: dt.datetime, granularity: Granularity | str) -> dt.datetime:
    """The last instant OAI's inclusive ``until`` may name for a half-open interval ``[start, exclusive_end)``.

    An Airflow data interval ends exclusively; OAI ``until`` is inclusive, so at second granularity the bound
    is one second earlier and at day granularity the previous day (the ``from`` of the next interval covers
    the rest; a day-granular repository cannot express anything finer).
    """
    step = dt.timedelta(days=1) if Granularity(granularity) is Granularity.DAY else dt.timedelta(seconds=1)
    return exclusive_end - step


def uri_key(uri: str | None) -> str | None:
    """A lookup key for a dc.identifier.uri that survives the usual rewrites of the same address.

    The scheme is dropped (OCW's DSpace items were bulk-rewritten from http:// to https://), the host is
    lower-cased, a ``www.`` prefix and a trailing slash are removed; path and query are kept as they are.
    """
    if not uri or not uri.strip():
        return None
    parts = urlsplit(uri.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return uri.strip()
    host = parts.hostname.lower().removeprefix("www.")
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    key = host + parts.path.rstrip("/")
    return f"{key}?{parts.query}" if parts.query else key
