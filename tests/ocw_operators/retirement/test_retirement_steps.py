"""Retirement steps against the sandbox DSpace and CMS, on SQLite and PostgreSQL.

The central property: whatever fails or crashes, and however often a step is rerun, each course ends up as
exactly one DSpace item, with its handle in the CMS and a ``done`` record.
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import pytest

from ocw_operators.clients.cms import CmsError, CourseNotFoundError
from ocw_operators.clients.dspace_sword import SwordDepositError, SwordOutcomeUnknownError
from ocw_operators.db.models.retirement import RetirementState
from ocw_operators.retirement import state, steps, workflow
from ocw_operators.retirement.collection_map import CollectionMapError
from ocw_operators.retirement.holding import HoldingAreaError
from ocw_operators.retirement.names import HostileNameError, NameTooLongError
from ocw_operators.retirement.steps import DepositOutcomeUnknownError
from ocw_operators.safe_xml import MalformedXmlError, UnsafeXmlError
from ocw_sandbox.cms import SandboxResource, sample_course
from ocw_sandbox.control import clear_faults, inject_fault
from tests.ocw_operators.retirement.sandbox_env import (
    CMS_PASSWORD,
    COURSES,
    SWORD_PASSWORD,
    basic_session,
    cms_client,
    retire,
    sword_client,
)

S = RetirementState
ERRORS = "http://purl.org/net/sword/error/"
DSPACE_ERRORS = "http://www.dspace.org/ns/sword/1.3.1/errors/"


class SimulatedCrash(BaseException):
    """Stands in for a killed worker: not an Exception, so no step code can catch it."""


def items_for(store, course_url: str) -> list:
    return [item for item in store.items() if course_url in item.dublin_core.get("identifier.uri", [])]


def oai_like_lookup(store):
    """What the OAI-PMH harvest will provide: a handle by dc.identifier.uri, archived items only."""

    def lookup(identifier_uri: str) -> str | None:
        for item in store.items():
            if not item.in_workflow and identifier_uri in item.dublin_core.get("identifier.uri", []):
                return item.handle
        return None

    return lookup


def course_url(env, course_id: str) -> str:
    return env.sandbox.cms.courses[course_id].url


def assert_retired_once(env, course_id: str) -> None:
    record = state.load(env.engine, course_id)
    items = items_for(env.sandbox.store, course_url(env, course_id))
    assert len(items) == 1, f"{course_id}: {len(items)} DSpace items"
    assert record.state == S.DONE and record.dspace_handle == items[0].handle
    assert env.sandbox.cms.courses[course_id].dspace_handle == items[0].handle
    assert record.cms_confirmed and record.completed_at and record.deposited_at
    assert Path(record.zip_path).is_file() and Path(record.zip_path).stat().st_size == record.zip_size
    assert record.last_error == ""


# -- happy paths -------------------------------------------------------------------------------------------


def test_several_courses_are_retired_and_reruns_change_nothing(env):
    for course_id in COURSES:
        result = retire(env, course_id)
        assert result["state"] == "done" and result["handle"]
    for course_id in COURSES:
        assert_retired_once(env, course_id)
        record = state.load(env.engine, course_id)
        assert record.zip_path == str(env.retired / course_id / f"{course_id.split('/')[1]}.zip")
        assert "<atom:entry" in record.deposit_receipt and record.deposit_status_code == 201
        with zipfile.ZipFile(record.zip_path) as archive:
            assert archive.namelist()[0] == "mets.xml"
    assert [item.collection_handle for item in env.sandbox.store.items()] == ["1721.1/33971", "1721.1/33972",
                                                                              "1721.1/33971"]  # fmt: skip
    calls_before = list(env.sandbox.cms.handle_calls)
    for course_id in COURSES:
        assert retire(env, course_id)["skipped"] is True
        assert_retired_once(env, course_id)
    assert env.sandbox.cms.handle_calls == calls_before
    assert [value for _, value in calls_before] == [f"hdl://{item.handle}" for item in env.sandbox.store.items()]


def test_fetch_skips_files_already_in_the_holding_area(env):
    course_id = COURSES[0]
    state.register(env.engine, [course_id])
    first = steps.fetch(env.engine, env.holding, env.cms, course_id).detail
    assert first["files_downloaded"] == 6 and first["files_skipped"] == 0
    second = steps.fetch(env.engine, env.holding, env.cms, course_id).detail
    assert second["files_downloaded"] == 0 and second["files_skipped"] == 6
    env.holding.member_path(course_id, "content/" + env.sandbox.cms.courses[course_id].resources[0].name).write_bytes(
        b"tampered"
    )
    third = steps.fetch(env.engine, env.holding, env.cms, course_id).detail
    assert third["files_downloaded"] == 1


def test_a_manifest_that_vanishes_after_the_fetch_is_a_holding_area_error(env, monkeypatch):
    """Not an assert: checks by assert disappear under ``python -O``, and the step then fails on None[0]."""
    course_id = COURSES[0]
    state.register(env.engine, [course_id])
    monkeypatch.setattr(type(env.holding), "load_manifest", lambda self, course_id: None)
    with pytest.raises(HoldingAreaError, match="manifest vanished"):
        steps.fetch(env.engine, env.holding, env.cms, course_id)
    assert state.load(env.engine, course_id).state == S.PENDING


def test_sword_v2_deposit(env):
    env.sword = sword_client(env.sandbox, version=2)
    retire(env, COURSES[1])
    assert_retired_once(env, COURSES[1])
    assert state.load(env.engine, COURSES[1]).edit_iri.startswith(env.sandbox.dspace_url + "/swordv2/edit/")


# -- crash at every step boundary ----------------------------------------------------------------------------


def _count_state_writes(monkeypatch) -> list[str]:
    calls: list[str] = []
    real_update = state.update

    def counting(engine, course_id, **kwargs):
        calls.append(str(kwargs.get("state", "")))
        return real_update(engine, course_id, **kwargs)

    monkeypatch.setattr(state, "update", counting)
    return calls


STATE_WRITES_PER_COURSE = 6  # fetched, packaged, stored, deposited, cms_confirmed, done


def _new_course(env, label: str) -> str:
    course_id = f"history/21h-crash-{label}"
    env.sandbox.cms.courses[course_id] = sample_course(course_id, seed=len(env.sandbox.cms.courses) + 1)
    return course_id


def _crash_on_write(monkeypatch, position: int, *, after: bool) -> None:
    """Make the ``position``-th state write of the next run kill the worker, before or after it commits."""
    real_update = state.update
    writes: list[str] = []

    def crashing(engine, course_id, **kwargs):
        writes.append(str(kwargs.get("state")))
        if not after and len(writes) - 1 == position:
            raise SimulatedCrash(f"killed before recording {writes[-1]}")
        record = real_update(engine, course_id, **kwargs)
        if after and len(writes) - 1 == position:
            raise SimulatedCrash(f"killed after recording {writes[-1]}")
        return record

    monkeypatch.setattr(state, "update", crashing)


def test_crash_before_each_state_write_then_rerun_gives_exactly_one_item(env, monkeypatch):
    """At each boundary the step's side effect happened, the worker dies before recording it, the DAG reruns."""
    for position in range(STATE_WRITES_PER_COURSE):
        course_id = _new_course(env, f"before-{position}")
        _crash_on_write(monkeypatch, position, after=False)
        with pytest.raises(SimulatedCrash):
            retire(env, course_id)
        monkeypatch.undo()
        # The deposit's crash window is closed by the existing-item lookup (OAI-PMH in production).
        retire(env, course_id, lookup=oai_like_lookup(env.sandbox.store))
        assert_retired_once(env, course_id)
        retire(env, course_id)
        assert_retired_once(env, course_id)
    assert len(env.sandbox.store.items()) == STATE_WRITES_PER_COURSE


