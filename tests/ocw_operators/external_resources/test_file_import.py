import json
import uuid

import pytest
from sqlalchemy import select

from ocw_operators.cli import main
from ocw_operators.db.engine import session_scope
from ocw_operators.db.models import ExternalResource
from ocw_operators.external_resources.file_import import ResourceImportError, import_records, read_records
from ocw_operators.external_resources.identity import resource_uuid

CSV = """site_name,site_short_id,title,url,has_external_license_warning
18.01-fall-2020,18.01,MIT OCW,https://ocw.mit.edu/,false
18.01-fall-2020,18.01,Example,https://example.com/a?b=1,true
"""


def test_csv_import_creates_then_updates_without_touching_check_state(tmp_path, archive_engine):
    source = tmp_path / "resources.csv"
    source.write_text(CSV)
    with session_scope(archive_engine) as session:
        first = import_records(session, read_records(source))
    assert len(first.created_ids) == 2 and first.updated == 0
    with session_scope(archive_engine) as session:
        session.execute(ExternalResource.__table__.update().values(status="valid", wayback_status="success"))
    source.write_text(CSV.replace("Example,", "Example renamed,"))
    with session_scope(archive_engine) as session:
        second = import_records(session, read_records(source))
    assert second.created_ids == [] and second.updated == 2
    with session_scope(archive_engine) as session:
        rows = session.scalars(select(ExternalResource).order_by(ExternalResource.id)).all()
    assert [row.title for row in rows] == ["MIT OCW", "Example renamed"]
    assert {(row.status, row.wayback_status) for row in rows} == {("valid", "success")}
    assert rows[1].content_uuid == resource_uuid("18.01-fall-2020", "https://example.com/a?b=1")
    assert rows[1].has_external_license_warning is True


def test_json_import(tmp_path, archive_engine):
    source = tmp_path / "resources.json"
    source.write_text(json.dumps([{"site_name": "s", "url": "https://example.org/", "title": "t"}]))
    with session_scope(archive_engine) as session:
        assert len(import_records(session, read_records(source)).created_ids) == 1


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("site_name,url\n,https://x.org/\n", "site_name is required"),
        ("site_name,url\ns,\n", "url is required"),
        ("site_name,url,content_uuid\ns,https://x.org/,not-a-uuid\n", "is not a UUID"),
        (
            "site_name,url,has_external_license_warning\ns,https://x.org/,maybe\n",
            "has_external_license_warning must be true or false",
        ),
        # One resource per (site, URL): the same URL twice for one site is a duplicate.
        ("site_name,url\ns,https://x.org/\ns,https://x.org/\n", "duplicate resource: same site_name and url as row 1"),
        (
            "site_name,url,content_uuid\ns,https://x.org/a,{u}\ns,https://x.org/b,{u}\n".format(u=uuid.UUID(int=7)),
            "duplicate content_uuid in the site (first seen in row 1)",
        ),
    ],
)
def test_bad_rows_reject_the_whole_file_with_row_numbers(tmp_path, body, problem):
    source = tmp_path / "resources.csv"
    source.write_text(body)
    with pytest.raises(ResourceImportError) as error:
        read_records(source)
    assert problem in str(error.value)
    assert "row " in str(error.value)


def test_cli_imports_and_reports(tmp_path, archive_db_url, capsys):
    source = tmp_path / "resources.csv"
    source.write_text(CSV)
    assert main(["--db-url", archive_db_url, "resources", "import", str(source)]) == 0
    assert json.loads(capsys.readouterr().out) == {"read": 2, "created": 2, "updated": 0}
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "a list"}')
    assert main(["--db-url", archive_db_url, "resources", "import", str(bad)]) == 2
    assert "must be a list" in capsys.readouterr().err


def _import(engine, tmp_path, body: str):
    source = tmp_path / "resources.csv"
    source.write_text(body)
    with session_scope(engine) as session:
        return import_records(session, read_records(source))


def _rows(engine) -> list[ExternalResource]:
    with session_scope(engine) as session:
        return session.scalars(select(ExternalResource).order_by(ExternalResource.id)).all()


