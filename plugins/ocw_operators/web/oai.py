"""The OAI-PMH page: per set its watermark and last complete list, recent harvest runs, and the harvested items."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from ocw_operators.db.models import OaiHarvestedItem as I
from ocw_operators.db.models import OaiHarvestRun as H
from ocw_operators.db.models import OaiHarvestState as S
from ocw_operators.web import render
from ocw_operators.web.render import archive_run_link, esc, link
from ocw_operators.web.retirements import handle_url
from ocw_operators.web.tables import Column, Table
from ocw_operators.web.view import View

TITLE = "OAI-PMH"
HARVEST_DAG = "dspace_oai_harvest"
DAG_IDS = (HARVEST_DAG,)

LastRun = aliased(H)


def sets_query(filters: Mapping[str, str]) -> Select:
    return select(
        S.endpoint.label("endpoint"),
        S.set_spec.label("set_spec"),
        S.metadata_prefix.label("metadata_prefix"),
        S.watermark.label("watermark"),
        S.granularity.label("granularity"),
        S.last_complete_run_id.label("last_complete_run_id"),
        LastRun.finished_on.label("last_complete_at"),
        LastRun.mode.label("last_complete_mode"),
        LastRun.records.label("records"),
        LastRun.deleted_records.label("deleted_records"),
        LastRun.complete_list_size.label("complete_list_size"),
        LastRun.airflow_run_id.label("airflow_run_id"),
    ).outerjoin(LastRun, LastRun.id == S.last_complete_run_id)


def runs_query(filters: Mapping[str, str]) -> Select:
    statement = select(
        H.id.label("id"),
        H.set_spec.label("set_spec"),
        H.metadata_prefix.label("metadata_prefix"),
        H.mode.label("mode"),
        H.status.label("status"),
        H.from_datestamp.label("from_datestamp"),
        H.until_datestamp.label("until_datestamp"),
        H.pages.label("pages"),
        H.records.label("records"),
        H.deleted_records.label("deleted_records"),
        H.rejected_records.label("rejected_records"),
        H.vanished_items.label("vanished_items"),
        H.created_on.label("started_on"),
        H.finished_on.label("finished_on"),
        H.airflow_run_id.label("airflow_run_id"),
    )
    if "set" in filters:
        statement = statement.where(H.set_spec == filters["set"])
    if filters.get("run"):
        statement = statement.where(H.airflow_run_id == filters["run"])
    return statement


def items_query(filters: Mapping[str, str]) -> Select:
    statement = select(
        I.handle.label("handle"),
        I.title.label("title"),
        I.datestamp.label("datestamp"),
        I.deleted.label("deleted"),
        I.vanished_on.label("vanished_on"),
        I.set_specs.label("set_specs"),
        I.last_harvested_on.label("last_harvested_on"),
    )
    if filters.get("run"):
        runs = select(H.id).where(H.airflow_run_id == filters["run"])
        statement = statement.where(I.last_harvest_run_id.in_(runs))
    if filters.get("item_state") == "deleted":
        statement = statement.where(I.deleted.is_(True))
    elif filters.get("item_state") == "vanished":
        statement = statement.where(I.vanished_on.is_not(None))
    if filters.get("handle"):
        statement = statement.where(I.handle == filters["handle"])
    return statement


def _run_cell(view: View):
    def render_cell(row) -> str:
        return archive_run_link(view.base, HARVEST_DAG, row.get("airflow_run_id") or "")

    return render_cell


def set_table(view: View) -> Table:
    return Table(
        name="sets",
        title="Sets",
        note="“Records” and “deleted” are the counts of the set's last complete list.",
        columns=[
            Column("set_spec", "Set", sort=S.set_spec, html=lambda row: esc(row["set_spec"] or "(whole repository)")),
            Column("metadata_prefix", "Prefix"),
            Column("endpoint", "Endpoint"),
            Column("watermark", "Watermark", sort=S.watermark),
            Column("last_complete_at", "Last complete list"),
            Column("last_complete_mode", "Mode"),
            Column("records", "Records", numeric=True),
            Column("deleted_records", "Deleted", numeric=True),
            Column("complete_list_size", "completeListSize", numeric=True, csv_only=True),
            Column("airflow_run_id", "Airflow run", html=_run_cell(view)),
        ],
        query=sets_query,
        default_sort="set_spec",
        tiebreak=[S.endpoint, S.metadata_prefix],
        empty="No harvest has completed yet.",
    )


def run_table(view: View, name: str = "runs", title: str = "Recent harvest runs") -> Table:
    return Table(
        name=name,
        title=title,
        columns=[
            Column("id", "Harvest", sort=H.id, numeric=True),
            Column("set_spec", "Set"),
            Column("mode", "Mode"),
            Column("status", "Status", sort=H.status, html=render.status_cell("status")),
            Column("from_datestamp", "From"),
            Column("until_datestamp", "Until"),
            Column("pages", "Pages", numeric=True),
            Column("records", "Records", numeric=True),
            Column("deleted_records", "Deleted", numeric=True),
            Column("rejected_records", "Rejected", numeric=True),
            Column("vanished_items", "Vanished", numeric=True),
            Column("started_on", "Started"),
            Column("finished_on", "Finished"),
            Column("airflow_run_id", "Airflow run", html=_run_cell(view)),
        ],
        query=runs_query,
        default_sort="-id",
        tiebreak=[H.id],
        empty="No harvest run yet.",
    )


def item_table(view: View, name: str = "items", title: str = "Harvested items") -> Table:
    def handle_cell(row) -> str:
        return link(handle_url(row["handle"]), row["handle"], external=True)

    return Table(
        name=name,
        title=title,
        columns=[
            Column("handle", "Handle", sort=I.handle, html=handle_cell),
            Column("title", "Title"),
            Column("datestamp", "Datestamp"),
            Column("deleted", "Deleted"),
            Column("vanished_on", "Expunged (vanished)"),
            Column("set_specs", "Sets", html=lambda row: esc((row["set_specs"] or "").strip())),
            Column("last_harvested_on", "Last harvested"),
        ],
        query=items_query,
        default_sort="handle",
        tiebreak=[I.handle],
        empty="No item.",
    )


def tables(view: View) -> dict[str, Table]:
    return {table.name: table for table in (set_table(view), run_table(view), item_table(view))}


def render_body(view: View) -> str:
    filters = view.filters("handle", "item_state")
    form = render.filter_form(
        view.params, [("handle", "Handle", None), ("item_state", "Items", ["deleted", "vanished"])]
    )
    parts = []
    for table in tables(view).values():
        if table.name == "items":
            parts.append(form)
        parts.append(view.section(table, filters))
    return "".join(parts)
