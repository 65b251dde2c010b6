"""Which course content references which external resource (written by the markdown import).

One row per (resource, site, source file): a page under ``content/`` or the site's navigation menu file. The
same URL used on many pages or courses shares one resource and gets one row per referencing file.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ocw_operators.db.base import Base, TimestampMixin

# Relative paths longer than this are rejected by the importer (keeps the unique index within
# PostgreSQL's btree row limit even for multi-byte paths).
SOURCE_PATH_MAX_LEN = 512


class ReferenceSourceKind(StrEnum):
    PAGE = "page"
    MENU = "menu"


class ExternalResourceReference(TimestampMixin, Base):
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