def test_crash_after_each_state_write_then_rerun_gives_exactly_one_item(env, monkeypatch):
    for position in range(STATE_WRITES_PER_COURSE):
        course_id = _new_course(env, f"after-{position}")
        _crash_on_write(monkeypatch, position, after=True)
        with pytest.raises(SimulatedCrash):
            retire(env, course_id)
        monkeypatch.undo()
        retire(env, course_id)  # no lookup needed: every recorded step is resumed from the DB
        assert_retired_once(env, course_id)
    assert len(env.sandbox.store.items()) == STATE_WRITES_PER_COURSE


def test_crash_after_dspace_accepted_without_a_lookup_refuses_to_deposit_again(env, monkeypatch):
    course_id = COURSES[0]
    real_update = state.update

    def crash_on_deposit_record(engine, cid, **kwargs):
        if kwargs.get("state") == S.DEPOSITED:
            raise SimulatedCrash("killed after DSpace answered 201")
        return real_update(engine, cid, **kwargs)

    monkeypatch.setattr(state, "update", crash_on_deposit_record)
    with pytest.raises(SimulatedCrash):
        retire(env, course_id)
    monkeypatch.setattr(state, "update", real_update)
    assert state.load(env.engine, course_id).state == S.DEPOSITING
    for _ in range(2):  # retries keep refusing, and say why
        with pytest.raises(DepositOutcomeUnknownError, match="may have created a DSpace item"):
            retire(env, course_id)
    assert len(items_for(env.sandbox.store, course_url(env, course_id))) == 1
    retire(env, course_id, lookup=oai_like_lookup(env.sandbox.store))  # the OAI harvest now knows the item
    assert_retired_once(env, course_id)
    assert "existing item found by the existing-item lookup" in state.load(env.engine, course_id).deposit_receipt


