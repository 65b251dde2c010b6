"""DSpace OAI-PMH harvest state: harvested items by handle, per-scope watermarks and harvest runs."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Boolean, DateTime, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from ocw_operators.db.base import Base, TimestampMixin


class HarvestMode(StrEnum):
    INCREMENTAL = "incremental"  # from the scope's watermark (minus an overlap) to now
    FULL = "full"  # the whole list, no from/until; also detects expunged items
    WINDOW = "window"  # explicit from/until (backfills); never moves the watermark


class HarvestRunStatus(StrEnum):
    RUNNING = "running"  # pages are being committed; resumption_token is where to continue
    COMPLETE = "complete"
    ABANDONED = "abandoned"  # superseded by a harvest with other bounds before it finished


class OaiHarvestedItem(TimestampMixin, Base):
    """The latest state DSpace's OAI-PMH endpoint published for one item (upserted by handle)."""

    __tablename__ = "oai_harvested_item"

    handle: Mapped[str] = mapped_column(String(255), primary_key=True)
    oai_identifier: Mapped[str] = mapped_column(String(512), nullable=False)
    datestamp: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # Space-delimited with a leading and trailing space (" col_1721.1_33971 com_1721.1_1 ") so a set is
    # matched with LIKE '% <spec> %' on every dialect.
    set_specs: Mapped[str] = mapped_column(Text, nullable=False, default=" ", server_default=" ")
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    identifier_uri: Mapped[str | None] = mapped_column(Text)
    # identifier_uri normalised for lookups (no scheme, lower-case host, no trailing slash).
    identifier_key: Mapped[str | None] = mapped_column(String(1024), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    last_harvest_run_id: Mapped[int | None] = mapped_column(Integer, index=True)
    last_harvested_on: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # Set when a complete full re-harvest no longer lists the item and GetRecord confirms it is gone: DSpace
    # expunged it (transient deletion leaves no deleted header behind).
    vanished_on: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    def __repr__(self) -> str:
        flags = " deleted" if self.deleted else ""
        return f"<OaiHarvestedItem {self.handle} {self.datestamp:%Y-%m-%dT%H:%M:%SZ}{flags}>"


class OaiHarvestState(TimestampMixin, Base):
    """Per (endpoint, set, metadataPrefix): where the next incremental harvest starts."""

    __tablename__ = "oai_harvest_state"

    endpoint: Mapped[str] = mapped_column(String(512), primary_key=True)
    set_spec: Mapped[str] = mapped_column(String(255), primary_key=True)  # "" = the whole repository
    metadata_prefix: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The newest datestamp of a completely harvested incremental/full list; the next `from` (minus overlap).
    watermark: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    granularity: Mapped[str] = mapped_column(String(32), nullable=False, default="", server_default="")
    last_complete_run_id: Mapped[int | None] = mapped_column(Integer)


class OaiHarvestRun(TimestampMixin, Base):
    """One harvest of one list; committed page by page so an interrupted harvest resumes where it stopped."""

    __tablename__ = "oai_harvest_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    endpoint: Mapped[str] = mapped_column(String(512), nullable=False)
    set_spec: Mapped[str] = mapped_column(String(255), nullable=False)
    metadata_prefix: Mapped[str] = mapped_column(String(64), nullable=False)
    verb: Mapped[str] = mapped_column(String(32), nullable=False)
    mode: Mapped[str] = mapped_column(String(16), nullable=False)
    from_datestamp: Mapped[str] = mapped_column(String(32), nullable=False, default="", server_default="")
    until_datestamp: Mapped[str] = mapped_column(String(32), nullable=False, default="", server_default="")
    status: Mapped[str] = mapped_column(
        String(16), nullable=False, default=HarvestRunStatus.RUNNING, server_default="running", index=True
    )
    # The token of the next page to fetch (None before the first page and after the last).
    resumption_token: Mapped[str | None] = mapped_column(Text)
    pages: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    records: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    deleted_records: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    rejected_records: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    restarts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    max_datestamp: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    complete_list_size: Mapped[int | None] = mapped_column(Integer)
    vanished_items: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    airflow_run_id: Mapped[str | None] = mapped_column(String(250), index=True)
    finished_on: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    def __repr__(self) -> str:
        return f"<OaiHarvestRun {self.id} {self.mode} {self.status} pages={self.pages} records={self.records}>"
