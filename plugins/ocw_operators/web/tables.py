"""Tables of the Archive pages: columns, sorting, paging over an indexed order, and CSV streamed from a cursor.

A :class:`Table` names its columns and builds one SQL SELECT from the page's filters. The HTML page reads one page
of it (``LIMIT page_size + 1 OFFSET n`` under an ORDER BY on an indexed column plus the row key, so the database
walks the index and stops); the CSV download runs the same SELECT without a limit and writes it out in chunks from
a server-side cursor, so memory stays flat whatever the table's size.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select

PAGE_SIZE = 50
CSV_CHUNK_ROWS = 1000
MAX_PAGE = 100_000

Row = Mapping[str, Any]
Filters = Mapping[str, str]


def plain(value: Any) -> str:
    """A cell's text: times in UTC to the second, None as empty."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@dataclass(frozen=True)
class Column:
    """One column: ``key`` is the SELECT's label; ``sort`` makes it sortable; ``html`` renders a cell (escaped
    text of the value by default); ``csv`` gives the CSV value (the plain value by default)."""

    key: str
    label: str
    sort: ColumnElement | None = None
    html: Callable[[Row], str] | None = None
    csv: Callable[[Row], Any] | None = None
    numeric: bool = False
    csv_only: bool = False  # in the CSV, not on the page (the page shows it inside another cell)
    css: str = ""  # the cell's class on the page (see render.CSS)
    page_only: bool = False  # shown on the page only (the CSV has its parts as columns of their own)


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    columns: Sequence[Column]
    query: Callable[[Filters], Select]
    default_sort: str
    # The row key: appended to every ORDER BY so pages never overlap or skip rows with equal sort values.
    tiebreak: Sequence[ColumnElement]
    page_size: int = PAGE_SIZE
    empty: str = "Nothing to show."
    note: str = ""
    # Adds what a second, bounded query knows to a page's (or a CSV chunk's) rows, e.g. a link's referencing pages.
    enrich: Callable[[Engine, list[dict]], None] | None = None

    def sort_keys(self) -> set[str]:
        return {column.key for column in self.columns if column.sort is not None}

    def parse_sort(self, raw: str | None) -> tuple[str, bool]:
        """``(column key, descending)`` from ``key`` or ``-key``; unknown keys fall back to the default."""
        value = (raw or "").strip()
        if value.lstrip("-") not in self.sort_keys():
            value = self.default_sort
        return value.lstrip("-"), value.startswith("-")

    def ordered(self, filters: Filters, sort: str | None) -> Select:
        key, descending = self.parse_sort(sort)
        column = next(column for column in self.columns if column.key == key)
        expression = column.sort.desc() if descending else column.sort.asc()
        tiebreak = [part.desc() if descending else part.asc() for part in self.tiebreak]
        return self.query(filters).order_by(expression, *tiebreak)


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    number: int  # 0-based
    has_next: bool
    sort: str
    descending: bool


def parse_page(raw: str | None) -> int:
    try:
        return min(max(int(raw or 0), 0), MAX_PAGE)
    except ValueError:
        return 0


def fetch_page(engine: Engine, table: Table, filters: Filters, sort: str | None, page: int) -> Page:
    key, descending = table.parse_sort(sort)
    statement = table.ordered(filters, sort).limit(table.page_size + 1).offset(page * table.page_size)
    with engine.connect() as connection:
        rows = [dict(row._mapping) for row in connection.execute(statement)]
    rows = rows[: table.page_size + 1]
    if table.enrich:
        table.enrich(engine, rows[: table.page_size])
    return Page(rows[: table.page_size], page, len(rows) > table.page_size, key, descending)


def fetch_all(engine: Engine, statement: Select) -> list[Row]:
    """A small, bounded SELECT (summaries, a chart's points) as dicts."""
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(statement)]


def csv_value(column: Column, row: Row) -> str:
    value = column.csv(row) if column.csv else row.get(column.key)
    text = plain(value)
    # A cell starting with = + - @ would be a formula in a spreadsheet: prefix it so it stays text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not column.numeric else text


def stream_csv(engine: Engine, table: Table, filters: Filters, sort: str | None) -> Iterator[str]:
    """The whole table as CSV text chunks, read through a server-side cursor (PostgreSQL) or SQLite's stepping
    cursor, ``CSV_CHUNK_ROWS`` rows at a time."""
    statement = table.ordered(filters, sort)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    columns = [column for column in table.columns if not column.page_only]
    writer.writerow([column.label for column in columns])
    yield buffer.getvalue()
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=CSV_CHUNK_ROWS).execute(statement)
        for chunk in result.mappings().partitions(CSV_CHUNK_ROWS):
            buffer.seek(0)
            buffer.truncate()
            rows = [dict(row) for row in chunk]
            if table.enrich:
                table.enrich(engine, rows)
            for row in rows:
                writer.writerow([csv_value(column, row) for column in columns])
            yield buffer.getvalue()
