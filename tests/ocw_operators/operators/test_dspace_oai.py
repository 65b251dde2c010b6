"""The harvest and reconcile operators, executed directly with env-var Connections."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from ocw_operators.db.models.oai import HarvestMode
from ocw_operators.db.models.retirement import DSpaceFlag
from ocw_operators.oai.records import Granularity
from ocw_operators.operators.dspace_oai import DSpaceOaiHarvestOperator, DSpaceOaiReconcileOperator
from ocw_operators.retirement import state
from tests.ocw_operators import task_log
from tests.ocw_operators.oai import support
from tests.ocw_operators.oai.support import OCW_SET, add_courses
from tests.ocw_operators.retirement.sandbox_env import record_deposit

INTERVAL_START = dt.datetime(2026, 3, 1, 2, tzinfo=dt.UTC)
INTERVAL_END = dt.datetime(2026, 3, 2, 2, tzinfo=dt.UTC)


def context(run_type: str = "scheduled", **extra) -> dict:
    return {
        "dag_run": SimpleNamespace(run_type=run_type),
        "run_id": f"{run_type}__2026-03-01",
        "data_interval_start": INTERVAL_START,
        "data_interval_end": INTERVAL_END,
        **extra,
    }


def request_for(operator, ctx, granularity=Granularity.SECOND):
    return operator._request(ctx, granularity)


def test_a_scheduled_run_is_incremental_with_overlap():
    request = request_for(DSpaceOaiHarvestOperator(task_id="h"), context())
    assert (request.mode, request.overlap) == (HarvestMode.INCREMENTAL, dt.timedelta(days=1))


def test_a_backfill_run_harvests_its_data_interval():
    request = request_for(DSpaceOaiHarvestOperator(task_id="h"), context("backfill"))
    assert request.mode is HarvestMode.WINDOW
    assert (request.from_, request.until) == (INTERVAL_START, INTERVAL_END - dt.timedelta(seconds=1))


def test_params_choose_full_or_an_explicit_window():
    full = DSpaceOaiHarvestOperator(task_id="h", full_reharvest="True", harvest_from="", harvest_until="")
    assert request_for(full, context()).mode is HarvestMode.FULL
    window = DSpaceOaiHarvestOperator(
        task_id="h", full_reharvest="True", harvest_from="2026-02-01", harvest_until="None"
    )
    request = request_for(window, context())
    assert (request.mode, request.from_, request.until) == (
        HarvestMode.WINDOW, dt.datetime(2026, 2, 1, tzinfo=dt.UTC), None,
    )  # fmt: skip


def test_a_bare_until_date_covers_the_whole_day():
    operator = DSpaceOaiHarvestOperator(task_id="h", harvest_from="2026-03-01", harvest_until="2026-03-31")
    request = request_for(operator, context())
    assert (request.from_, request.until) == (
        dt.datetime(2026, 3, 1, tzinfo=dt.UTC), dt.datetime(2026, 3, 31, 23, 59, 59, tzinfo=dt.UTC),
    )  # fmt: skip
    exact = DSpaceOaiHarvestOperator(task_id="h", harvest_until="2026-03-31T12:00:00Z")
    assert request_for(exact, context()).until == dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC)


def test_bad_params_are_clear_errors():
    with pytest.raises(AirflowException, match="harvest_from 'last tuesday'"):
        request_for(DSpaceOaiHarvestOperator(task_id="h", harvest_from="last tuesday"), context())
    with pytest.raises(AirflowFailException, match="full_reharvest must be true or false"):
        request_for(DSpaceOaiHarvestOperator(task_id="h", full_reharvest="perhaps"), context())
    with pytest.raises(ValueError, match="after until"):
        request_for(
            DSpaceOaiHarvestOperator(task_id="h", harvest_from="2026-03-02", harvest_until="2026-03-01"), context()
        )


def test_harvest_operator_stores_items_and_reruns_incrementally(monkeypatch, sandbox_runtime, archive_db_conn):
    sandbox = support.start_oai_sandbox(sandbox_runtime)
    add_courses(sandbox.store, sandbox.clock, 130)
    monkeypatch.setenv("AIRFLOW_CONN_DSPACE_OAI_DEFAULT", sandbox.connection_json(set_spec=OCW_SET))
    operator = DSpaceOaiHarvestOperator(task_id="harvest", set_spec="")
    first = operator.execute(context())
    assert (first["records"], first["pages"], first["set_spec"], first["mode"]) == (130, 2, OCW_SET, "incremental")
    json.dumps(first)  # the XCom is plain JSON
    second = operator.execute(context())
    assert second["from_datestamp"] == "2026-02-28T00:02:09Z" and second["records"] == 130  # one day of overlap


def test_reconcile_operator_flags_the_retirement_records_once(monkeypatch, archive_db_conn, archive_engine):
    # No CMS Connection exists: flagging must not need it (only finishing a workflow deposit does).
    monkeypatch.delenv("AIRFLOW_CONN_OCW_CMS_DEFAULT", raising=False)
    record_deposit(
        archive_engine, "history/lost", handle="1721.1/404", deposited_at=INTERVAL_END - dt.timedelta(days=31)
    )
    record_deposit(
        archive_engine, "history/recent", handle="1721.1/405", deposited_at=INTERVAL_END - dt.timedelta(days=2)
    )
    operator = DSpaceOaiReconcileOperator(task_id="r", missing_after_days="14")
    result = operator.execute(context())
    assert result["outcomes"] == {"history/lost": "missing", "history/recent": "not_yet_visible"}
    json.dumps(result)  # the XCom is plain JSON
    lost = state.load(archive_engine, "history/lost")
    assert lost.dspace_flag == DSpaceFlag.MISSING and "1721.1/404" in lost.dspace_flag_reason
    assert lost.state == "done", "a flag never moves the retirement's state"
    again = operator.execute(context())
    assert again["outcomes"] == {"history/recent": "not_yet_visible"}, "a flagged deposit is not reported again"
    assert state.load(archive_engine, "history/lost").dspace_flagged_at == lost.dspace_flagged_at


def test_missing_after_days_is_validated(archive_db_conn):
    operator = DSpaceOaiReconcileOperator(task_id="r", missing_after_days="0")
    with pytest.raises(AirflowException, match="at least 1"):
        operator.execute(context())


def test_harvest_and_reconcile_logs_name_each_flagged_course_with_its_handle_and_reason(
    monkeypatch, sandbox_runtime, archive_db_conn, archive_engine, capsys
):
    monkeypatch.delenv("AIRFLOW_CONN_OCW_CMS_DEFAULT", raising=False)
    sandbox = support.start_oai_sandbox(sandbox_runtime)
    published, withdrawn = add_courses(sandbox.store, sandbox.clock, 2)
    sandbox.store.touch(withdrawn.handle, withdrawn=True)
    monkeypatch.setenv("AIRFLOW_CONN_DSPACE_OAI_DEFAULT", sandbox.connection_json(set_spec=OCW_SET))
    result = DSpaceOaiHarvestOperator(task_id="harvest", set_spec="").execute(context())
    deposited_at = INTERVAL_END - dt.timedelta(days=31)
    for course_id, item in (("history/published", published), ("history/withdrawn", withdrawn)):
        record_deposit(archive_engine, course_id, handle=item.handle, deposited_at=deposited_at,
                       identifier_uri=item.dublin_core["identifier.uri"][0])  # fmt: skip
    record_deposit(archive_engine, "history/lost", handle="1721.1/404", deposited_at=deposited_at)
    record_deposit(archive_engine, "history/recent", handle="1721.1/405", deposited_at=INTERVAL_END)
    DSpaceOaiReconcileOperator(task_id="r", missing_after_days="14").execute(context())
    DSpaceOaiReconcileOperator(task_id="r", missing_after_days="14").execute(context())  # nothing new to flag

    lines = task_log.operator_lines(capsys.readouterr().out)
    logged = [message for _, message in lines]
    assert any(line.startswith(f"Harvesting set {OCW_SET} from {sandbox.base_url} (incremental harvest; repository ")
               for line in logged), logged  # fmt: skip
    assert (
        f"Harvest run {result['run_id']} read 2 record(s) in 1 page(s) (1 deleted, 0 rejected); "
        f"the watermark is now {result['watermark']}"
    ) in logged
    assert (
        "Reconciled 4 deposit(s) with DSpace's OAI-PMH items: 1 published, 1 withdrawn, 1 missing, "
        "1 not yet visible in OAI-PMH"
    ) in logged
    assert ("warning", f"history/withdrawn (hdl:{withdrawn.handle}): flagged withdrawn in DSpace: DSpace withdrew item "
            f"{withdrawn.handle}: OAI-PMH lists it as deleted") in lines  # fmt: skip
    assert ("warning", "history/lost (hdl:1721.1/404): flagged missing from OAI-PMH: item 1721.1/404 has not "
            "appeared in OAI-PMH 31 days after the deposit") in lines  # fmt: skip
    assert "Reconciled 2 deposit(s) with DSpace's OAI-PMH items: 1 published, 1 not yet visible in OAI-PMH" in logged
    assert all(not task_log.REPR.search(message) for message in logged), [m for m in logged if task_log.REPR.search(m)]
