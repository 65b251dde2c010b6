"""Schedules run in the library's local time: cron points computed with the timetable API across the 2026 US DST
changes (clocks go forward on March 8 and back on November 1 in America/New_York)."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ocw_operators.dag_defaults import DEFAULT_TIMEZONE, TIMEZONE_ENV, dag_timezone

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ZoneInfo("America/New_York")
CRON_DAGS = [
    "archive_attention",
    "dspace_oai_harvest",
    "external_resource_check",
    "ocw_course_retirement",
    "tivoli_dropbox_prep",
    "tivoli_nightly_load",
    "wayback_status_update",
]


@pytest.fixture(scope="module")
def dag_bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def _core_timetable(dag):
    from airflow.serialization.encoders import coerce_to_core_timetable

    return coerce_to_core_timetable(dag.timetable)


def fire_times(dag, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """When the scheduler would start each run between ``start`` and ``end``, in local time."""
    from airflow.timetables.base import TimeRestriction

    timetable = _core_timetable(dag)
    restriction = TimeRestriction(earliest=start, latest=None, catchup=True)
    times, last = [], None
    while True:
        info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        if info is None or info.run_after > end:
            return times
        times.append(info.run_after.astimezone(LOCAL))
        last = info.data_interval


def _local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LOCAL)


@pytest.mark.parametrize(
    ("before", "after"),
    [((2026, 3, 6), (2026, 3, 9)), ((2026, 10, 30), (2026, 11, 2))],
    ids=["spring-forward", "fall-back"],
)
def test_tivoli_prep_runs_07_to_17_local_on_both_sides_of_dst(dag_bag, before, after):
    dag = dag_bag.dags["tivoli_dropbox_prep"]
    days = []
    for day in (before, after):
        times = fire_times(dag, _local(*day), _local(*day, 23, 59))
        assert [(t.hour, t.minute) for t in times] == [(hour, 0) for hour in range(7, 18)], day
        days.append(times)
    # The same local hours are different UTC hours once the clocks have changed.
    utc_hours = [{t.astimezone(dt.UTC).hour for t in times} for times in days]
    assert utc_hours[0] != utc_hours[1]
    assert min(days[0]).date() == dt.date(*before) and min(days[1]).date() == dt.date(*after)


@pytest.mark.parametrize("day", [(2026, 3, 7), (2026, 3, 8), (2026, 3, 9), (2026, 10, 31), (2026, 11, 1)])
def test_nightly_load_runs_at_18_local(dag_bag, day):
    times = fire_times(dag_bag.dags["tivoli_nightly_load"], _local(*day), _local(*day, 23, 59))
    assert [(t.date(), t.hour, t.minute) for t in times] == [(dt.date(*day), 18, 0)]


def test_weekly_check_runs_monday_04_local_across_dst(dag_bag):
    spring = fire_times(dag_bag.dags["external_resource_check"], _local(2026, 3, 1), _local(2026, 3, 10))
    fall = fire_times(dag_bag.dags["external_resource_check"], _local(2026, 10, 25), _local(2026, 11, 3))
    assert spring == [_local(2026, 3, 2, 4), _local(2026, 3, 9, 4)]
    assert fall == [_local(2026, 10, 26, 4), _local(2026, 11, 2, 4)]
    assert [t.astimezone(dt.UTC).hour for t in spring + fall] == [9, 8, 8, 9]


def test_daily_harvest_keeps_data_intervals_in_local_time(dag_bag):
    from airflow.timetables.interval import CronDataIntervalTimetable

    dag = dag_bag.dags["dspace_oai_harvest"]
    assert isinstance(_core_timetable(dag), CronDataIntervalTimetable)
    times = fire_times(dag, _local(2026, 10, 30), _local(2026, 11, 2, 12))
    assert [(t.day, t.hour) for t in times] == [(31, 2), (1, 2), (2, 2)]
    # The interval that ends at 02:00 on the day the clocks go back lasts 25 hours: no hour is lost or harvested twice.
    utc = [t.astimezone(dt.UTC) for t in times]
    assert [later - earlier for earlier, later in itertools.pairwise(utc)] == [
        dt.timedelta(hours=25),
        dt.timedelta(hours=24),
    ]
    # 02:00 does not exist on the day the clocks go forward: that day's run starts at 03:00, once.
    spring = fire_times(dag, _local(2026, 3, 6), _local(2026, 3, 9, 12))
    assert [(t.day, t.hour) for t in spring] == [(7, 2), (8, 3), (9, 2)]


@pytest.mark.parametrize("dag_id", CRON_DAGS)
def test_every_cron_schedule_is_in_the_configured_timezone_and_says_so(dag_bag, dag_id):
    dag = dag_bag.dags[dag_id]
    assert _core_timetable(dag).serialize()["timezone"] == DEFAULT_TIMEZONE
    assert f"`{DEFAULT_TIMEZONE}`" in dag.doc_md and TIMEZONE_ENV in dag.doc_md


def test_every_time_scheduled_dag_is_checked_here(dag_bag):
    from airflow.timetables.base import Timetable
    from airflow.timetables.simple import AssetTriggeredTimetable, NullTimetable

    timed = {
        dag_id
        for dag_id, dag in dag_bag.dags.items()
        if isinstance(_core_timetable(dag), Timetable)
        and not isinstance(_core_timetable(dag), (NullTimetable, AssetTriggeredTimetable))
    }
    assert timed == set(CRON_DAGS)


def test_timezone_setting():
    assert dag_timezone({}) == DEFAULT_TIMEZONE
    assert dag_timezone({TIMEZONE_ENV: " Europe/Berlin "}) == "Europe/Berlin"
    with pytest.raises(ValueError, match="OCW_DAG_TIMEZONE='Mars/Olympus' is not a known IANA timezone"):
        dag_timezone({TIMEZONE_ENV: "Mars/Olympus"})


def test_the_environment_variable_moves_every_schedule():
    probe = (
        "from airflow.dag_processing.dagbag import DagBag; from airflow.serialization.encoders import "
        f"coerce_to_core_timetable as c; bag = DagBag(dag_folder={str(ROOT / 'dags')!r}); "
        "print(sorted({c(d.timetable).serialize()['timezone'] for d in bag.dags.values() "
        "if 'Cron' in type(d.timetable).__name__}))"
    )
    env = {**os.environ, TIMEZONE_ENV: "Europe/Berlin"}
    result = subprocess.run(
        [sys.executable, "-c", probe], check=False, capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "['Europe/Berlin']"
