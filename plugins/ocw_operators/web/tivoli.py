"""The Tivoli page: volumes with their tracking status, load batches and their manifests, held volumes, retrievals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from urllib.parse import quote

from sqlalchemy import Engine, Select, func, select, tuple_

from ocw_operators.db.models import TivoliFileLog as F
from ocw_operators.db.models import TivoliHeldVolume as Held
from ocw_operators.db.models import TivoliLoadBatch as B
from ocw_operators.db.models import TivoliRetrieval as Rt
from ocw_operators.db.models import TivoliVolumeStatus as V
from ocw_operators.db.models.tivoli import FileState
from ocw_operators.web import render
from ocw_operators.web.render import archive_run_link, esc, link
from ocw_operators.web.tables import Column, Table
from ocw_operators.web.view import View

TITLE = "Tivoli"
PREP_DAG = "tivoli_dropbox_prep"
LOAD_DAG = "tivoli_nightly_load"
RETRIEVE_DAG = "tivoli_retrieve"
DAG_IDS = (PREP_DAG, LOAD_DAG, RETRIEVE_DAG)


def volumes_query(filters: Mapping[str, str]) -> Select:
    statement = select(
        V.bibid.label("bibid"),
        V.vid.label("vid"),
        V.status.label("status"),
        V.files_staged.label("files_staged"),
        V.files_archived.label("files_archived"),
        V.bytes_archived.label("bytes_archived"),
        V.last_staged_at.label("last_staged_at"),
        V.last_archived_at.label("last_archived_at"),
    )
    if filters.get("bibid"):
        statement = statement.where(V.bibid == filters["bibid"].upper())
    return statement


def add_staged_bytes(engine: Engine, rows: list[dict]) -> None:
    """Files and bytes still waiting in staging, for the volumes of one page (the volume index, not a scan)."""
    keys = [(row["bibid"], row["vid"]) for row in rows]
    found: dict[tuple[str, str], tuple[int, int]] = {}
    if keys:
        statement = (
            select(F.bibid, F.vid, func.count(), func.coalesce(func.sum(F.size), 0))
            .where(tuple_(F.bibid, F.vid).in_(keys), F.state == FileState.STAGED.value)
            .group_by(F.bibid, F.vid)
        )
        with engine.connect() as connection:
            found = {(bibid, vid): (count, size) for bibid, vid, count, size in connection.execute(statement)}
    for row in rows:
        row["waiting_files"], row["waiting_bytes"] = found.get((row["bibid"], row["vid"]), (0, 0))


def batches_query(filters: Mapping[str, str]) -> Select:
    statement = select(
        B.id.label("id"),
        B.run_key.label("run_key"),
        B.description.label("description"),
        B.status.label("status"),
        B.return_code.label("return_code"),
        B.files_reported.label("files_reported"),
        B.files_archived.label("files_archived"),
        B.files_deleted.label("files_deleted"),
        B.bytes_archived.label("bytes_archived"),
        B.message.label("message"),
        B.started_at.label("started_at"),
        B.finished_at.label("finished_at"),
    )
    if filters.get("run_key"):
        statement = statement.where(B.run_key == filters["run_key"])
    return statement


def files_query(filters: Mapping[str, str]) -> Select:
    statement = select(
        F.id.label("id"),
        F.bibid.label("bibid"),
        F.vid.label("vid"),
        F.folder.label("folder"),
        F.file_name.label("file_name"),
        F.original_name.label("original_name"),
        F.size.label("size"),
        F.sha1.label("sha1"),
        F.state.label("state"),
        F.archive_date.label("archive_date"),
        F.load_batch_id.label("load_batch_id"),
        F.prep_run_id.label("prep_run_id"),
    )
    if filters.get("batch", "").isdigit():
        statement = statement.where(F.load_batch_id == int(filters["batch"]))
    if filters.get("prep_run"):
        statement = statement.where(F.prep_run_id == filters["prep_run"])
    if filters.get("load_run_key"):
        statement = statement.where(F.load_batch_id.in_(select(B.id).where(B.run_key == filters["load_run_key"])))
    if filters.get("bibid") and filters.get("vid"):
        statement = statement.where(F.bibid == filters["bibid"].upper(), F.vid == filters["vid"])
    return statement


def held_query(filters: Mapping[str, str]) -> Select:
    statement = select(
        Held.bibid.label("bibid"),
        Held.vid.label("vid"),
        Held.folder.label("folder"),
        Held.reason.label("reason"),
        Held.error_code.label("error_code"),
        Held.attempts.label("attempts"),
        Held.first_seen_at.label("first_seen_at"),
        Held.last_seen_at.label("last_seen_at"),
        Held.last_run.label("last_run"),
        Held.released_at.label("released_at"),
        Held.release_note.label("release_note"),
    )
    if filters.get("held") != "all":
        statement = statement.where(Held.released_at.is_(None))
    if filters.get("holder_prefix"):
        prefix = filters["holder_prefix"]
        statement = statement.where(func.substr(Held.last_run, 1, len(prefix)) == prefix)
    return statement


def retrievals_query(filters: Mapping[str, str]) -> Select:
    statement = select(
        Rt.id.label("id"),
        Rt.bibid.label("bibid"),
        Rt.vid.label("vid"),
        Rt.file_path.label("file_path"),
        Rt.outcome.label("outcome"),
        Rt.destination.label("destination"),
        Rt.error.label("error"),
        Rt.retrieved_at.label("retrieved_at"),
        Rt.airflow_run_id.label("airflow_run_id"),
    )
    if filters.get("run"):
        statement = statement.where(Rt.airflow_run_id == filters["run"])
    return statement


def volume_table(view: View) -> Table:
    def volume_cell(row) -> str:
        href = f"{view.base}/tivoli?bibid={quote(row['bibid'])}&vid={quote(row['vid'])}#files"
        return link(href, f"{row['bibid']}_{row['vid']}")

    return Table(
        name="volumes",
        title="Volumes",
        columns=[
            Column(
                "volume", "BibID_VID", sort=V.bibid, html=volume_cell, csv=lambda row: f"{row['bibid']}_{row['vid']}"
            ),
            Column("status", "Tracking status", sort=V.status, html=render.status_cell("status")),
            Column("files_staged", "Files staged", sort=V.files_staged, numeric=True),
            Column("waiting_files", "Waiting in staging", numeric=True),
            Column("waiting_bytes", "Bytes waiting", numeric=True),
            Column("files_archived", "Files archived", sort=V.files_archived, numeric=True),
            Column("bytes_archived", "Bytes archived", sort=V.bytes_archived, numeric=True),
            Column("last_staged_at", "Last staged", sort=V.last_staged_at),
            Column("last_archived_at", "Last archived", sort=V.last_archived_at),
        ],
        query=volumes_query,
        default_sort="volume",
        tiebreak=[V.bibid, V.vid],
        empty="No volume staged yet.",
        enrich=add_staged_bytes,
    )


def batch_table(view: View, name: str = "batches", title: str = "Load batches") -> Table:
    def batch_cell(row) -> str:
        return link(f"{view.base}/tivoli?batch={row['id']}#files", f"#{row['id']}")

    def run_cell(row) -> str:
        dag_id, _, run_id = (row["run_key"] or "").partition("/")
        return archive_run_link(view.base, dag_id, run_id) if run_id else esc(row["run_key"])

    return Table(
        name=name,
        title=title,
        columns=[
            Column("id", "Batch", sort=B.id, html=batch_cell, numeric=True),
            Column("run_key", "Airflow run", html=run_cell),
            Column("status", "Status", sort=B.status, html=render.status_cell("status")),
            Column("return_code", "dsmc rc", numeric=True),
            Column("files_reported", "Reported", numeric=True),
            Column("files_archived", "Archived", numeric=True),
            Column("files_deleted", "Deleted from staging", numeric=True),
            Column("bytes_archived", "Bytes", numeric=True),
            Column("message", "Message"),
            Column("started_at", "Started", sort=B.started_at),
            Column("finished_at", "Finished"),
        ],
        query=batches_query,
        default_sort="-id",
        tiebreak=[B.id],
        empty="No load has run yet.",
    )


def file_table(view: View, name: str = "files", title: str = "Files") -> Table:
    return Table(
        name=name,
        title=title,
        columns=[
            Column("bibid", "BibID", sort=F.bibid),
            Column("vid", "VID"),
            Column("folder", "Folder"),
            Column("file_name", "File", sort=F.file_name),
            Column("original_name", "Original name"),
            Column("size", "Size (bytes)", numeric=True),
            Column("sha1", "SHA-1"),
            Column("state", "Status", html=render.status_cell("state")),
            Column("archive_date", "Logged"),
            Column("load_batch_id", "Batch", numeric=True),
            Column("prep_run_id", "Staged by run", csv_only=True),
        ],
        query=files_query,
        default_sort="bibid",
        tiebreak=[F.id],
        empty="No file.",
    )


def held_table(view: View, name: str = "held", title: str = "Held volumes") -> Table:
    return Table(
        name=name,
        title=title,
        note="Volumes the preparation could not stage, with the reason; every run tries them again.",
        columns=[
            Column(
                "volume",
                "BibID_VID",
                sort=Held.bibid,
                csv=lambda row: f"{row['bibid']}_{row['vid']}",
                html=lambda row: esc(f"{row['bibid']}_{row['vid']}"),
            ),
            Column("folder", "Folder"),
            Column("reason", "Reason"),
            Column("error_code", "Error"),
            Column("attempts", "Attempts", numeric=True),
            Column("first_seen_at", "First held", sort=Held.first_seen_at),
            Column("last_seen_at", "Last tried", sort=Held.last_seen_at),
            Column("released_at", "Released"),
            Column("release_note", "Release note"),
        ],
        query=held_query,
        default_sort="volume",
        tiebreak=[Held.bibid, Held.vid],
        empty="No volume is held.",
    )


def retrieval_table(view: View, name: str = "retrievals", title: str = "Retrievals") -> Table:
    return Table(
        name=name,
        title=title,
        columns=[
            Column("retrieved_at", "When", sort=Rt.retrieved_at),
            Column(
                "volume",
                "BibID_VID",
                csv=lambda row: f"{row['bibid']}_{row['vid']}",
                html=lambda row: esc(f"{row['bibid']}_{row['vid']}"),
            ),
            Column("file_path", "File"),
            Column("outcome", "Outcome", sort=Rt.outcome, html=render.status_cell("outcome")),
            Column("destination", "Destination"),
            Column("error", "Error"),
            Column(
                "airflow_run_id",
                "Airflow run",
                html=lambda row: archive_run_link(view.base, RETRIEVE_DAG, row["airflow_run_id"]),
            ),
        ],
        query=retrievals_query,
        default_sort="-retrieved_at",
        tiebreak=[Rt.id],
        empty="No retrieval yet.",
    )


def tables(view: View) -> dict[str, Table]:
    return {
        table.name: table
        for table in (volume_table(view), batch_table(view), file_table(view), held_table(view), retrieval_table(view))
    }


def render_body(view: View) -> str:
    filters = view.filters("bibid", "vid", "batch", "held")
    shown = tables(view)
    if not (filters.get("batch") or (filters.get("bibid") and filters.get("vid"))):
        shown.pop("files")  # the manifest of one batch or one volume, not 1,000,000 rows at once
    form = render.filter_form(view.params, [("bibid", "BibID", None), ("held", "Held", ["all"])])
    parts = [form]
    for table in shown.values():
        if table.name == "files":
            batch = filters.get("batch")
            title = f"Manifest of batch #{batch}" if batch else f"Files of {filters['bibid']}_{filters['vid']}"
            parts.append(view.section(replace(table, title=title), filters))
        else:
            parts.append(view.section(table, filters))
    if "files" not in shown:
        parts.append('<p class="note">Open a batch or a volume to see its file manifest (size, SHA-1, status).</p>')
    return "".join(parts)