def test_crash_before_the_request_left_needs_an_operator_decision(env, monkeypatch):
    course_id = COURSES[0]

    def killed_mid_upload(*args, **kwargs):
        raise SimulatedCrash("killed while uploading")

    monkeypatch.setattr(env.sword, "deposit", killed_mid_upload)
    with pytest.raises(SimulatedCrash):
        retire(env, course_id)
    monkeypatch.undo()
    lookup = oai_like_lookup(env.sandbox.store)
    with pytest.raises(DepositOutcomeUnknownError):
        retire(env, course_id, lookup=lookup)
    retire(env, course_id, lookup=lookup, redeposit=True)  # an operator checked DSpace: nothing there
    assert_retired_once(env, course_id)


def test_concurrent_second_run_does_not_deposit_while_the_first_is_in_flight(env):
    course_id = COURSES[0]
    state.register(env.engine, [course_id])
    steps.fetch(env.engine, env.holding, env.cms, course_id)
    steps.package(env.engine, env.holding, course_id)
    steps.store(env.engine, env.retired, course_id)
    steps._claim_deposit(env.engine, course_id, "1721.1/33971", False)  # run A marked the deposit, POST in flight
    with pytest.raises(DepositOutcomeUnknownError):
        steps.deposit(env.engine, env.sword, env.collections, course_id)  # run B
    assert env.sandbox.store.items() == []


# -- DSpace failures -------------------------------------------------------------------------------------------


def sword_error_body(uri: str, summary: str, namespace: str = "http://purl.org/net/sword/") -> str:
    return (
        f'<sword:error xmlns:sword="{namespace}" xmlns:atom="http://www.w3.org/2005/Atom" href="{uri}">'
        f"<atom:title>ERROR</atom:title><atom:summary>{summary}</atom:summary></sword:error>"
    )


