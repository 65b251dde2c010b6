"""The run tab: what one run of this package's DAGs did, read from the run ids recorded on the archive's rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from html import escape

from sqlalchemy import Select

from ocw_operators.external_resources import health
from ocw_operators.web import link_health, oai, render, retirements, tivoli
from ocw_operators.web.render import airflow_run_link, link
from ocw_operators.web.tables import Table
from ocw_operators.web.view import View

TITLE = "Run"


def _pinned(table: Table, name: str, title: str, query: Callable[[], Select], empty: str) -> Table:
    """``table``'s columns over the rows the run touched (the page's filters are replaced by the run's)."""
    return replace(table, name=name, title=title, query=lambda _filters: query(), empty=empty, note="")


def _link_check(view: View, dag_id: str, run_id: str) -> list[Table]:
    return [
        _pinned(
            link_health.problem_table(view),
            "checked",
            "Links checked",
            lambda: health.checked_by_run_query(run_id),
            "No link carries this run's check (a later run has checked them again).",
        )
    ]


def _wayback_submit(view: View, dag_id: str, run_id: str) -> list[Table]:
    return [
        _pinned(
            link_health.problem_table(view),
            "captures",
            "Wayback captures submitted",
            lambda: health.submitted_by_run_query(run_id),
            "No capture submitted by this run (or a later run submitted them again).",
        )
    ]


def _resource_import(view: View, dag_id: str, run_id: str) -> list[Table]:
    return [
        _pinned(
            link_health.problem_table(view),
            "created",
            "Resources created",
            lambda: health.created_by_run_query(run_id),
            "This run created no resource.",
        )
    ]


def _retirement(view: View, dag_id: str, run_id: str) -> list[Table]:
    return [
        _pinned(
            retirements.retirement_table(view),
            "courses",
            "Courses worked on",
            lambda: retirements.retirements_query({"run": run_id}),
            "No course records this run (a later run may have advanced them since).",
        )
    ]


def _harvest(view: View, dag_id: str, run_id: str) -> list[Table]:
    return [
        _pinned(oai.run_table(view), "harvests", "Harvests", lambda: oai.runs_query({"run": run_id}), "No harvest."),
        _pinned(
            oai.item_table(view),
            "items",
            "Items harvested (last harvested by this run)",
            lambda: oai.items_query({"run": run_id}),
            "No item.",
        ),
        _pinned(
            retirements.retirement_table(view),
            "flags",
            "Reconciliation flags raised",
            lambda: retirements.retirements_query({"flag_run": run_id}),
            "No flag raised by this run.",
        ),
    ]


def _prep(view: View, dag_id: str, run_id: str) -> list[Table]:
    return [
        _pinned(
            tivoli.file_table(view),
            "staged",
            "Files staged",
            lambda: tivoli.files_query({"prep_run": run_id}),
            "No file staged by this run.",
        ),
        _pinned(
            tivoli.held_table(view),
            "held",
            "Volumes held",
            lambda: tivoli.held_query({"held": "all", "holder_prefix": f"{dag_id}/{run_id}/"}),
            "No volume held by this run.",
        ),
    ]


def _load(view: View, dag_id: str, run_id: str) -> list[Table]:
    key = f"{dag_id}/{run_id}"
    return [
        _pinned(
            tivoli.batch_table(view),
            "batch",
            "Load batch",
            lambda: tivoli.batches_query({"run_key": key}),
            "No load batch for this run.",
        ),
        _pinned(
            tivoli.file_table(view),
            "loaded",
            "Manifest (files loaded)",
            lambda: tivoli.files_query({"load_run_key": key}),
            "No file in this run's batch.",
        ),
    ]


def _retrieve(view: View, dag_id: str, run_id: str) -> list[Table]:
    return [
        _pinned(
            tivoli.retrieval_table(view),
            "retrieved",
            "Files retrieved",
            lambda: tivoli.retrievals_query({"run": run_id}),
            "No retrieval recorded for this run.",
        )
    ]


RUN_TABLES: dict[str, Callable[[View, str, str], list[Table]]] = {
    link_health.CHECK_DAG: _link_check,
    link_health.SUBMIT_DAG: _wayback_submit,
    "external_resource_import": _resource_import,
    retirements.RETIREMENT_DAG: _retirement,
    oai.HARVEST_DAG: _harvest,
    tivoli.PREP_DAG: _prep,
    tivoli.LOAD_DAG: _load,
    tivoli.RETRIEVE_DAG: _retrieve,
}


def run_tables(view: View, dag_id: str, run_id: str) -> list[Table]:
    """The tables of what the run of ``dag_id`` recorded (empty for DAGs that record nothing in the archive)."""
    builder = RUN_TABLES.get(dag_id)
    return builder(view, dag_id, run_id) if builder else []


def summary(view: View, dag_id: str, run_id: str) -> str:
    if dag_id != link_health.CHECK_DAG:
        return ""
    row = health.check_run(view.engine, dag_id, run_id)
    if row is None:
        return '<p class="note">The run has not finished its summary yet.</p>'
    return render.cards(
        [
            ("checked", row.checked),
            ("valid", row.valid),
            ("broken", row.broken),
            ("check failed", row.check_failed),
            ("broken in the archive after the run", row.broken_total),
        ]
    )


def render_body(view: View, dag_id: str, run_id: str) -> str:
    head = (
        f'<p class="note">{escape(dag_id)} · {airflow_run_link(view.ui, dag_id, run_id, "open the run in Airflow")} · '
        f"{link(f'{view.base}/links', 'all archive pages')}</p>"
    )
    shown = run_tables(view, dag_id, run_id)
    if not shown:
        return head + '<p class="muted">This DAG\'s runs record nothing in the archive.</p>'
    parts = [head, summary(view, dag_id, run_id)]
    parts.extend(view.section(table, {}) for table in shown)
    return "".join(parts)
