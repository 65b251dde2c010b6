"""Running the DAGs under ``dag.test()`` against the sandbox (fixtures in tests/dags/conftest.py)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ocw_operators.dag_defaults import DAG_TIMEZONE
from tests.ocw_operators.retirement.sandbox_env import (
    CMS_PASSWORD,
    CMS_USER,
    COLLECTIONS,
    OCW_SET,
    SWORD_PASSWORD,
    SWORD_USER,
    Sandbox,
)

# Every run in the session gets its own logical date, at 02:00 in the DAGs' timezone so it fits the daily harvest's
# timetable (adding days to a zone-aware datetime keeps the wall-clock time).
_FIRST_LOGICAL_DATE = dt.datetime(2026, 6, 1, 2, tzinfo=ZoneInfo(DAG_TIMEZONE))
_RUN_NUMBERS = itertools.count()


def next_logical_date() -> dt.datetime:
    return (_FIRST_LOGICAL_DATE + dt.timedelta(days=next(_RUN_NUMBERS))).astimezone(dt.UTC)


def task_states(dag_run) -> dict[tuple[str, int], str]:
    return {(ti.task_id, ti.map_index): str(ti.state) for ti in dag_run.get_task_instances()}


# dag.test() runs in this process and keeps the previous run's params: every run states each Param.
def run_retirement(dag, *, logical_date: dt.datetime | None = None, **conf: Any):
    conf = {"course_ids": [], "dry_run": False, "redeposit_after_unknown_outcome": False, **conf}
    return dag.test(run_conf=conf, logical_date=logical_date or next_logical_date())


def run_harvest(dag, *, logical_date: dt.datetime | None = None, **conf: Any):
    conf = {
        "full_reharvest": False,
        "set_spec": None,
        "harvest_from": None,
        "harvest_until": None,
        "missing_after_days": 14,
        **conf,
    }
    return dag.test(run_conf=conf, logical_date=logical_date or next_logical_date())


@dataclass
class Deployment:
    """Connections and Variables as a deployment sets them, pointing at the sandbox and a fresh archive DB."""

    sandbox: Sandbox
    engine: Any
    holding: Path
    retired: Path
    monkeypatch: Any

    def configure(self, *, sword_version: int = 1) -> None:
        env = self.monkeypatch.setenv
        env("AIRFLOW_CONN_DSPACE_SWORD_DEFAULT", json.dumps(
            {"conn_type": "dspace_sword", "host": self.sandbox.dspace_url, "login": SWORD_USER,
             "password": SWORD_PASSWORD,
             "extra": {"collections": COLLECTIONS, "sword_version": sword_version, "read_timeout": 20}}))  # fmt: skip
        # The legacy query-string credentials: the strictest case for keeping them out of logs.
        env("AIRFLOW_CONN_OCW_CMS_DEFAULT", json.dumps(
            {"conn_type": "ocw_cms", "host": self.sandbox.cms_url, "login": CMS_USER, "password": CMS_PASSWORD,
             "extra": {"auth_style": "query"}}))  # fmt: skip
        env("AIRFLOW_CONN_DSPACE_OAI_DEFAULT", json.dumps(
            {"conn_type": "dspace_oai", "host": self.sandbox.oai_url, "extra": {"set_spec": OCW_SET}}))  # fmt: skip
        env("AIRFLOW_VAR_OCW_RETIREMENT_HOLDING_AREA", str(self.holding))
        env("AIRFLOW_VAR_OCW_RETIRED_COURSE_ZIPS_DIR", str(self.retired))