ATOM_XML = {"Content-Type": "application/atom+xml"}
PROXY_PAGE = "<html><head><title>{0}</title></head><body><h1>{0}</h1><hr>nginx</body></html>"


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            {"status": 400, "headers": ATOM_XML,
             "body": sword_error_body(DSPACE_ERRORS + "CrosswalkError", "Crosswalk failed for MODS")},
            "HTTP 400.*CrosswalkError.*Crosswalk failed for MODS",
        ),
        (
            {"status": 500, "headers": ATOM_XML,
             "body": sword_error_body(DSPACE_ERRORS + "RepositoryError", "could not write the bitstream")},
            "HTTP 500.*RepositoryError.*could not write the bitstream",
        ),
        ({"status": 404, "body": PROXY_PAGE.format("404 Not Found")}, "HTTP 404.*404 Not Found"),
    ],
    ids=["400-sword-error", "500-sword-error", "404-page"],
)  # fmt: skip
def test_dspace_refusals_are_clear_and_leave_the_course_resumable(env, fault, message):
    course_id = COURSES[0]
    inject_fault(env.sandbox.dspace_url, "sword_deposit", kind="status", **fault)
    with pytest.raises(SwordDepositError, match=message) as refused:
        retire(env, course_id)
    assert refused.value.definitive
    record = state.load(env.engine, course_id)
    assert record.state == S.STORED and record.deposit_started_at is None
    retire(env, course_id)
    assert_retired_once(env, course_id)


@pytest.mark.parametrize(
    ("status", "body", "headers"),
    [
        (500, "<html>Internal Server Error</html>", {}),
        (502, PROXY_PAGE.format("502 Bad Gateway"), {"Content-Type": "text/html"}),
        (503, PROXY_PAGE.format("503 Service Temporarily Unavailable"), {"Content-Type": "text/html"}),
        (504, PROXY_PAGE.format("504 Gateway Time-out"), {"Content-Type": "text/html"}),
        (504, "", {}),
        (503, sword_error_body(ERRORS + "ErrorBadRequest", "relayed by the balancer"), ATOM_XML),
    ],
    ids=["500-page", "502", "503", "504", "504-empty", "503-sword-error"],
)
def test_a_5xx_without_dspace_verdict_leaves_the_outcome_unknown(env, status, body, headers):
    """A gateway's 5xx says nothing about the upload: the record stays ``depositing`` and nothing is resent."""
    course_id = COURSES[0]
    inject_fault(env.sandbox.dspace_url, "sword_deposit", kind="status", status=status, body=body, headers=headers)
    with pytest.raises(SwordOutcomeUnknownError, match=f"HTTP {status}.*not DSpace's verdict.*not sent again"):
        retire(env, course_id)
    record = state.load(env.engine, course_id)
    assert record.state == S.DEPOSITING and record.deposit_started_at is not None
    with pytest.raises(DepositOutcomeUnknownError):
        retire(env, course_id, lookup=oai_like_lookup(env.sandbox.store))
    assert env.sandbox.sword.deposits == []  # the faulted attempt never reached DSpace, and nothing was resent


@pytest.mark.parametrize("status", [502, 504])
def test_a_gateway_timeout_while_dspace_ingests_never_makes_a_second_item(env, status):
    """The proxy gives up while DSpace finishes the deposit: the rerun finds the item instead of depositing again."""
    course_id = COURSES[0]
    page = PROXY_PAGE.format(f"{status} Gateway Time-out")
    inject_fault(env.sandbox.dspace_url, "sword_deposit", kind="replace", status=status, body=page)
    with pytest.raises(SwordOutcomeUnknownError):
        retire(env, course_id)
    assert state.load(env.engine, course_id).state == S.DEPOSITING
    assert len(items_for(env.sandbox.store, course_url(env, course_id))) == 1  # DSpace did create it
    with pytest.raises(DepositOutcomeUnknownError):
        retire(env, course_id)  # no harvest has seen the item yet: still not resent
    retire(env, course_id, lookup=oai_like_lookup(env.sandbox.store))
    assert_retired_once(env, course_id)
    assert len(env.sandbox.sword.deposits) == 1


