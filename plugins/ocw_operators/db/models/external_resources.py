"""External resources (links in course sites) with their link-check and Wayback Machine state, and which course
content references them.

Field names and status values follow ocw-studio's ``ExternalResourceState`` so operators and reports
translate one to one. A resource is content of one site, identified by (site, exact URL) as in ocw-studio
(:mod:`ocw_operators.external_resources.identity`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from ocw_operators.db.base import Base, TimestampMixin, UTCDateTime

# Relative paths longer than this are rejected by the importer (keeps the unique index within
# PostgreSQL's btree row limit even for multi-byte paths).
SOURCE_PATH_MAX_LEN = 512


def url_sha256(url: str) -> str:
    """Fixed-length key of a URL for the (site, URL) unique index: URLs of up to 4,096 characters do not fit in a
    PostgreSQL btree index entry (about 2,700 bytes), their SHA-256 does."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def _url_sha256_of_row(context: Any) -> str:
    return url_sha256(context.get_current_parameters()["url"])


class ResourceStatus(StrEnum):
    UNCHECKED = "unchecked"
    VALID = "valid"
    BROKEN = "broken"
    CHECK_FAILED = "check_failed"


class WaybackStatus(StrEnum):
    NONE = ""
    PENDING = "pending"
    SUCCESS = "success"
    ERROR = "error"


class ExternalResource(TimestampMixin, Base):
    __tablename__ = "external_resource"
    __table_args__ = (
        # The Archive link-health page counts per site, status and Wayback state from this index alone.
        Index("ix_external_resource_site_health", "site_name", "status", "wayback_status"),
        # One resource per (site, URL). The URL is the resource's identity and is never updated: a changed link
        # is another resource.
        UniqueConstraint("site_name", "url_sha256", name="uq_external_resource_site_url"),
        # ocw-studio's text_id is unique within its website only: a course's pages name the resource by it.
        UniqueConstraint("site_name", "content_uuid", name="uq_external_resource_site_content_uuid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    content_uuid: Mapped[str] = mapped_column(String(36), nullable=False)
    site_name: Mapped[str] = mapped_column(String(255), index=True, nullable=False)
    site_short_id: Mapped[str] = mapped_column(String(255), nullable=False, default="", server_default="")
    title: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    url: Mapped[str] = mapped_column(Text, nullable=False)
    # Filled from ``url`` on insert (a row inserted without it gets it computed).
    url_sha256: Mapped[str] = mapped_column(String(64), nullable=False, default=_url_sha256_of_row)
    has_external_license_warning: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )

    # Link check (written only by the checker).
    status: Mapped[str] = mapped_column(
        String(16), nullable=False, default=ResourceStatus.UNCHECKED, server_default="unchecked", index=True
    )
    external_url_response_code: Mapped[int | None] = mapped_column(Integer)
    check_error: Mapped[str] = mapped_column(String(255), nullable=False, default="", server_default="")
    last_checked: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The Airflow run id of the link check that wrote the status (the run tab lists a run's outcomes by it), and
    # when the link was first found broken in its current broken spell (cleared once it checks valid again).
    last_check_run: Mapped[str] = mapped_column(String(250), nullable=False, default="", server_default="", index=True)
    first_broken_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    # Wayback Machine (written only by submission and status polling).
    wayback_job_id: Mapped[str] = mapped_column(String(255), nullable=False, default="", server_default="")
    wayback_status: Mapped[str] = mapped_column(
        String(16), nullable=False, default=WaybackStatus.NONE, server_default="", index=True
    )
    wayback_status_ext: Mapped[str] = mapped_column(String(128), nullable=False, default="", server_default="")
    wayback_url: Mapped[str] = mapped_column(String(800), nullable=False, default="", server_default="")
    wayback_http_status: Mapped[int | None] = mapped_column(Integer)
    wayback_submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    wayback_last_successful_submission: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The Airflow run id of the submission that claimed the resource last.
    wayback_submit_run: Mapped[str] = mapped_column(
        String(250), nullable=False, default="", server_default="", index=True
    )

    # Set by the markdown import. ``filename`` is the slug of the
    # resource's page in a course site (``content/external-resources/<filename>.md``); ``created_by_run`` is the
    # Airflow run id (or CLI run id) that inserted the row, never updated, so a retried run can still announce
    # every resource it created.
    filename: Mapped[str] = mapped_column(String(255), nullable=False, default="", server_default="")
    created_by_run: Mapped[str] = mapped_column(String(250), nullable=False, default="", server_default="", index=True)

    def __repr__(self) -> str:
        return f"<ExternalResource {self.id} {self.site_name} {self.url!r} {self.status}>"


class ReferenceSourceKind(StrEnum):
    PAGE = "page"  # a content file: its body or one of its front matter fields
    MENU = "menu"  # config/_default/menus.yaml
    METADATA = "metadata"  # data/course.json (the course description)


class ExternalResourceReference(TimestampMixin, Base):
    """One row per (resource, site, source file): a page under ``content/``, the site's navigation menu file or its
    metadata file ``data/course.json`` (written by the markdown import). ``site_name`` is the resource's own site: a
    page names only its site's resources, so the same URL on pages of two courses is two resources with a reference
    each."""

    __tablename__ = "external_resource_reference"
    __table_args__ = (UniqueConstraint("resource_id", "site_name", "source_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("external_resource.id", ondelete="CASCADE"), index=True, nullable=False
    )
    site_name: Mapped[str] = mapped_column(String(255), index=True, nullable=False)
    # Path of the referencing file relative to the site folder, e.g. ``content/pages/syllabus.md``.
    source_path: Mapped[str] = mapped_column(String(SOURCE_PATH_MAX_LEN), nullable=False)
    # The page's ``uid`` from its front matter ("" for menus and pages without one).
    source_uid: Mapped[str] = mapped_column(String(64), nullable=False, default="", server_default="")
    source_kind: Mapped[str] = mapped_column(String(16), nullable=False)

    def __repr__(self) -> str:
        return f"<ExternalResourceReference {self.resource_id} {self.site_name}:{self.source_path}>"


class LinkCheckRun(Base):
    """The outcome of one link-check run (the trend of broken links per run on the Archive link-health page)."""

    __tablename__ = "link_check_run"

    dag_id: Mapped[str] = mapped_column(String(250), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(250), primary_key=True)
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    checked: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    valid: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    broken: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    check_failed: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    # Every broken resource in the archive once the run finished (not only those this run checked).
    broken_total: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
