"""The Archive pages through Airflow's API server app, on SQLite and PostgreSQL: who may see what, every page and
CSV, the run tab, and acknowledging a flag (editor only, same-origin, with the session's token)."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import quote

import pytest
from sqlalchemy import select

from ocw_operators.db import make_engine
from ocw_operators.db.models import CourseRetirement
from tests.ocw_operators.web.seed import (
    BROKEN_URL,
    CHECK_RUN,
    FLAGGED_COURSE,
    HANDLE,
    HARVEST_RUN,
    LOAD_RUN,
    PREP_RUN,
    RETIRE_RUN,
    seed,
)

PAGES = ["/archive/links", "/archive/retirements", "/archive/oai", "/archive/tivoli"]
TABLES = {
    "/archive/links": ["sites", "problems"],
    "/archive/retirements": ["courses"],
    "/archive/oai": ["sets", "runs", "items"],
    "/archive/tivoli": ["volumes", "batches", "files", "held", "retrievals"],
}
RUN_TAB = f"/archive/runs/ocw_course_retirement/{quote(RETIRE_RUN, safe='')}"
ORIGIN = {"Origin": "http://testserver"}


@pytest.fixture
def archive(archive_db_conn):
    engine = make_engine(archive_db_conn)
    seed(engine)
    yield engine
    engine.dispose()


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert match, "no acknowledge form on the page"
    return match.group(1)


@pytest.mark.parametrize("path", [*PAGES, RUN_TAB, "/archive/links?format=csv&table=problems"])
def test_anonymous_requests_are_refused(archive, as_role, path):
    assert as_role(None).get(path).status_code == 401


def test_a_forged_cookie_is_refused(archive, as_role):
    client = as_role(None)
    client.cookies.set("_token", "not-a-jwt")
    assert client.get("/archive/links").status_code in (401, 403)


@pytest.mark.parametrize("path", PAGES)
def test_a_viewer_reads_every_page(archive, as_role, path):
    response = as_role("viewer").get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert '<nav class="tabs">' in response.text
    assert "prefers-color-scheme: dark" in response.text


def test_link_health_shows_the_broken_link_with_its_pages_capture_and_trend(archive, as_role):
    html = as_role("viewer").get("/archive/links").text
    assert BROKEN_URL in html
    assert "content/pages/syllabus.md" in html
    assert "http://web.archive.org/web/2026/" + BROKEN_URL in html
    assert '<svg class="trend"' in html
    assert f"/archive/runs/external_resource_check/{quote(CHECK_RUN, safe='')}" in html
    assert ">404<" in html
    # The valid link is not in the attention list, but counts for its site.
    assert "http://127.0.0.1:9/ok" not in html


def test_link_filters_narrow_the_list(archive, as_role):
    html = as_role("viewer").get("/archive/links?status=unchecked").text
    assert BROKEN_URL not in html
    assert "No broken, unchecked or failed links." in html


def test_retirements_show_handle_package_and_flag(archive, as_role):
    html = as_role("viewer").get("/archive/retirements").text
    assert f'href="https://hdl.handle.net/{HANDLE}"' in html
    assert "0123456789abcdef0123456789abcdef" in html
    assert "/retired/physics/8-01.zip" in html
    assert "the CMS answered 503" in html
    assert "withdrawn" in html
    assert "never shown" not in html  # the SWORD receipt stays in the archive DB
    assert "Acknowledge" not in html  # a viewer has no edit rights
    oai_link = f"/archive/oai?handle={quote(HANDLE, safe='')}#items"
    assert oai_link in html
    assert HANDLE in as_role("viewer").get(oai_link.split("#", maxsplit=1)[0]).text


def test_oai_and_tivoli_pages_show_their_state(archive, as_role):
    client = as_role("viewer")
    oai = client.get("/archive/oai").text
    assert "col_1721.1_33971" in oai and HANDLE in oai
    tivoli = client.get("/archive/tivoli").text
    assert "UF00012345_00001" in tivoli and "the staging area is full" in tivoli and "00001.tif" in tivoli
    batch = client.get("/archive/tivoli?batch=1").text
    assert "Manifest of batch #1" in batch and "a" * 40 in batch


@pytest.mark.parametrize("path", PAGES)
def test_every_table_downloads_as_csv(archive, as_role, path):
    client = as_role("viewer")
    for table in TABLES[path]:
        response = client.get(f"{path}?format=csv&table={table}")
        assert response.status_code == 200, (table, response.text)
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.text)))
        assert len(rows) >= 2, (table, rows)  # the header and the seeded row(s)


def test_csv_of_links_carries_pages_and_capture_url(archive, as_role):
    text = as_role("viewer").get("/archive/links?format=csv&table=problems").text
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["URL"] == BROKEN_URL
    assert row["Referenced by"] == "content/pages/syllabus.md"
    assert row["Wayback capture URL"].endswith(BROKEN_URL)


def test_unknown_csv_table_is_not_found(archive, as_role):
    assert as_role("viewer").get("/archive/links?format=csv&table=nope").status_code == 404


def test_pages_and_sorting(archive_db_conn, as_role):
    engine = make_engine(archive_db_conn)
    seed(engine, extra_broken=60)
    engine.dispose()
    client = as_role("viewer")
    first = client.get("/archive/links?problems.sort=-last_checked").text
    assert 'rel="next"' in first
    assert "rows 1 to 50" in first
    second = client.get("/archive/links?problems.sort=-last_checked&problems.page=1").text
    assert "rows 51 to 61" in second
    shown = re.findall(r"http://127\.0\.0\.1:9/missing/(\d{3})\"", first + second)
    # Newest check first: the seeded BROKEN_URL and missing/000 share the newest time; then 001, 002, ...
    numbers = [int(value) for value in shown]
    assert numbers == sorted(numbers) and len(set(numbers)) == 60


def test_the_run_tab_shows_what_the_run_did(archive, as_role):
    client = as_role("viewer")
    retirement = client.get(RUN_TAB).text
    assert FLAGGED_COURSE in retirement and f"https://hdl.handle.net/{HANDLE}" in retirement
    assert f"/dags/ocw_course_retirement/runs/{quote(RETIRE_RUN, safe='')}" in retirement
    check = client.get(f"/archive/runs/external_resource_check/{quote(CHECK_RUN, safe='')}").text
    assert BROKEN_URL in check and "http://127.0.0.1:9/ok" in check
    harvest = client.get(f"/archive/runs/dspace_oai_harvest/{quote(HARVEST_RUN, safe='')}").text
    assert "Reconciliation flags raised" in harvest and FLAGGED_COURSE in harvest and HANDLE in harvest
    prep = client.get(f"/archive/runs/tivoli_dropbox_prep/{quote(PREP_RUN, safe='')}").text
    assert "00001.tif" in prep and "the staging area is full" in prep
    load = client.get(f"/archive/runs/tivoli_nightly_load/{quote(LOAD_RUN, safe='')}").text
    assert "00001.tif" in load and "a" * 40 in load
    other = client.get("/archive/runs/some_other_dag/manual__1").text
    assert "record nothing in the archive" in other


def test_run_tab_csv(archive, as_role):
    response = as_role("viewer").get(f"{RUN_TAB}?format=csv&table=courses")
    assert response.status_code == 200
    assert FLAGGED_COURSE in response.text and HANDLE in response.text


def test_an_editor_acknowledges_a_flag(archive, as_role):
    client = as_role("user")
    page = client.get("/archive/retirements?flag=any")
    token = _csrf(page.text)
    response = client.post(
        "/archive/retirements/acknowledge",
        data={"course_id": FLAGGED_COURSE, "csrf_token": token},
        headers={**ORIGIN, "Referer": "http://testserver/archive/retirements?flag=any"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"].endswith("/archive/retirements?flag=any")
    with archive.connect() as connection:
        row = connection.execute(select(CourseRetirement).where(CourseRetirement.course_id == FLAGGED_COURSE)).one()
    assert row.dspace_flag == "withdrawn"  # the flag stays
    assert row.dspace_flag_acknowledged_by == "user"
    assert row.dspace_flag_acknowledged_at is not None
    html = client.get("/archive/retirements").text
    assert "acknowledged</span> by user" in html
    again = client.post(
        "/archive/retirements/acknowledge", data={"course_id": FLAGGED_COURSE, "csrf_token": token}, headers=ORIGIN
    )
    assert again.status_code == 409


def test_a_viewer_may_not_acknowledge(archive, as_role):
    editor_token = _csrf(as_role("user").get("/archive/retirements").text)
    client = as_role("viewer")
    response = client.post(
        "/archive/retirements/acknowledge",
        data={"course_id": FLAGGED_COURSE, "csrf_token": editor_token},
        headers=ORIGIN,
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("headers", "use_token"),
    [
        ({"Origin": "http://evil.example"}, True),
        ({"Referer": "http://evil.example/page"}, True),
        ({}, True),
        (ORIGIN, False),
    ],
    ids=["foreign-origin", "foreign-referer", "no-origin", "no-token"],
)
def test_cross_site_acknowledgements_are_refused(archive, as_role, headers, use_token):
    client = as_role("user")
    token = _csrf(client.get("/archive/retirements").text) if use_token else ""
    response = client.post(
        "/archive/retirements/acknowledge", data={"course_id": FLAGGED_COURSE, "csrf_token": token}, headers=headers
    )
    assert response.status_code == 403
    with archive.connect() as connection:
        assert (
            connection.execute(
                select(CourseRetirement.dspace_flag_acknowledged_by).where(CourseRetirement.course_id == FLAGGED_COURSE)
            ).scalar_one()
            == ""
        )


def test_a_token_from_another_session_is_refused(archive, as_role):
    from tests.ocw_operators.web.conftest import token_for

    stale = _csrf(as_role("user").get("/archive/retirements").text)
    client = as_role(None)
    client.cookies.set("_token", token_for("op"))  # another session (and user) with edit rights
    response = client.post(
        "/archive/retirements/acknowledge", data={"course_id": FLAGGED_COURSE, "csrf_token": stale}, headers=ORIGIN
    )
    assert response.status_code == 403


def test_retirement_csv_has_every_field_in_its_own_column(archive, as_role):
    text = as_role("viewer").get("/archive/retirements?format=csv&table=courses&flag=withdrawn").text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["Course"] for row in rows] == [FLAGGED_COURSE]
    row = rows[0]
    assert row["Handle URL"] == f"https://hdl.handle.net/{HANDLE}"
    assert (row["Zip"], row["Size (bytes)"], row["MD5"]) == (
        "/retired/physics/8-01.zip",
        "123456",
        "0123456789abcdef0123456789abcdef",
    )
    assert (row["DSpace flag"], row["Flag raised by run"]) == ("withdrawn", HARVEST_RUN)
    assert "Zip (size, MD5)" not in row  # a page-only cell


def test_csv_file_names_carry_no_characters_from_the_url(archive, as_role):
    response = as_role("viewer").get('/archive/runs/a"b;c/run-1?format=csv&table=courses')
    assert response.status_code == 404  # that DAG records nothing: no table of that name
    response = as_role("viewer").get(f"{RUN_TAB}?format=csv&table=courses")
    assert response.headers["content-disposition"] == 'attachment; filename="ocw_course_retirement-run-courses.csv"'


def test_stored_values_are_escaped_and_only_web_urls_become_links(archive, as_role):
    from ocw_operators.db.engine import session_scope
    from ocw_operators.db.models import ExternalResource

    with session_scope(archive) as session:
        session.add(
            ExternalResource(
                content_uuid="00000000-0000-0000-0000-00000000beef",
                site_name="<b>site</b>",
                url="javascript:alert(1)",
                status="broken",
                check_error='<script>alert("x")</script>',
            )
        )
    html = as_role("viewer").get("/archive/links").text
    assert 'href="javascript:' not in html
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "<b>site</b>" not in html and "&lt;b&gt;site&lt;/b&gt;" in html


def test_an_api_token_in_the_authorization_header_is_a_user_too(archive, as_role):
    from tests.ocw_operators.web.conftest import token_for

    client = as_role(None)
    response = client.get("/archive/retirements", headers={"Authorization": f"Bearer {token_for('viewer')}"})
    assert response.status_code == 200
    assert FLAGGED_COURSE in response.text