@pytest.mark.parametrize("version", [1, 2])
def test_an_unknown_on_behalf_of_user_is_not_reported_as_bad_credentials(env, version):
    from ocw_operators.clients.dspace_sword import SwordClient, SwordSettings

    course_id = COURSES[0]
    env.sandbox.sword.known_users = {"ocw-publisher"}
    env.sword = SwordClient(SwordSettings(env.sandbox.dspace_url, version=version, on_behalf_of="ocw-publisher-typo",
                                          read_timeout=10),
                            basic_session("sword-depositor", SWORD_PASSWORD))  # fmt: skip
    with pytest.raises(SwordDepositError, match=r"HTTP 40[13].*TargetOwnerUnknown") as refused:
        retire(env, course_id)
    message = str(refused.value)
    assert "does not know 'ocw-publisher-typo'" in message and "on_behalf_of" in message
    assert "refused the SWORD credentials" not in message
    assert refused.value.definitive and refused.value.status == (401 if version == 1 else 403)
    assert state.load(env.engine, course_id).state == S.STORED and env.sandbox.store.items() == []
    env.sword = SwordClient(SwordSettings(env.sandbox.dspace_url, version=version, on_behalf_of="ocw-publisher",
                                          read_timeout=10),
                            basic_session("sword-depositor", SWORD_PASSWORD))  # fmt: skip
    retire(env, course_id)
    assert_retired_once(env, course_id)


def test_bad_sword_credentials_are_still_reported_as_such(env):
    from ocw_operators.clients.dspace_sword import SwordClient, SwordSettings

    env.sword = SwordClient(
        SwordSettings(env.sandbox.dspace_url, read_timeout=10), basic_session("sword-depositor", "wrong")
    )
    with pytest.raises(SwordDepositError, match=r"HTTP 401.*refused the SWORD credentials"):
        retire(env, COURSES[0])
    assert state.load(env.engine, COURSES[0]).state == S.STORED


def test_a_413_with_an_error_page_larger_than_the_receipt_limit_is_still_a_413(env, monkeypatch):
    from ocw_operators.clients import dspace_sword as sword

    monkeypatch.setattr(sword, "MAX_RECEIPT_BYTES", 4096)
    course_id = COURSES[0]
    page = PROXY_PAGE.format("413 Request Entity Too Large") + "<!-- padding -->" * 1000
    inject_fault(env.sandbox.dspace_url, "sword_deposit", kind="status", status=413, body=page)
    with pytest.raises(SwordDepositError, match="HTTP 413") as refused:
        retire(env, course_id)
    assert refused.value.definitive and refused.value.status == 413
    assert state.load(env.engine, course_id).state == S.STORED and env.sandbox.store.items() == []


def test_413_415_412_from_dspace(env, monkeypatch):
    course_id = COURSES[0]
    env.sandbox.sword.max_upload_size = 100
    with pytest.raises(SwordDepositError, match=r"HTTP 413.*MAX_UPLOAD_SIZE_EXCEEDED"):
        retire(env, course_id)
    env.sandbox.sword.max_upload_size = 0
    record = state.load(env.engine, course_id)

    real_headers = env.sword.deposit_headers
    monkeypatch.setattr(env.sword, "deposit_headers", lambda **kw: {**real_headers(**kw), "Content-MD5": "0" * 32})
    with pytest.raises(SwordDepositError, match=r"HTTP 412.*ErrorChecksumMismatch"):
        retire(env, course_id)
    monkeypatch.setattr(env.sword, "deposit_headers", lambda **kw: {**real_headers(**kw), "X-Packaging": "zip"})
    with pytest.raises(SwordDepositError, match=r"HTTP 415.*ErrorContent"):
        retire(env, course_id)
    monkeypatch.undo()
    assert state.load(env.engine, course_id).state == S.STORED == record.state
    assert env.sandbox.store.items() == []
    retire(env, course_id)
    assert_retired_once(env, course_id)


def test_a_hanging_dspace_times_out_and_the_unknown_outcome_is_resolved_by_lookup(env):
    course_id = COURSES[0]
    env.sword = sword_client(env.sandbox, read_timeout=0.5)
    inject_fault(env.sandbox.dspace_url, "sword_deposit", kind="hang", seconds=5)
    with pytest.raises(SwordOutcomeUnknownError, match="may or may not"):
        retire(env, course_id)
    assert state.load(env.engine, course_id).state == S.DEPOSITING
    clear_faults(env.sandbox.dspace_url)
    lookup = oai_like_lookup(env.sandbox.store)
    with pytest.raises(DepositOutcomeUnknownError):
        retire(env, course_id, lookup=lookup)  # the lookup does not know the item: it never arrived
    retire(env, course_id, lookup=lookup, redeposit=True)
    assert_retired_once(env, course_id)


