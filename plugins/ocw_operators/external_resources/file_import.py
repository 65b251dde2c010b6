"""Load external resources into the archive DB from a CSV or JSON export (operators and the demo use it).

Columns / keys: ``site_name`` and ``url`` (required), ``content_uuid`` (optional: derived from site and URL so a
re-import is stable), ``site_short_id``, ``title``, ``has_external_license_warning``. A resource is its (site, URL)
(:mod:`ocw_operators.external_resources.identity`): a row for a (site, URL) already stored refreshes its descriptive
columns and keeps its UUID, check and Wayback state. A file with any invalid row, or with a ``content_uuid`` that
contradicts what is stored, is rejected as a whole, with every problem listed, so nothing is half-imported.
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ocw_operators.db.models import ExternalResource
from ocw_operators.db.models.external_resources import url_sha256
from ocw_operators.db.upsert import upsert
from ocw_operators.external_resources.identity import resource_uuid
from ocw_operators.params import parse_flag

DESCRIPTIVE_COLUMNS = ("site_short_id", "title", "has_external_license_warning")
LOOKUP_CHUNK = 500
MAX_URL_LENGTH = 4096


class ResourceImportError(ValueError):
    """The input file is unusable; ``problems`` lists every bad row."""

    def __init__(self, source: str, problems: list[str]):
        self.problems = problems
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{source}: {len(problems)} invalid row(s), nothing imported:\n  {shown}{more}")


@dataclass(frozen=True)
class ResourceRecord:
    content_uuid: str  # given in the file, else derived (used only when the resource is new)
    site_name: str
    url: str
    site_short_id: str = ""
    title: str = ""
    has_external_license_warning: bool = False
    content_uuid_given: bool = False


@dataclass
class ImportSummary:
    created_ids: list[int] = field(default_factory=list)
    updated: int = 0


def parse_record(raw: Mapping[str, Any]) -> ResourceRecord:
    site_name = str(raw.get("site_name") or "").strip()
    url = str(raw.get("url") or "").strip()
    if not site_name:
        raise ValueError("site_name is required")
    if not url:
        raise ValueError("url is required")
    if len(url) > MAX_URL_LENGTH or any(ch in url for ch in "\x00\r\n"):
        raise ValueError("url is too long or contains control characters")
    given = str(raw.get("content_uuid") or "").strip()
    content_uuid = given or resource_uuid(site_name, url)
    try:
        content_uuid = str(uuid.UUID(content_uuid))
    except ValueError as error:
        raise ValueError(f"content_uuid {content_uuid!r} is not a UUID") from error
    return ResourceRecord(
        content_uuid=content_uuid,
        site_name=site_name,
        url=url,
        site_short_id=str(raw.get("site_short_id") or "").strip(),
        title=str(raw.get("title") or "").strip(),
        has_external_license_warning=parse_flag(
            raw.get("has_external_license_warning", False), "has_external_license_warning"
        ),
        content_uuid_given=bool(given),
    )


def _raw_rows(path: Path) -> Iterable[Mapping[str, Any]]:
    if path.suffix.lower() == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise ResourceImportError(str(path), ["the JSON document must be a list of objects"])
        return data
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def read_records(path: Path) -> list[ResourceRecord]:
    """Parse and validate the whole file; raise :class:`ResourceImportError` listing every bad row."""
    records, problems = [], []
    seen_urls: dict[tuple[str, str], int] = {}
    seen_uuids: dict[tuple[str, str], int] = {}
    for number, raw in enumerate(_raw_rows(path), start=1):
        try:
            record = parse_record(raw)
        except ValueError as error:
            problems.append(f"row {number}: {error}")
            continue
        key, uuid_key = (record.site_name, record.url), (record.site_name, record.content_uuid)
        if key in seen_urls:
            problems.append(f"row {number}: duplicate resource: same site_name and url as row {seen_urls[key]}")
            continue
        if uuid_key in seen_uuids:
            problems.append(
                f"row {number}: duplicate content_uuid in the site (first seen in row {seen_uuids[uuid_key]})"
            )
            continue
        seen_urls[key], seen_uuids[uuid_key] = number, number
        records.append(record)
    if problems:
        raise ResourceImportError(str(path), problems)
    return records


def import_records(session: Session, records: Iterable[ResourceRecord]) -> ImportSummary:
    """Upsert by (site, URL): descriptive columns are refreshed; the UUID, check and Wayback state are kept.

    Raises :class:`ResourceImportError` before writing anything when a record's ``content_uuid`` contradicts the
    archive DB: its (site, URL) is stored under another UUID, or its UUID names another URL of the site.
    """
    records = list(records)
    if not records:
        return ImportSummary()
    stored = _stored_resources(session, records)
    by_url = {(row.site_name, row.url_sha256): row for row in stored}
    by_uuid = {(row.site_name, row.content_uuid): row for row in stored}
    problems = []
    for record in records:
        same_url = by_url.get((record.site_name, url_sha256(record.url)))
        same_uuid = by_uuid.get((record.site_name, record.content_uuid))
        if same_url is not None and record.content_uuid_given and same_url.content_uuid != record.content_uuid:
            problems.append(
                f"{record.site_name} {record.url}: stored as resource {same_url.content_uuid}, "
                f"not {record.content_uuid}"
            )
        elif same_url is None and same_uuid is not None:
            problems.append(
                f"{record.site_name} {record.url}: content_uuid {record.content_uuid} already names "
                f"{same_uuid.url} in this site (a resource's URL is its identity and does not change)"
            )
    if problems:
        raise ResourceImportError("the archive DB", problems)
    rows = [
        {
            "content_uuid": record.content_uuid,
            "site_name": record.site_name,
            "site_short_id": record.site_short_id,
            "title": record.title,
            "url": record.url,
            "url_sha256": url_sha256(record.url),
            "has_external_license_warning": record.has_external_license_warning,
        }
        for record in records
    ]
    upsert(
        session,
        ExternalResource,
        rows,
        conflict_columns=["site_name", "url_sha256"],
        update_columns=DESCRIPTIVE_COLUMNS,
    )
    existing = {(row.site_name, row.url_sha256) for row in stored}
    created = [record for record in records if (record.site_name, url_sha256(record.url)) not in existing]
    created_ids = sorted(row.id for row in _stored_resources(session, created))
    return ImportSummary(created_ids=created_ids, updated=len(records) - len(created))


def _stored_resources(session: Session, records: list[ResourceRecord]) -> list[Any]:
    """Stored rows with the (site, URL) or the (site, UUID) of any record."""
    table = ExternalResource.__table__
    columns = (table.c.id, table.c.site_name, table.c.url, table.c.url_sha256, table.c.content_uuid)
    by_site: dict[str, list[ResourceRecord]] = {}
    for record in records:
        by_site.setdefault(record.site_name, []).append(record)
    found: dict[int, Any] = {}
    for site, site_records in by_site.items():
        for start in range(0, len(site_records), LOOKUP_CHUNK):
            chunk = site_records[start : start + LOOKUP_CHUNK]
            digests = [url_sha256(record.url) for record in chunk]
            uuids = [record.content_uuid for record in chunk]
            statement = select(*columns).where(
                table.c.site_name == site, or_(table.c.url_sha256.in_(digests), table.c.content_uuid.in_(uuids))
            )
            found.update({row.id: row for row in session.execute(statement)})
    return list(found.values())
