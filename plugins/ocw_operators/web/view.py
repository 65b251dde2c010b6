"""What every Archive page gets: the archive DB, the request's parameters, where things live, the user's rights."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from ocw_operators.web.render import table_html
from ocw_operators.web.tables import Table, fetch_page, parse_page

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class View:
    engine: Engine
    params: Mapping[str, str]
    base: str  # this app's path, e.g. /archive
    ui: str  # the Airflow UI's path prefix ("" at the server root)
    user: Any
    csrf: str = ""
    can_edit: bool = False

    def filters(self, *names: str) -> dict[str, str]:
        return {name: self.params.get(name, "").strip() for name in names if self.params.get(name, "").strip()}

    def section(self, table: Table, filters: Mapping[str, str]) -> str:
        """The table's current page (its sort and page number from ``<name>.sort`` / ``<name>.page``) as HTML."""
        sort, number = self.params.get(f"{table.name}.sort"), parse_page(self.params.get(f"{table.name}.page"))
        return table_html(table, fetch_page(self.engine, table, filters, sort, number), self.params)


SETTING_TTL_S = 60.0
_settings_read: dict[str, tuple[float, Any]] = {}


def read_setting(name: str) -> Any:
    """A registered setting as the API server sees it, read at most once a minute per process, so a page view costs
    no Variable lookup."""
    from ocw_operators.settings import server_setting  # noqa: PLC0415

    cached = _settings_read.get(name)
    if cached and time.monotonic() - cached[0] < SETTING_TTL_S:
        return cached[1]
    value = server_setting(name)
    _settings_read[name] = (time.monotonic(), value)
    return value


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
