"""The retirements page: every course's state, handle, package and DSpace reconciliation flag; acknowledging a flag."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from html import escape
from urllib.parse import quote

from sqlalchemy import Engine, Select, select, update

from ocw_operators.db.engine import session_scope
from ocw_operators.db.models import CourseRetirement as C
from ocw_operators.db.models import DSpaceFlag, RetirementState
from ocw_operators.web import render
from ocw_operators.web.render import archive_run_link, badge, esc, link
from ocw_operators.web.tables import Column, Table
from ocw_operators.web.view import View

TITLE = "Retirements"
RETIREMENT_DAG = "ocw_course_retirement"
RECONCILE_DAG = "dspace_oai_harvest"
DAG_IDS = (RETIREMENT_DAG, RECONCILE_DAG)
FLAG_FILTERS = ("any", *(flag.value for flag in DSpaceFlag), "unacknowledged")
HANDLE_RESOLVER = "https://hdl.handle.net/"


def handle_url(handle: str | None) -> str:
    return HANDLE_RESOLVER + handle if handle else ""


def retirements_query(filters: Mapping[str, str]) -> Select:
    statement = select(
        C.id.label("id"),
        C.course_id.label("course_id"),
        C.title.label("title"),
        C.state.label("state"),
        C.dspace_handle.label("handle"),
        C.deposited_at.label("deposited_at"),
        C.zip_path.label("zip_path"),
        C.zip_size.label("zip_size"),
        C.zip_md5.label("zip_md5"),
        C.cms_confirmed.label("cms_confirmed"),
        C.last_error.label("last_error"),
        C.dspace_flag.label("flag"),
        C.dspace_flagged_at.label("flagged_at"),
        C.dspace_flag_reason.label("flag_reason"),
        C.dspace_flag_acknowledged_by.label("acknowledged_by"),
        C.dspace_flag_acknowledged_at.label("acknowledged_at"),
        C.retirement_run_id.label("retirement_run_id"),
        C.dspace_flag_run_id.label("flag_run_id"),
    )
    if filters.get("state") in {state.value for state in RetirementState}:
        statement = statement.where(C.state == filters["state"])
    flag = filters.get("flag")
    if flag == "any":
        statement = statement.where(C.dspace_flag.is_not(None))
    elif flag == "unacknowledged":
        statement = statement.where(C.dspace_flag.is_not(None), C.dspace_flag_acknowledged_by == "")
    elif flag in {value.value for value in DSpaceFlag}:
        statement = statement.where(C.dspace_flag == flag)
    if filters.get("course"):
        statement = statement.where(C.course_id == filters["course"])
    if filters.get("run"):
        statement = statement.where(C.retirement_run_id == filters["run"])
    if filters.get("flag_run"):
        statement = statement.where(C.dspace_flag_run_id == filters["flag_run"])
    return statement


def columns(view: View) -> list[Column]:
    def handle_cell(row) -> str:
        if not row["handle"]:
            return ""
        harvested = link(f"{view.base}/oai?handle={quote(row['handle'], safe='')}#items", "harvested item")
        return f"{link(handle_url(row['handle']), row['handle'], external=True)}<br>{harvested}"

    def course_cell(row) -> str:
        run = archive_run_link(view.base, RETIREMENT_DAG, row["retirement_run_id"], "last run")
        return f"{esc(row['course_id'])}<br><span class='muted'>{esc(row['title'])}</span>{'<br>' + run if run else ''}"

    def package_cell(row) -> str:
        if not row["zip_path"]:
            return ""
        size = f"{row['zip_size']:,} bytes" if row["zip_size"] is not None else ""
        md5 = f"<code>{esc(row['zip_md5'])}</code>"
        return f"<div class='path'>{esc(row['zip_path'])}</div><span class='muted'>{size}</span> {md5}"

    def flag_cell(row) -> str:
        if not row["flag"]:
            return ""
        parts = [
            badge(row["flag"]),
            f"<br>{esc(row['flag_reason'])}",
            f"<br><span class='muted'>{esc(row['flagged_at'])}</span>",
        ]
        if row["flag_run_id"]:
            parts.append(" " + archive_run_link(view.base, RECONCILE_DAG, row["flag_run_id"], "run"))
        if row["acknowledged_by"]:
            parts.append(
                f"<br><span class='badge'>acknowledged</span> by {esc(row['acknowledged_by'])} "
                f"at {esc(row['acknowledged_at'])}"
            )
        elif view.can_edit:
            parts.append(
                f'<form method="post" action="{view.base}/retirements/acknowledge" class="ack">'
                f'<input type="hidden" name="course_id" value="{esc(row["course_id"])}">'
                f'<input type="hidden" name="csrf_token" value="{escape(view.csrf, quote=True)}">'
                '<button type="submit">Acknowledge</button></form>'
            )
        return "".join(parts)

    return [
        Column("course_id", "Course", sort=C.course_id, html=course_cell, css="wide"),
        Column("title", "Title", csv_only=True),
        Column("state", "State", sort=C.state, html=render.status_cell("state")),
        Column("handle", "Handle", sort=C.dspace_handle, html=handle_cell),
        Column("handle_url", "Handle URL", csv=lambda row: handle_url(row["handle"]), csv_only=True),
        Column("deposited_at", "Deposited", sort=C.deposited_at, css="when"),
        Column("package", "Zip (size, MD5)", html=package_cell, page_only=True),
        Column("zip_path", "Zip", csv_only=True),
        Column("zip_size", "Size (bytes)", numeric=True, csv_only=True),
        Column("zip_md5", "MD5", csv_only=True),
        Column("cms_confirmed", "CMS has handle", sort=C.cms_confirmed),
        Column("last_error", "Last error"),
        Column("flag", "DSpace flag", sort=C.dspace_flag, html=flag_cell, css="wide"),
        Column("flag_reason", "Flag reason", csv_only=True),
        Column("flagged_at", "Flagged at", csv_only=True),
        Column("acknowledged_by", "Acknowledged by", csv_only=True),
        Column("acknowledged_at", "Acknowledged at", csv_only=True),
        Column("retirement_run_id", "Retirement run", csv_only=True),
        Column("flag_run_id", "Flag raised by run", csv_only=True),
    ]


def retirement_table(view: View, title: str = "Courses") -> Table:
    return Table(
        name="courses",
        title=title,
        columns=columns(view),
        query=retirements_query,
        default_sort="course_id",
        tiebreak=[C.id],
        empty="No course matches.",
    )


def tables(view: View) -> dict[str, Table]:
    return {"courses": retirement_table(view)}


def render_body(view: View) -> str:
    filters = view.filters("state", "flag", "course", "run", "flag_run")
    form = render.filter_form(
        view.params,
        [
            ("course", "Course id", None),
            ("state", "State", [state.value for state in RetirementState]),
            ("flag", "DSpace flag", list(FLAG_FILTERS)),
        ],
    )
    table = retirement_table(view)
    return form + view.section(table, filters)


def acknowledge(engine: Engine, course_id: str, user_name: str, now: dt.datetime) -> bool:
    """Record ``user_name``'s acknowledgement of the course's flag; False when there is no unacknowledged flag.

    The flag itself stays (and stays visible); a new flag from a later reconciliation clears the acknowledgement.
    """
    with session_scope(engine, write_lock=True) as session:
        result = session.execute(
            update(C)
            .where(C.course_id == course_id, C.dspace_flag.is_not(None), C.dspace_flag_acknowledged_by == "")
            .values(dspace_flag_acknowledged_by=user_name[:250], dspace_flag_acknowledged_at=now)
        )
        return bool(result.rowcount)