def test_the_same_url_in_two_sites_is_two_resources_and_a_fragment_another_url(tmp_path, archive_engine):
    summary = _import(
        archive_engine,
        tmp_path,
        "site_name,url\n18.01,https://ocw.mit.edu\n8.01,https://ocw.mit.edu\n18.01,https://ocw.mit.edu#fragment\n",
    )
    assert len(summary.created_ids) == 3
    rows = _rows(archive_engine)
    assert [(row.site_name, row.url) for row in rows] == [
        ("18.01", "https://ocw.mit.edu"),
        ("8.01", "https://ocw.mit.edu"),
        ("18.01", "https://ocw.mit.edu#fragment"),
    ]
    assert [row.content_uuid for row in rows] == [resource_uuid(row.site_name, row.url) for row in rows]


def test_a_stored_resource_keeps_its_uuid_and_state_whatever_the_file_derives(tmp_path, archive_engine):
    # Stored by the markdown import (its pages name this UUID) and checked since.
    with session_scope(archive_engine) as session:
        session.add(
            ExternalResource(
                content_uuid="0b5f9a9e-0000-4000-8000-00000000cafe",
                site_name="18.01",
                url="https://ocw.mit.edu",
                title="OCW",
                status="valid",
            )
        )
    summary = _import(archive_engine, tmp_path, "site_name,url,title\n18.01,https://ocw.mit.edu,MIT OCW\n")
    assert (summary.created_ids, summary.updated) == ([], 1)
    (row,) = _rows(archive_engine)
    assert (row.content_uuid, row.title, row.status) == ("0b5f9a9e-0000-4000-8000-00000000cafe", "MIT OCW", "valid")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            "site_name,url,content_uuid\n18.01,https://ocw.mit.edu,00000000-0000-4000-8000-000000000001\n",
            "18.01 https://ocw.mit.edu: stored as resource 0b5f9a9e-0000-4000-8000-00000000cafe, "
            "not 00000000-0000-4000-8000-000000000001",
        ),
        (
            "site_name,url,content_uuid\n18.01,https://ocw.mit.edu/moved,0b5f9a9e-0000-4000-8000-00000000cafe\n",
            "content_uuid 0b5f9a9e-0000-4000-8000-00000000cafe already names https://ocw.mit.edu in this site",
        ),
    ],
    ids=["another-uuid-for-a-stored-url", "a-stored-uuid-for-another-url"],
)
def test_a_file_contradicting_the_archive_db_is_rejected_whole(tmp_path, archive_engine, body, problem):
    with session_scope(archive_engine) as session:
        session.add(
            ExternalResource(
                content_uuid="0b5f9a9e-0000-4000-8000-00000000cafe", site_name="18.01", url="https://ocw.mit.edu"
            )
        )
    before = [(row.id, row.content_uuid, row.url, row.title) for row in _rows(archive_engine)]
    with pytest.raises(ResourceImportError) as error:
        _import(archive_engine, tmp_path, body + "18.01,https://example.org/new,\n")
    assert problem in str(error.value)
    assert [(row.id, row.content_uuid, row.url, row.title) for row in _rows(archive_engine)] == before
    # The same UUID or URL in another site is fine.
    other_site = body.replace("\n18.01,", "\n8.01,")
    assert len(_import(archive_engine, tmp_path, other_site).created_ids) == 1


def test_cli_reports_a_file_contradicting_the_archive_db(tmp_path, archive_db_url, capsys):
    source = tmp_path / "resources.csv"
    source.write_text("site_name,url,content_uuid\ns,https://x.org/,00000000-0000-4000-8000-000000000001\n")
    assert main(["--db-url", archive_db_url, "resources", "import", str(source)]) == 0
    capsys.readouterr()
    source.write_text("site_name,url,content_uuid\ns,https://x.org/,00000000-0000-4000-8000-000000000002\n")
    assert main(["--db-url", archive_db_url, "resources", "import", str(source)]) == 2
    assert "stored as resource 00000000-0000-4000-8000-000000000001" in capsys.readouterr().err