def test_unmapped_department_fails_before_anything_is_sent(env):
    from ocw_operators.retirement.collection_map import CollectionMap

    env.collections = CollectionMap({"physics": "1721.1/33972"})
    with pytest.raises(CollectionMapError, match="'history'"):
        retire(env, COURSES[0])
    assert state.load(env.engine, COURSES[0]).state == S.STORED and env.sandbox.store.items() == []


# -- 202 workflow -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
def test_workflow_deposit_is_recorded_then_finished_by_the_follow_up(env, version):
    course_id = COURSES[0]
    env.sword = sword_client(env.sandbox, version=version)
    env.sandbox.sword.workflow = True
    result = retire(env, course_id)
    assert result["awaiting_workflow"] is True
    record = state.load(env.engine, course_id)
    assert record.state == S.IN_WORKFLOW and record.dspace_handle is None
    assert env.sandbox.cms.handle_calls == []
    lookup = oai_like_lookup(env.sandbox.store)
    assert workflow.finish_workflow_deposits(env.engine, env.sword, env.cms, lookup=lookup)[0]["handle"] is None
    retire(env, course_id, lookup=lookup)  # a rerun meanwhile neither fails nor deposits again
    (item,) = env.sandbox.store.items()
    env.sandbox.store.touch(item.handle, in_workflow=False)  # a DSpace reviewer approves the item
    (outcome,) = workflow.finish_workflow_deposits(env.engine, env.sword, env.cms, lookup=lookup)
    assert outcome == {"course_id": course_id, "handle": item.handle, "state": "done"}
    assert_retired_once(env, course_id)


# -- CMS failures and bad input ---------------------------------------------------------------------------------


def test_cms_failure_after_deposit_is_resumed_without_a_second_deposit(env):
    course_id = COURSES[0]
    inject_fault(env.sandbox.cms_url, "set_dspace_handle", kind="status", status=503, times=2)
    for _ in range(2):
        with pytest.raises(CmsError, match="HTTP 503"):
            retire(env, course_id)
        assert state.load(env.engine, course_id).state == S.DEPOSITED
    retire(env, course_id)
    assert_retired_once(env, course_id)


def test_unknown_course_id_is_a_clear_error(env):
    with pytest.raises(CourseNotFoundError, match=r"nothing at .*/courses/history/no-such-course"):
        retire(env, "history/no-such-course")
    assert state.load(env.engine, "history/no-such-course").state == S.PENDING


@pytest.mark.parametrize("name", ["../../../etc/cron.d/evil", "/etc/passwd", "lecture\x00.pdf", "a/../../b.pdf"])
def test_hostile_resource_names_are_refused_and_nothing_is_written(env, name):
    course_id = COURSES[2]
    env.sandbox.cms.courses[course_id].resources.append(SandboxResource(name=name, content=b"payload"))
    with pytest.raises(HostileNameError):
        retire(env, course_id)
    assert not any(env.retired.parent.rglob("passwd")) and env.sandbox.store.items() == []
    assert state.load(env.engine, course_id).state == S.PENDING


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("lecture-notes/" + "é" * 150 + ".pdf", r"resource name .* is too long: its file name has 304 bytes"),
        (
            "lecture-notes/" + "n" * 248 + ".pdf",
            r"metadata file of resource .* is too long: its file name has 256 bytes",
        ),
    ],
    ids=["file-name", "its-metadata-file-name"],
)
def test_a_file_name_too_long_for_the_file_system_is_refused_before_anything_is_fetched(env, name, message):
    course_id = COURSES[2]
    env.sandbox.cms.courses[course_id].resources.append(SandboxResource(name=name, content=b"payload"))
    with pytest.raises(NameTooLongError, match=message) as refused:
        retire(env, course_id)
    text = str(refused.value)
    assert text.startswith(f"course {course_id}: ") and name[:60] in text and "255 bytes per path component" in text
    assert state.load(env.engine, course_id).state == S.PENDING
    assert not env.holding.course_dir(course_id).exists() and env.sandbox.store.items() == []


