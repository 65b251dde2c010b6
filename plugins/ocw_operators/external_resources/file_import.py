"""Load external resources into the archive DB from a CSV or JSON export (operators and the demo use it).

Columns / keys: ``site_name`` and ``url`` (required), ``content_uuid`` (optional: derived from site and URL so a
re-import is stable), ``site_short_id``, ``title``, ``has_external_license_warning``. A file with any invalid row is
rejected as a whole, with every problem listed, so nothing is half-imported.
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ocw_operators.db.models import ExternalResource
from ocw_operators.db.upsert import upsert

DESCRIPTIVE_COLUMNS = ("site_name", "site_short_id", "title", "url", "has_external_license_warning")
MAX_URL_LENGTH = 4096
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


class ResourceImportError(ValueError):
    """The input file is unusable; ``problems`` lists every bad row."""

    def __init__(self, source: str, problems: list[str]):
        self.problems = problems
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{source}: {len(problems)} invalid row(s), nothing imported:\n  {shown}{more}")


@dataclass(frozen=True)
class ResourceRecord:
    content_uuid: str
    site_name: str
    url: str
    site_short_id: str = ""
    title: str = ""
    has_external_license_warning: bool = False


@dataclass
class ImportSummary:
    created_ids: list[int] = field(default_factory=list)
    updated: int = 0


def stable_uuid(site_name: str, url: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{site_name}\n{url}"))


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def parse_record(raw: Mapping[str, Any]) -> ResourceRecord:
    site_name = str(raw.get("site_name") or "").strip()
    url = str(raw.get("url") or "").strip()
    if not site_name:
        raise ValueError("site_name is required")
    if not url:
        raise ValueError("url is required")
    if len(url) > MAX_URL_LENGTH or any(ch in url for ch in "\x00\r\n"):
        raise ValueError("url is too long or contains control characters")
    content_uuid = str(raw.get("content_uuid") or "").strip() or stable_uuid(site_name, url)
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
        has_external_license_warning=_as_bool(raw.get("has_external_license_warning", False)),
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
    records, problems, seen = [], [], {}
    for number, raw in enumerate(_raw_rows(path), start=1):
        try:
            record = parse_record(raw)
        except ValueError as error:
            problems.append(f"row {number}: {error}")
            continue
        if record.content_uuid in seen:
            problems.append(f"row {number}: duplicate content_uuid (first seen in row {seen[record.content_uuid]})")
            continue
        seen[record.content_uuid] = number
        records.append(record)
    if problems:
        raise ResourceImportError(str(path), problems)
    return records


def import_records(session: Session, records: Iterable[ResourceRecord]) -> ImportSummary:
    """Upsert by ``content_uuid``: descriptive columns are refreshed; check and Wayback state are kept."""
    rows = [asdict(record) for record in records]
    if not rows:
        return ImportSummary()
    uuids = [row["content_uuid"] for row in rows]
    existing = set(
        session.scalars(select(ExternalResource.content_uuid).where(ExternalResource.content_uuid.in_(uuids)))
    )
    upsert(session, ExternalResource, rows, conflict_columns=["content_uuid"], update_columns=DESCRIPTIVE_COLUMNS)
    new_uuids = [value for value in uuids if value not in existing]
    created_ids = list(
        session.scalars(
            select(ExternalResource.id)
            .where(ExternalResource.content_uuid.in_(new_uuids))
            .order_by(ExternalResource.id)
        )
    )
    return ImportSummary(created_ids=created_ids, updated=len(existing))
