"""Tivoli archive log, load batches, per-volume tracking status and the cross-worker lease.

``tivoli_file_log`` follows SobekCM's ``Tivoli_File_Log`` (BibID, VID, Folder, FileName, Original_FileName,
Size, LastWriteDate, ArchiveDate, SHA1) and adds what crash safety needs: each row is written as a durable
intent (``pending``) *before* its file moves, becomes ``staged`` once the file is in the staging area, and
``archived`` once a load reports it sent to Tivoli.

``tivoli_held_volume`` lists the volumes the preparation could not stage (a folder that cannot be moved, a
full staging area, an I/O error) with the reason; the other volumes are staged regardless, and every run tries
a held volume again until it stages.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ocw_operators.db.base import Base, utcnow

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a real BIGINT.
BigIntegerId = BigInteger().with_variant(Integer(), "sqlite")


class FileState(StrEnum):
    PENDING = "pending"  # intent written; the file may still be in the dropbox
    STAGED = "staged"  # in the staging area, waiting for the nightly load
    ARCHIVED = "archived"  # reported sent by dsmc; deleted from staging


class LoadStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"  # some files archived, some reported failed
    FAILED = "failed"  # nothing deleted
    EMPTY = "empty"  # nothing staged; dsmc not run


class VolumeStatus(StrEnum):
    STAGED = "staged_for_tivoli"
    ARCHIVED = "archived_to_tivoli"  # "some portion of the digital resource was archived into TIVOLI"


class TivoliLoadBatch(Base):
    """One nightly run of the archive command over the staging area."""

    __tablename__ = "tivoli_load_batch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_key: Mapped[str] = mapped_column(String(250), unique=True, nullable=False)
    description: Mapped[str] = mapped_column(String(255), nullable=False)
    staging_root: Mapped[str] = mapped_column(Text, nullable=False)
    command: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=LoadStatus.RUNNING)
    return_code: Mapped[int | None] = mapped_column(Integer)
    files_reported: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    files_archived: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    files_deleted: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    bytes_archived: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    message: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class TivoliFileLog(Base):
    """Every file prepared for Tivoli: the local log that enables retrieval and avoids double archiving."""

    __tablename__ = "tivoli_file_log"
    __table_args__ = (
        # One row per archived name of a volume folder: a changed file gets a new (dated) name, so a second
        # row with the same name would be a file logged twice.
        UniqueConstraint("bibid", "vid", "folder", "file_name", name="uq_tivoli_file_log_name"),
        Index("ix_tivoli_file_log_volume", "bibid", "vid"),
        Index("ix_tivoli_file_log_state", "state"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    bibid: Mapped[str] = mapped_column(String(10), nullable=False)
    vid: Mapped[str] = mapped_column(String(5), nullable=False)
    folder: Mapped[str] = mapped_column(String(250), nullable=False, default="", server_default="")
    file_name: Mapped[str] = mapped_column(String(255), nullable=False)
    original_name: Mapped[str] = mapped_column(String(255), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_write_date: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    archive_date: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    sha1: Mapped[str] = mapped_column(String(40), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=FileState.PENDING)
    source_path: Mapped[str] = mapped_column(Text, nullable=False)  # relative to the dropbox, at prep time
    staging_path: Mapped[str] = mapped_column(Text, nullable=False)  # relative to the staging root
    prep_run: Mapped[str] = mapped_column(String(250), nullable=False)
    # The Airflow run id of the preparation that staged the file (``prep_run`` names its task try).
    prep_run_id: Mapped[str] = mapped_column(String(250), nullable=False, default="", server_default="", index=True)
    load_batch_id: Mapped[int | None] = mapped_column(ForeignKey("tivoli_load_batch.id"), index=True)

    def __repr__(self) -> str:
        return f"<TivoliFileLog {self.bibid}_{self.vid} {self.folder}/{self.file_name} {self.state}>"


class TivoliVolumeStatus(Base):
    """Tracking status per volume: some portion staged for, or archived to, Tivoli."""

    __tablename__ = "tivoli_volume_status"

    bibid: Mapped[str] = mapped_column(String(10), primary_key=True)
    vid: Mapped[str] = mapped_column(String(5), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    files_staged: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    files_archived: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    bytes_archived: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    last_staged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_archived_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class TivoliHeldVolume(Base):
    """A volume the preparation could not stage, with why; ``released_at`` is set once a later run staged it.

    One row per volume, kept after its release as the last episode's history: a volume held again later
    reopens its row (first seen, attempts and reason start over).
    """

    __tablename__ = "tivoli_held_volume"

    bibid: Mapped[str] = mapped_column(String(10), primary_key=True)
    vid: Mapped[str] = mapped_column(String(5), primary_key=True)
    folder: Mapped[str] = mapped_column(Text, nullable=False)  # relative to the dropbox
    reason: Mapped[str] = mapped_column(Text, nullable=False)  # a sentence for the operator
    error_code: Mapped[str] = mapped_column(String(16), nullable=False, default="", server_default="")  # ENOSPC
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")
    first_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_run: Mapped[str] = mapped_column(String(250), nullable=False)
    released_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    release_note: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")


class TivoliRetrieval(Base):
    """One file a retrieval run brought back from Tivoli (or found already there, or failed to retrieve)."""

    __tablename__ = "tivoli_retrieval"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    airflow_run_id: Mapped[str] = mapped_column(String(250), nullable=False, index=True)
    bibid: Mapped[str] = mapped_column(String(10), nullable=False)
    vid: Mapped[str] = mapped_column(String(5), nullable=False)
    file_path: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)  # retrieved / already_present / failed
    destination: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    error: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    retrieved_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)


class TivoliLease(Base):
    """A named lock with an expiry, shared by every worker that can reach the archive DB."""

    __tablename__ = "tivoli_lease"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(250), nullable=False)
    acquired_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
