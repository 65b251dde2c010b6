"""The README's operator instructions: commands as typed, backfills that keep one-at-a-time DAGs one at a time,
and a deployment section that names every secret."""

from __future__ import annotations

import re
from pathlib import Path

from scripts.deploy_secrets import ADMIN_PASSWORDS, REQUIRED_FILES

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def test_every_backfill_command_runs_one_run_at_a_time():
    commands = re.findall(r"^\s+(?:\.venv/bin/|docker compose exec \S+ )?airflow backfill create .*$", README, re.M)
    assert len(commands) >= 5
    assert [command for command in commands if "--max-active-runs 1" not in command] == []


def test_backfill_commands_are_shown_as_typed():
    backfill = _section("Backfill")
    assert "export AIRFLOW_HOME=$PWD/var/airflow" in backfill
    assert ".venv/bin/airflow backfill create" in backfill
    assert "does not apply the DAG's `max_active_runs=1` to backfill runs" in backfill


def test_the_double_run_of_unpause_on_trigger_is_explained_beside_the_dags():
    dags = _section("DAGs")
    assert "Unpause on trigger" in dags and "scheduled__" in dags


def test_the_deployment_section_names_every_secret_and_the_fernet_rotation():
    scale_out = _section("Scale-out")
    for name in [*REQUIRED_FILES, ADMIN_PASSWORDS]:
        assert f"/{name}`" in scale_out, name
    assert "airflow rotate-fernet-key" in scale_out
    assert "LocalFilesystemBackend" in scale_out and "VaultBackend" in scale_out
