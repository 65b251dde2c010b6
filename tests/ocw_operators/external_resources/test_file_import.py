import json

import pytest
from sqlalchemy import select

from ocw_operators.cli import main
from ocw_operators.db.engine import session_scope
from ocw_operators.db.models import ExternalResource
from ocw_operators.external_resources.file_import import ResourceImportError, import_records, read_records, stable_uuid

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
    assert rows[1].content_uuid == stable_uuid("18.01-fall-2020", "https://example.com/a?b=1")
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
        ("site_name,url,has_external_license_warning\ns,https://x.org/,maybe\n", "not a boolean"),
        ("site_name,url\ns,https://x.org/\ns,https://x.org/\n", "duplicate content_uuid"),
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
