"""What an import did (or would do): one CSV row per link or menu item considered, plus a per-site summary."""

from __future__ import annotations

import csv
import dataclasses
import io
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from ocw_operators.external_resources.fsutil import atomic_write_text

# Spreadsheet programs execute cells starting with these; link texts and titles come from course authors.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MAX_SUMMARY_LIST = 50


class ResourceAction(StrEnum):
    CREATED = "created"
    WOULD_CREATE = "would_create"
    REUSED = "reused"
    LOADED = "loaded"  # an external-resource page the site already had, new to the archive DB
    WOULD_LOAD = "would_load"
    NONE = ""


class SiteStatus(StrEnum):
    PROCESSED = "processed"
    SKIPPED = "skipped"
    ERROR = "error"


@dataclass
class ReportRow:
    site_name: str
    site_short_id: str = ""
    rule: str = ""
    source_path: str = ""
    source_uid: str = ""
    field: str = ""  # ocw-studio's name of the converted field: markdown, metadata.description, ...
    line: int | None = None
    original: str = ""
    replacement: str = ""
    url: str = ""
    resource_uuid: str = ""
    resource_filename: str = ""
    has_external_license_warning: bool | None = None
    resource_action: ResourceAction = ResourceAction.NONE
    note: str = ""


CSV_COLUMNS = [f.name for f in dataclasses.fields(ReportRow)]


@dataclass
class SiteOutcome:
    name: str
    status: SiteStatus
    reason: str = ""
    links_converted: int = 0
    nav_items_converted: int = 0
    files_rewritten: int = 0
    commit: str = ""  # the git commit of the files written, when the site is a git checkout


@dataclass
class ImportReport:
    run_id: str
    commit: bool
    rows: list[ReportRow] = field(default_factory=list)
    sites: list[SiteOutcome] = field(default_factory=list)
    csv_path: str = ""

    @property
    def errors(self) -> list[SiteOutcome]:
        return [site for site in self.sites if site.status is SiteStatus.ERROR]

    def count_actions(self, action: ResourceAction) -> int:
        return sum(1 for row in self.rows if row.resource_action is action)

    def summary(self) -> dict[str, Any]:
        """Small, JSON-serializable overview (the operator's XCom; lists are capped)."""
        processed = [site for site in self.sites if site.status is SiteStatus.PROCESSED]
        skipped = [site for site in self.sites if site.status is SiteStatus.SKIPPED]
        return {
            "run_id": self.run_id,
            "commit": self.commit,
            "sites_processed": len(processed),
            "sites_skipped": [{"site": s.name, "reason": s.reason} for s in skipped[:MAX_SUMMARY_LIST]],
            "site_errors": [{"site": s.name, "error": s.reason} for s in self.errors[:MAX_SUMMARY_LIST]],
            "links_converted": sum(site.links_converted for site in processed),
            "nav_items_converted": sum(site.nav_items_converted for site in processed),
            "files_rewritten": sum(site.files_rewritten for site in processed),
            "commits": {site.name: site.commit for site in self.sites if site.commit},
            "resources_created": self.count_actions(ResourceAction.CREATED),
            "resources_would_create": self.count_actions(ResourceAction.WOULD_CREATE),
            "references_to_existing_resources": self.count_actions(ResourceAction.REUSED),
            "resources_loaded": self.count_actions(ResourceAction.LOADED),
            "resources_would_load": self.count_actions(ResourceAction.WOULD_LOAD),
            "csv": self.csv_path,
        }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def render_csv(rows: list[ReportRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_cell(getattr(row, column)) for column in CSV_COLUMNS])
    return buffer.getvalue()


def write_csv(path: Path, rows: list[ReportRow]) -> None:
    """Write the report atomically (a half-written CSV never replaces a previous one)."""
    atomic_write_text(path, render_csv(rows))