def test_file_names_up_to_the_limit_are_archived(env):
    """255 bytes for the metadata file's name (the file's own name plus ".xml"), temporary names included."""
    course_id = COURSES[2]
    name = "lecture-notes/" + "é" * 123 + "x.pdf"  # 246 + 5 = 251 bytes; its metadata file: 255
    env.sandbox.cms.courses[course_id].resources.append(SandboxResource(name=name, content=b"long name"))
    retire(env, course_id)
    assert_retired_once(env, course_id)
    (item,) = env.sandbox.store.items()
    assert f"content/{name}" in item.files


@pytest.mark.parametrize(
    ("metadata", "error"),
    [
        (b"<resource><title>unclosed</resource>", MalformedXmlError),
        (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><resource>&x;</resource>',
         UnsafeXmlError),
    ],
    ids=["malformed", "entities"],
)  # fmt: skip
def test_bad_metadata_xml_stops_the_course_and_resumes_once_fixed(env, metadata, error):
    course_id = COURSES[2]
    resource = env.sandbox.cms.courses[course_id].resources[1]
    original = resource.metadata_xml
    resource.metadata_xml = metadata
    with pytest.raises(error, match=f"metadata of '{resource.name}' in course {course_id}"):
        retire(env, course_id)
    assert state.load(env.engine, course_id).state == S.PENDING
    resource.metadata_xml = original
    retire(env, course_id)
    assert_retired_once(env, course_id)


def test_credentials_never_appear_in_errors_or_logs(env, caplog):
    caplog.set_level(logging.DEBUG)
    course_id = COURSES[0]
    for style in ("form", "query", "basic"):
        bad = cms_client(env.sandbox, auth_style=style, password=CMS_PASSWORD + "-wrong")
        with pytest.raises(CmsError) as refused:
            bad.set_dspace_handle(course_id, "1721.1/1")
        assert "refused the credentials" in str(refused.value)
        unreachable = cms_client(env.sandbox, auth_style=style)
        unreachable.settings = type(unreachable.settings)("http://127.0.0.1:9", "ocw-engine", CMS_PASSWORD, style)
        with pytest.raises(CmsError) as failed:
            unreachable.retirement_queue()
        for error in (refused.value, failed.value):
            text = f"{error!s} {error!r} {error.__cause__!r} {error.__context__!r}"
            assert CMS_PASSWORD not in text and "__ac_password" not in text
    hanging = sword_client(env.sandbox, read_timeout=0.3)
    inject_fault(env.sandbox.dspace_url, "sword_deposit", kind="hang", seconds=3)
    with pytest.raises(SwordOutcomeUnknownError) as timed_out:
        retire(env.__class__(**{**env.__dict__, "sword": hanging}), course_id)
    assert SWORD_PASSWORD not in str(timed_out.value)
    assert CMS_PASSWORD not in caplog.text and SWORD_PASSWORD not in caplog.text


def test_a_course_with_a_vanished_package_is_rebuilt(env):
    course_id = COURSES[0]
    state.register(env.engine, [course_id])
    steps.fetch(env.engine, env.holding, env.cms, course_id)
    steps.package(env.engine, env.holding, course_id)
    Path(state.load(env.engine, course_id).package_path).unlink()
    with pytest.raises(steps.StepOrderError, match="packaging runs again"):
        steps.store(env.engine, env.retired, course_id)
    retire(env, course_id)
    assert_retired_once(env, course_id)


