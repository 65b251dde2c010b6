"""Hooks read their Connections at run time; operators resume, classify errors and keep secrets out of XComs."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from ocw_operators.clients.cms import CmsError
from ocw_operators.clients.dspace_sword import SwordOutcomeUnknownError
from ocw_operators.db.models.retirement import RetirementState
from ocw_operators.hooks.dspace_sword import DSpaceSwordHook
from ocw_operators.hooks.ocw_cms import OcwCmsHook
from ocw_operators.operators import retirement as ops
from ocw_operators.params import parse_flag, parse_names
from ocw_operators.retirement import state
from ocw_sandbox.cms import SandboxResource
from ocw_sandbox.control import inject_fault
from tests.connections import define_connection
from tests.ocw_operators import task_log
from tests.ocw_operators.retirement.sandbox_env import (
    CMS_PASSWORD,
    CMS_USER,
    COLLECTIONS,
    COURSES,
    SWORD_PASSWORD,
    SWORD_USER,
)


def sword_conn(monkeypatch, host, **extra):
    extra = {"collections": COLLECTIONS, "read_timeout": 10, **extra}
    define_connection(
        monkeypatch, "dspace_sword_default", "dspace_sword", host=host, login=SWORD_USER, password=SWORD_PASSWORD,
        extra=extra,
    )  # fmt: skip


def cms_conn(monkeypatch, host, password=CMS_PASSWORD, **extra):
    define_connection(monkeypatch, "ocw_cms_default", "ocw_cms", host=host, login=CMS_USER, password=password,
                      extra=extra)  # fmt: skip


@pytest.fixture
def deployed(sandbox, archive_db_conn, archive_engine, tmp_path, monkeypatch):
    sword_conn(monkeypatch, sandbox.dspace_url)
    cms_conn(monkeypatch, sandbox.cms_url)
    monkeypatch.setenv("AIRFLOW_VAR_OCW_RETIREMENT_HOLDING_AREA", str(tmp_path / "holding"))
    monkeypatch.setenv("AIRFLOW_VAR_OCW_RETIRED_COURSE_ZIPS_DIR", str(tmp_path / "zips"))
    return sandbox, archive_engine


def test_sword_hook_reads_the_connection_lazily_and_builds_urls(monkeypatch, tmp_path):
    hook = DSpaceSwordHook()  # no Connection exists yet: constructing must not look it up
    extra = {"sword_version": 2, "collections_file": str(tmp_path / "m.json")}
    connection = {"conn_type": "dspace_sword", "host": "dspace.example.edu", "schema": "https", "port": 8443,
                  "login": "u", "password": "p", "extra": extra}  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_DSPACE_SWORD_DEFAULT", json.dumps(connection))
    (tmp_path / "m.json").write_text(json.dumps({"history": "1721.1/33971"}))
    client = hook.get_conn()
    assert client.deposit_url("1721.1/33971") == "https://dspace.example.edu:8443/swordv2/collection/1721.1/33971"
    assert hook.collection_map().collection_for("History") == "1721.1/33971"
    sword_conn(monkeypatch, "https://dspace.example.edu", sword_version=3)
    assert hook.get_conn() is client, "a hook builds its client once"
    with pytest.raises(AirflowException, match="invalid extra"):
        DSpaceSwordHook().get_conn()


def test_hooks_test_connection_against_the_sandbox(sandbox, monkeypatch):
    sword_conn(monkeypatch, sandbox.dspace_url)
    cms_conn(monkeypatch, sandbox.cms_url)
    assert DSpaceSwordHook().test_connection()[0] is True
    ok, message = OcwCmsHook().test_connection()
    assert ok and "2 course(s)" in message
    cms_conn(monkeypatch, sandbox.cms_url, password="wrong")
    ok, message = OcwCmsHook().test_connection()
    assert not ok and "wrong" not in message and CMS_PASSWORD not in message
    cms_conn(monkeypatch, sandbox.cms_url, auth_style="cookie")
    with pytest.raises(AirflowException, match="invalid extra"):
        OcwCmsHook().get_conn()


def run_course(course_id: str, **deposit_kwargs) -> list[dict]:
    results = []
    for operator in (
        ops.FetchCourseResourcesOperator(task_id="fetch", course_id=course_id),
        ops.BuildCourseSipOperator(task_id="package", course_id=course_id, descriptive_metadata="mods"),
        ops.StoreCourseZipOperator(task_id="store", course_id=course_id),
        ops.DepositCourseOperator(task_id="deposit", course_id=course_id, **deposit_kwargs),
        ops.SetCmsDspaceHandleOperator(task_id="set_handle", course_id=course_id),
        ops.RecordRetirementOperator(task_id="record", course_id=course_id),
    ):
        results.append(operator.execute(context={}))
    return results


def test_operators_retire_a_course_and_xcoms_hold_no_secrets(deployed):
    sandbox, _engine = deployed
    selected = ops.SelectRetirementCoursesOperator(task_id="select", course_ids=[]).execute(context={})
    assert selected == sorted(COURSES[:2])
    xcoms = run_course(selected[0])
    assert xcoms[-1]["state"] == "done" and xcoms[-1]["handle"] == sandbox.store.items()[0].handle
    text = json.dumps(xcoms)
    assert SWORD_PASSWORD not in text and CMS_PASSWORD not in text and "<atom:entry" not in text
    assert run_course(selected[0])[-1]["skipped"] is True
    assert len(sandbox.store.items()) == 1
    # Finished courses are not selected again; explicit ids are validated.
    assert ops.SelectRetirementCoursesOperator(task_id="s", course_ids=selected[0]).execute(context={}) == []
    with pytest.raises(AirflowFailException, match="course id"):
        ops.SelectRetirementCoursesOperator(task_id="s", course_ids=["../etc"]).execute(context={})


def test_permanent_errors_fail_fast_and_transient_ones_retry(deployed):
    sandbox, engine = deployed
    course_id = COURSES[0]
    state.register(engine, [course_id, "history/no-such-course"])
    with pytest.raises(AirflowFailException, match="HTTP 404"):
        ops.FetchCourseResourcesOperator(task_id="fetch", course_id="history/no-such-course").execute(context={})
    run_course_until = [ops.FetchCourseResourcesOperator(task_id="f", course_id=course_id),
                        ops.BuildCourseSipOperator(task_id="p", course_id=course_id),
                        ops.StoreCourseZipOperator(task_id="s", course_id=course_id)]  # fmt: skip
    for operator in run_course_until:
        operator.execute(context={})
    sandbox.sword.max_upload_size = 10
    with pytest.raises(AirflowFailException, match="HTTP 413"):
        ops.DepositCourseOperator(task_id="deposit", course_id=course_id).execute(context={})
    sandbox.sword.max_upload_size = 0
    # DSpace's own 5xx verdict (a sword:error document): nothing was created, so a retry deposits.
    repository_error = (
        '<sword:error xmlns:sword="http://purl.org/net/sword/" xmlns:atom="http://www.w3.org/2005/Atom" '
        'href="http://www.dspace.org/ns/sword/1.3.1/errors/RepositoryError"><atom:summary>disk full</atom:summary>'
        "</sword:error>"
    )
    inject_fault(sandbox.dspace_url, "sword_deposit", kind="status", status=500, body=repository_error)
    with pytest.raises(Exception, match="HTTP 500") as transient:
        ops.DepositCourseOperator(task_id="deposit", course_id=course_id).execute(context={})
    assert not isinstance(transient.value, AirflowFailException)
    assert "HTTP 500" in state.load(engine, course_id).last_error
    ops.DepositCourseOperator(task_id="deposit", course_id=course_id).execute(context={})
    inject_fault(sandbox.cms_url, "set_dspace_handle", kind="status", status=502)
    with pytest.raises(CmsError) as cms_failure:
        ops.SetCmsDspaceHandleOperator(task_id="h", course_id=course_id).execute(context={})
    assert CMS_PASSWORD not in str(cms_failure.value)
    assert state.load(engine, course_id).state == RetirementState.DEPOSITED
    ops.SetCmsDspaceHandleOperator(task_id="h", course_id=course_id).execute(context={})
    assert ops.RecordRetirementOperator(task_id="r", course_id=course_id).execute(context={})["state"] == "done"
    assert len(sandbox.store.items()) == 1


def test_a_gateway_503_is_never_retried_into_a_second_deposit(deployed):
    sandbox, engine = deployed
    course_id = COURSES[0]
    state.register(engine, [course_id])
    for operator in (ops.FetchCourseResourcesOperator(task_id="f", course_id=course_id),
                     ops.BuildCourseSipOperator(task_id="p", course_id=course_id),
                     ops.StoreCourseZipOperator(task_id="s", course_id=course_id)):  # fmt: skip
        operator.execute(context={})
    inject_fault(sandbox.dspace_url, "sword_deposit", kind="replace", status=503, body="<html>busy</html>")
    with pytest.raises(SwordOutcomeUnknownError, match="HTTP 503"):
        ops.DepositCourseOperator(task_id="deposit", course_id=course_id).execute(context={})
    record = state.load(engine, course_id)
    assert record.state == RetirementState.DEPOSITING and "HTTP 503" in record.last_error
    # Airflow's retry: the item is not harvested yet, so the task fails at once and says why.
    with pytest.raises(AirflowFailException, match="may have created a DSpace item"):
        ops.DepositCourseOperator(task_id="deposit", course_id=course_id).execute(context={})
    assert len(sandbox.store.items()) == 1 and len(sandbox.sword.deposits) == 1


def test_a_file_name_too_long_fails_the_fetch_without_retries_and_the_record_keeps_why(deployed):
    sandbox, engine = deployed
    course_id = COURSES[0]
    name = "readings/" + "ü" * 200 + ".pdf"
    sandbox.cms.courses[course_id].resources.append(SandboxResource(name=name, content=b"x"))
    state.register(engine, [course_id])
    with pytest.raises(AirflowFailException, match="its file name has 404 bytes") as failed:
        ops.FetchCourseResourcesOperator(task_id="fetch", course_id=course_id).execute(context={})
    assert course_id in str(failed.value) and name[:40] in str(failed.value)
    record = state.load(engine, course_id)
    assert record.state == RetirementState.PENDING
    assert record.last_error.startswith(f"fetch: course {course_id}: ") and "404 bytes" in record.last_error


def test_task_logs_tell_each_course_outcome_in_sentences(deployed, monkeypatch, capsys):
    sandbox, engine = deployed
    first, second = sorted(COURSES[:2])
    ops.SelectRetirementCoursesOperator(task_id="select", course_ids=[]).execute(context={})
    run_course(first)
    handle = state.load(engine, first).dspace_handle
    run_course(first)  # a rerun says what was already done
    sword_conn(monkeypatch, sandbox.dspace_url, sword_version=2)
    sandbox.sword.workflow = True
    with pytest.raises(AirflowSkipException, match="waiting in DSpace's review workflow"):
        run_course(second)
    (pending,) = [item for item in sandbox.store.items() if item.in_workflow]
    finish = ops.FinishWorkflowDepositsOperator(task_id="finish")
    finish.execute(context={})
    sandbox.store.touch(pending.handle, in_workflow=False)
    finish.execute(context={"run_id": "finish-run"})
    assert state.load(engine, second).retirement_run_id == "finish-run", "the finishing run's Archive tab lists it"
    state.register(engine, ["history/no-such-course"])
    with pytest.raises(AirflowFailException):
        ops.FetchCourseResourcesOperator(task_id="fetch", course_id="history/no-such-course").execute(context={})

    lines = task_log.operator_lines(capsys.readouterr().out)
    logged = [message for _, message in lines]
    assert f"2 course(s) on the CMS retirement queue; retiring {first}, {second}" in logged
    assert f"{first}: deposited into collection 1721.1/33971 as hdl:{handle} (HTTP 201)" in logged
    assert f"{first}: handle hdl:{handle} set in the CMS" in logged
    assert any(line.startswith(f"{first}: deposited as hdl:{handle}, handle set in the CMS; retirement done (zip ")
               for line in logged)  # fmt: skip
    assert f"{first}: already deposited as hdl:{handle}" in logged
    assert f"{first}: already retired: deposited as hdl:{handle}, handle set in the CMS" in logged
    accepted = f"{second}: accepted into DSpace's review workflow in collection 1721.1/33972 (HTTP 201); its handle"
    assert any(line.startswith(accepted) for line in logged)
    assert f"{second}: still waiting in DSpace's review workflow; no handle yet" in logged
    assert (
        f"{second}: DSpace's workflow archived the item as hdl:{pending.handle}; handle set in the CMS, retirement done"
        in logged
    )
    assert ("error", "history/no-such-course: fetch failed, and another try would not help: the CMS has nothing at "
            f"{sandbox.cms_url}/courses/history/no-such-course/resources.json (HTTP 404)") in lines  # fmt: skip
    assert all(not task_log.REPR.search(message) for message in logged), [m for m in logged if task_log.REPR.search(m)]


def test_dry_run_skips_side_effects_and_templates_hold_no_secrets(deployed):
    operator = ops.DepositCourseOperator(task_id="deposit", course_id=COURSES[0], dry_run="True")
    with pytest.raises(AirflowSkipException, match="dry run"):
        operator.execute(context={})
    for name in operator.template_fields:
        assert SWORD_PASSWORD not in str(getattr(operator, name)) and CMS_PASSWORD not in str(getattr(operator, name))


def test_directory_variables_must_be_absolute(deployed, monkeypatch):
    _, engine = deployed
    state.register(engine, [COURSES[0]])
    monkeypatch.setenv("AIRFLOW_VAR_OCW_RETIREMENT_HOLDING_AREA", "relative/dir")
    with pytest.raises(AirflowFailException, match="absolute"):
        ops.FetchCourseResourcesOperator(task_id="fetch", course_id=COURSES[0]).execute(context={})


@pytest.mark.parametrize(
    ("value", "expected"),
    [([], []), ("", []), ('["a/b", "c/d"]', ["a/b", "c/d"]), ("a/b, c/d", ["a/b", "c/d"]), (["a/b "], ["a/b"])],
)
def test_course_id_params(value, expected):
    assert parse_names(value, "course_ids", split_on_spaces=True) == expected
    assert parse_flag("True", "dry_run") and not parse_flag("false", "dry_run") and parse_flag(True, "dry_run")
