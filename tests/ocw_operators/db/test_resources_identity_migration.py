"""The ``resources_0002`` migration: duplicates from both old importers become one resource per (site, URL).

Each test builds an archive DB at the previous revision (``resource_import@head``) on SQLite and on PostgreSQL and
fills it with raw inserts shaped the way the old CSV/JSON import (``uuid5(site + url)``, upsert by UUID), the old
markdown import (``uuid5(url)``, the oldest row with the URL reused for every site, a reference per file), the link
checker and the Wayback tasks wrote them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ocw_operators.db import make_engine, migrate, session_scope
from ocw_operators.db.models import ExternalResource, ExternalResourceReference
from ocw_operators.wayback.status import pending_job_ids
from tests.conftest import ARCHIVE_DB_BACKENDS, _create_pg_database, _drop_pg_database

PREVIOUS = "resource_import@head"
OLD_MARKDOWN_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://ocw.mit.edu/ocw-archive-airflow/external-resource")
LINEAR, SICP = "18.06-spring-2010", "6.001-fall-2005"
HOME = "https://ocw.mit.edu"
WIKI = "https://en.wikipedia.org/wiki/Function_(mathematics)"
BOOK = "https://mitpress.mit.edu/sites/default/files/sicp/index.html"
LONG = "https://example.com/search?q=" + "x" * 4000  # beyond PostgreSQL's btree entry limit
T = dt.datetime(2026, 10, 5, 4, tzinfo=dt.UTC)


def old_csv_uuid(site: str, url: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{site}\n{url}"))


def old_markdown_uuid(url: str) -> str:
    return str(uuid.uuid5(OLD_MARKDOWN_NAMESPACE, url))


@pytest.fixture(params=ARCHIVE_DB_BACKENDS)
def old_db(request, tmp_path) -> Iterator[tuple[str, sa.Engine]]:
    """An archive DB at the revision before one resource per (site, URL)."""
    name = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'archive.db'}"
    else:
        name, url = _create_pg_database()
    migrate.upgrade(url, PREVIOUS)
    engine = make_engine(url)
    try:
        yield url, engine
    finally:
        engine.dispose()
        if name:
            _drop_pg_database(name)


def old_table(engine: sa.Engine, name: str) -> sa.Table:
    """The table as the previous revision made it (reflected: the models describe the current schema)."""
    return sa.Table(name, sa.MetaData(), autoload_with=engine)


def insert_resource(engine: sa.Engine, **values: Any) -> int:
    table = old_table(engine, "external_resource")
    with engine.begin() as connection:
        return connection.execute(table.insert().values(**values).returning(table.c.id)).scalar_one()


def csv_import(engine, site: str, short_id: str, url: str, title: str, content_uuid: str | None = None) -> int:
    """A row as ``python -m ocw_operators resources import`` wrote it (no file name, no creating run)."""
    return insert_resource(
        engine,
        content_uuid=content_uuid or old_csv_uuid(site, url),
        site_name=site,
        site_short_id=short_id,
        title=title,
        url=url,
        has_external_license_warning=True,
    )


def markdown_import(engine, site: str, short_id: str, url: str, title: str, run_id: str) -> int:
    """A row as the old markdown import inserted it for the first site that linked the URL."""
    resource_uuid = old_markdown_uuid(url)
    return insert_resource(
        engine,
        content_uuid=resource_uuid,
        site_name=site,
        site_short_id=short_id,
        title=title,
        url=url,
        has_external_license_warning=url != HOME,
        filename=f"{title.lower().replace(' ', '-')}_{resource_uuid}",
        created_by_run=run_id,
    )


def reference(engine, resource_id: int, site: str, path: str, kind: str = "page") -> None:
    table = old_table(engine, "external_resource_reference")
    with engine.begin() as connection:
        connection.execute(
            table.insert().values(resource_id=resource_id, site_name=site, source_path=path, source_kind=kind)
        )


def update(engine, resource_id: int, **values: Any) -> None:
    table = old_table(engine, "external_resource")
    with engine.begin() as connection:
        connection.execute(table.update().where(table.c.id == resource_id).values(**values))


def stored(engine) -> dict[tuple[str, str], ExternalResource]:
    with session_scope(engine) as session:
        return {(row.site_name, row.url): row for row in session.scalars(sa.select(ExternalResource))}


def references(engine) -> list[tuple[str, str, int]]:
    with session_scope(engine) as session:
        rows = session.scalars(sa.select(ExternalResourceReference).order_by(ExternalResourceReference.id))
        return [(ref.site_name, ref.source_path, ref.resource_id) for ref in rows]


def populate(engine) -> dict[tuple[str, str], str]:
    """The shared scenario; returns the UUID each (site, page) names in its shortcodes, as the pages on disk do."""
    # An older CSV load of 6.001 with a UUID from an ocw-studio export; the markdown import later reused that row for
    # both courses' links to the article (it took the oldest row with the URL, whatever its site).
    wiki = csv_import(engine, SICP, "6.001", WIKI, "Function", content_uuid="0b5f9a9e-0000-4000-8000-00000000cafe")
    update(engine, wiki, status="valid", external_url_response_code=200, last_checked=T - dt.timedelta(days=3))
    # The markdown import: the home page first seen in 18.06 and shared with 6.001; the book only in 6.001.
    home = markdown_import(engine, LINEAR, "18.06", HOME, "MIT OpenCourseWare", "manual__md-1")
    book = markdown_import(engine, SICP, "6.001", BOOK, "SICP", "manual__md-1")
    pages = {
        (LINEAR, "content/_index.md"): home,
        (LINEAR, "config/_default/menus.yaml"): home,
        (LINEAR, "content/pages/syllabus.md"): wiki,
        (SICP, "content/pages/syllabus.md"): home,
        (SICP, "config/_default/menus.yaml"): book,
    }
    for (site, path), resource_id in pages.items():
        reference(engine, resource_id, site, path, "menu" if path.endswith(".yaml") else "page")
    reference(engine, book, SICP, "content/pages/syllabus.md")
    reference(engine, wiki, SICP, "content/pages/syllabus.md")
    # The newest check and a pending capture on the markdown row of the home page.
    update(engine, home, status="broken", external_url_response_code=404, check_error="", last_checked=T)
    update(
        engine,
        home,
        wayback_status="pending",
        wayback_job_id="spn2-new",
        wayback_submitted_at=T + dt.timedelta(hours=1),
    )
    # Then a CSV load of 18.06 added the home page again (another UUID: a second row for the same site and URL),
    # checked earlier and captured successfully.
    csv_home = csv_import(engine, LINEAR, "18.06", HOME, "OCW home")
    update(engine, csv_home, status="valid", external_url_response_code=200, last_checked=T - dt.timedelta(days=7))
    update(
        engine,
        csv_home,
        wayback_status="success",
        wayback_job_id="spn2-old",
        wayback_url=f"https://web.archive.org/web/20261001000000/{HOME}",
        wayback_http_status=200,
        wayback_submitted_at=T - dt.timedelta(days=4),
        wayback_last_successful_submission=T - dt.timedelta(days=4),
    )
    # A fragment makes another URL; a very long URL loaded twice for one site and once for another.
    csv_import(engine, LINEAR, "18.06", HOME + "#fragment", "OCW (fragment)")
    long_first = csv_import(engine, "21h-001", "21H.001", LONG, "Search")
    update(engine, long_first, wayback_status="error", wayback_status_ext="error:too-long", wayback_job_id="spn2-err")
    csv_import(engine, "21h-001", "21H.001", LONG, "Search again", content_uuid=str(uuid.uuid4()))
    csv_import(engine, LINEAR, "18.06", LONG, "Search")
    with engine.connect() as connection:
        uuid_of = dict(connection.execute(sa.text("SELECT id, content_uuid FROM external_resource")).all())
    return {page: uuid_of[resource_id] for page, resource_id in pages.items()}


def test_duplicates_from_both_importers_become_one_resource_per_site_and_url(old_db):
    url, engine = old_db
    page_uuids = populate(engine)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM external_resource")).scalar_one() == 8
        home_ids = connection.execute(
            sa.text("SELECT id FROM external_resource WHERE url = :u ORDER BY id"), {"u": HOME}
        )
        markdown_home, csv_home = home_ids.scalars().all()

    migrate.upgrade(url)

    rows = stored(engine)
    assert sorted(rows) == sorted(
        [
            (LINEAR, HOME),
            (SICP, HOME),
            (LINEAR, HOME + "#fragment"),
            (LINEAR, WIKI),
            (SICP, WIKI),
            (SICP, BOOK),
            ("21h-001", LONG),
            (LINEAR, LONG),
        ]
    )
    # 18.06 keeps the row its pages name (id, UUID, title, file name, creating run), with the newest check and the
    # best Wayback state of both its rows: the CSV row's success wins over the markdown row's pending job.
    home = rows[(LINEAR, HOME)]
    assert (home.id, home.content_uuid, home.title, home.created_by_run, home.site_short_id) == (
        markdown_home,
        old_markdown_uuid(HOME),
        "MIT OpenCourseWare",
        "manual__md-1",
        "18.06",
    )
    assert home.filename == f"mit-opencourseware_{old_markdown_uuid(HOME)}"
    assert (home.status, home.external_url_response_code, home.last_checked) == ("broken", 404, T)
    assert (home.wayback_status, home.wayback_job_id, home.wayback_http_status) == ("success", "spn2-old", 200)
    assert home.wayback_url == f"https://web.archive.org/web/20261001000000/{HOME}"
    assert home.wayback_last_successful_submission == T - dt.timedelta(days=4)
    assert csv_home not in {row.id for row in rows.values()}
    # 6.001's copy of the shared row: a new row with the shared UUID and the shared row's history.
    copy = rows[(SICP, HOME)]
    assert copy.id not in {markdown_home, csv_home}
    assert (copy.content_uuid, copy.site_short_id, copy.title) == (
        old_markdown_uuid(HOME),
        "6.001",
        "MIT OpenCourseWare",
    )
    assert (copy.status, copy.last_checked, copy.wayback_status, copy.wayback_job_id) == (
        "broken",
        T,
        "pending",
        "spn2-new",
    )
    # The CSV row of 6.001 that 18.06 referenced stays 6.001's; 18.06 gets a copy with that UUID.
    assert (
        rows[(SICP, WIKI)].content_uuid == rows[(LINEAR, WIKI)].content_uuid == "0b5f9a9e-0000-4000-8000-00000000cafe"
    )
    assert (rows[(LINEAR, WIKI)].status, rows[(LINEAR, WIKI)].site_short_id) == ("valid", "18.06")
    # Two CSV rows of one site and URL: the oldest row kept, its error state too.
    long_row = rows[("21h-001", LONG)]
    assert (long_row.title, long_row.wayback_status_ext, long_row.content_uuid) == (
        "Search",
        "error:too-long",
        old_csv_uuid("21h-001", LONG),
    )
    assert rows[(LINEAR, LONG)].wayback_status == ""  # another site's resource: nothing merged into it

    # Every reference is kept, belongs to its own site's resource, and every page's UUID resolves in its own site.
    refs = references(engine)
    assert len(refs) == 7
    by_id = {row.id: row for row in rows.values()}
    assert all(by_id[resource_id].site_name == site for site, _, resource_id in refs)
    for (site, path), page_uuid in page_uuids.items():
        (resource_id,) = [rid for s, p, rid in refs if (s, p) == (site, path) and by_id[rid].content_uuid == page_uuid]
        assert by_id[resource_id].site_name == site
    with session_scope(engine) as session:
        for (site, _), page_uuid in page_uuids.items():
            resolved = session.scalars(
                sa.select(ExternalResource).where(
                    ExternalResource.site_name == site, ExternalResource.content_uuid == page_uuid
                )
            ).one()
            assert resolved.url in {HOME, WIKI, BOOK}

    # The pending capture is now 6.001's: a status update filtered on that site finds it.
    assert pending_job_ids(engine, site_filter=["6.001"]) == ["spn2-new"]
    assert pending_job_ids(engine, site_filter=[LINEAR]) == []


def test_the_constraints_hold_after_the_upgrade(old_db):
    url, engine = old_db
    populate(engine)
    migrate.upgrade(url)
    with session_scope(engine) as session:
        long_row = session.scalars(sa.select(ExternalResource).where(ExternalResource.site_name == "21h-001")).one()
        content_uuid = long_row.content_uuid
    duplicate = {"site_name": "21h-001", "url": LONG, "content_uuid": str(uuid.uuid4())}
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(ExternalResource(**duplicate))
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(ExternalResource(site_name="21h-001", url="https://example.com/other", content_uuid=content_uuid))
    # The same URL or the same UUID in another site is another resource.
    with session_scope(engine) as session:
        session.add(ExternalResource(**{**duplicate, "site_name": "8.01-physics"}))
        session.add(ExternalResource(site_name="8.02", url="https://example.com/other", content_uuid=content_uuid))


def test_downgrade_folds_the_site_copies_back_into_one_shared_row(old_db):
    url, engine = old_db
    populate(engine)
    migrate.upgrade(url)
    upgraded = stored(engine)

    migrate.downgrade(url, "resources_0001")

    with engine.connect() as connection:
        columns = {column["name"] for column in sa.inspect(connection).get_columns("external_resource")}
        rows = connection.execute(sa.text("SELECT id, site_name, url, content_uuid FROM external_resource")).all()
        refs = connection.execute(sa.text("SELECT resource_id, site_name FROM external_resource_reference")).all()
    assert "url_sha256" not in columns
    by_url: dict[str, list[tuple]] = {}
    for row in rows:
        by_url.setdefault(row.url, []).append(row)
    # The shared rows are back, as the old markdown import kept them: one row, referenced from both courses.
    assert [(row.id, row.site_name) for row in by_url[HOME]] == [(upgraded[(LINEAR, HOME)].id, LINEAR)]
    assert [(row.id, row.site_name) for row in by_url[WIKI]] == [(upgraded[(SICP, WIKI)].id, SICP)]
    assert {site for resource_id, site in refs if resource_id == upgraded[(LINEAR, HOME)].id} == {LINEAR, SICP}
    assert len(refs) == 7
    assert len({row.content_uuid for row in rows}) == len(rows)  # the old unique content_uuid holds again

    migrate.upgrade(url)  # and up again: split as before
    again = stored(engine)
    assert sorted(again) == sorted(upgraded)
    assert again[(SICP, HOME)].content_uuid == upgraded[(SICP, HOME)].content_uuid


def test_two_rows_referenced_by_one_file_leave_one_reference(old_db):
    url, engine = old_db
    first = markdown_import(engine, LINEAR, "18.06", HOME, "MIT OpenCourseWare", "run-1")
    second = csv_import(engine, LINEAR, "18.06", HOME, "OCW")
    reference(engine, first, LINEAR, "content/_index.md")
    reference(engine, second, LINEAR, "content/_index.md")
    reference(engine, second, LINEAR, "content/pages/about.md")

    migrate.upgrade(url)

    # The row named by more of the site's files survives; the file that named both keeps one reference.
    assert sorted(references(engine)) == [
        (LINEAR, "content/_index.md", second),
        (LINEAR, "content/pages/about.md", second),
    ]
    assert [row.id for row in stored(engine).values()] == [second]