def test_a_corrupted_package_is_never_stored_and_is_rebuilt(env):
    course_id = COURSES[0]
    state.register(env.engine, [course_id])
    steps.fetch(env.engine, env.holding, env.cms, course_id)
    steps.package(env.engine, env.holding, course_id)
    package = Path(state.load(env.engine, course_id).package_path)
    data = bytearray(package.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped bit on disk
    package.write_bytes(bytes(data))
    with pytest.raises(steps.PackageCorruptError):
        steps.store(env.engine, env.retired, course_id)
    assert not any(env.retired.rglob("*.zip")) and state.load(env.engine, course_id).state == S.FETCHED
    retire(env, course_id)
    assert_retired_once(env, course_id)


def test_symlinks_planted_in_the_holding_area_are_refused(env, tmp_path):
    course_id = COURSES[0]
    target = env.holding.course_dir(course_id)
    target.mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (target / "content").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(HostileNameError, match="symlink"):
        retire(env, course_id)
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_oversized_metadata_is_refused(env, monkeypatch):
    from ocw_operators.retirement import holding

    monkeypatch.setattr(holding, "MAX_METADATA_BYTES", 64)
    with pytest.raises(CmsError, match="larger than 64 bytes"):
        retire(env, COURSES[0])
    assert state.load(env.engine, COURSES[0]).state == S.PENDING


def test_on_behalf_of_and_headers_reach_dspace(env):
    from ocw_operators.clients.dspace_sword import SwordClient, SwordSettings

    env.sword = SwordClient(SwordSettings(env.sandbox.dspace_url, on_behalf_of="ocw-publisher", read_timeout=10),
                            basic_session("sword-depositor", SWORD_PASSWORD))  # fmt: skip
    retire(env, COURSES[0])
    (deposit,) = env.sandbox.sword.deposits
    record = state.load(env.engine, COURSES[0])
    assert deposit["on_behalf_of"] == "ocw-publisher" and deposit["md5"] == record.zip_md5
    assert deposit["filename"] == Path(record.zip_path).name


def test_sample_course_helper_is_deterministic():
    assert sample_course(COURSES[0]).resources[0].md5 == sample_course(COURSES[0]).resources[0].md5


_KILLED_WORKER = """
import json, sys
from ocw_operators.db import make_engine
from ocw_operators.retirement import steps
from ocw_operators.clients.dspace_sword import SwordClient, SwordSettings
from ocw_operators.retirement.collection_map import CollectionMap
config = json.loads(sys.argv[1])
from tests.ocw_operators.retirement.sandbox_env import basic_session
session = basic_session(config["user"], config["password"])
client = SwordClient(SwordSettings(config["dspace"], read_timeout=60), session)
steps.deposit(make_engine(config["db"]), client, CollectionMap(config["collections"]), config["course_id"])
"""


def test_worker_killed_mid_deposit_never_leads_to_a_second_item(env, archive_db_url):
    """A real SIGKILL while the deposit request is in flight; the rerun must not deposit blindly."""
    import json
    import subprocess
    import sys
    import time

    from tests.ocw_operators.retirement.sandbox_env import COLLECTIONS, SWORD_USER

    course_id = COURSES[0]
    state.register(env.engine, [course_id])
    steps.fetch(env.engine, env.holding, env.cms, course_id)
    steps.package(env.engine, env.holding, course_id)
    steps.store(env.engine, env.retired, course_id)
    inject_fault(env.sandbox.dspace_url, "sword_deposit", kind="hang", seconds=30)
    config = {"dspace": env.sandbox.dspace_url, "user": SWORD_USER, "password": SWORD_PASSWORD,
              "collections": COLLECTIONS, "course_id": course_id, "db": archive_db_url}  # fmt: skip
    worker = subprocess.Popen([sys.executable, "-c", _KILLED_WORKER, json.dumps(config)])
    try:
        deadline = time.monotonic() + 30
        while state.load(env.engine, course_id).state != S.DEPOSITING:
            assert worker.poll() is None and time.monotonic() < deadline, "the worker never started depositing"
            time.sleep(0.05)
        time.sleep(0.2)  # the request is on the wire, DSpace is holding it
    finally:
        worker.kill()
        worker.wait(timeout=10)
    clear_faults(env.sandbox.dspace_url)
    lookup = oai_like_lookup(env.sandbox.store)
    with pytest.raises(DepositOutcomeUnknownError):
        retire(env, course_id, lookup=lookup)
    retire(env, course_id, lookup=lookup, redeposit=True)
    assert_retired_once(env, course_id)
