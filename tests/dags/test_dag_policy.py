"""DAG integrity and policy: the gate every DAG file passes before it lands."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAG_FILES = sorted(p for p in (ROOT / "dags").glob("*.py") if not p.name.startswith("_"))
POOLS = set(json.loads((ROOT / "include" / "pools.json").read_text()))
# Far below Airflow's [core] dagbag_import_timeout (30 s): a DAG file only declares and wires.
MAX_PARSE_SECONDS = 10.0


@pytest.fixture(scope="module")
def dag_bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_no_import_errors(dag_bag):
    assert dag_bag.import_errors == {}, "\n".join(f"{k}: {v}" for k, v in dag_bag.import_errors.items())


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_defines_one_dag_named_after_it(dag_bag, dag_file):
    dags = [dag for dag in dag_bag.dags.values() if Path(dag.fileloc).resolve() == dag_file.resolve()]
    assert [dag.dag_id for dag in dags] == [dag_file.stem]


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_documentation_owner_and_tags(dag_bag, dag_file):
    dag = dag_bag.dags[dag_file.stem]
    assert dag.doc_md and len(dag.doc_md.strip()) > 80, "module docstring rendered with doc_md=__doc__"
    for heading in ("Schedule", "Connections"):
        assert heading in dag.doc_md, f"doc_md must say the {heading}"
    assert dag.tags, "tag every DAG"
    assert dag.default_args.get("owner") not in (None, "", "airflow"), "set a real owner"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_every_task_retries_times_out_and_names_a_pool(dag_bag, dag_file):
    dag = dag_bag.dags[dag_file.stem]
    for task in dag.tasks:
        where = f"{dag.dag_id}.{task.task_id}"
        assert task.retries >= 1, f"{where}: retries"
        assert task.retry_delay.total_seconds() > 0, f"{where}: retry_delay"
        assert task.retry_exponential_backoff and task.retry_exponential_backoff >= 1.0, f"{where}: backoff"
        assert task.execution_timeout is not None, f"{where}: execution_timeout"
        assert task.pool in POOLS, f"{where}: pool {task.pool!r} is not in include/pools.json"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_every_task_mails_its_final_failure_and_never_a_retry(dag_bag, dag_file):
    """One message per task that failed for good: the notifier on failure, nothing on retry."""
    from ocw_operators.alerts.notifier import notifies_failures

    dag = dag_bag.dags[dag_file.stem]
    for task in dag.tasks:
        where = f"{dag.dag_id}.{task.task_id}"
        assert notifies_failures(task.on_failure_callback), f"{where}: use task_defaults() (failure notifier)"
        assert not task.on_retry_callback, f"{where}: a retry must not send mail"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_every_scheduled_dag_has_a_deadline_that_mails_the_late_run(dag_bag, dag_file):
    from airflow.sdk.definitions.deadline import DeadlineAlert

    from ocw_operators.alerts.deadlines import deadline_missed

    dag = dag_bag.dags[dag_file.stem]
    if dag.timetable.__class__.__name__ == "NullTimetable":  # schedule=None: only ever triggered by a person
        assert not dag.deadline
        return
    alerts = dag.deadline if isinstance(dag.deadline, list) else [dag.deadline]
    assert alerts and all(isinstance(alert, DeadlineAlert) for alert in alerts), f"{dag.dag_id}: deadline=deadline_for"
    for alert in alerts:
        assert alert.callback.path == f"{deadline_missed.__module__}.{deadline_missed.__name__}"
        assert alert.callback.path.startswith("ocw_operators."), "the triggerer imports it from plugins/"


_PARSE_PROBE = textwrap.dedent(
    """
    import importlib.util, json, socket, sys, time
    import airflow.sdk  # the Airflow import itself is not the DAG file's cost

    def refuse(*args, **kwargs):
        raise RuntimeError("network I/O while parsing a DAG file")

    socket.socket.connect = refuse
    socket.create_connection = refuse
    from airflow.sdk import BaseHook, Variable
    BaseHook.get_connection = classmethod(lambda cls, *a, **k: refuse())
    Variable.get = staticmethod(refuse)

    path = sys.argv[1]
    started = time.perf_counter()
    spec = importlib.util.spec_from_file_location("dag_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    print(json.dumps({"seconds": time.perf_counter() - started}))
    """
)


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_parsing_does_no_io_and_is_fast(dag_file):
    """Parse each file in a fresh interpreter with network, Connections and Variables refused."""
    result = subprocess.run(
        [sys.executable, "-c", _PARSE_PROBE, str(dag_file)], check=False, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seconds = json.loads(result.stdout.strip().splitlines()[-1])["seconds"]
    assert seconds < MAX_PARSE_SECONDS, f"{dag_file.name} took {seconds:.2f}s to parse"


def test_plugins_airflowignore_keeps_the_package_out_of_the_plugin_loader():
    ignored = (ROOT / "plugins" / ".airflowignore").read_text().split()
    assert "ocw_operators/" in ignored


def _params(dag):
    return [(name, dag.params.get_param(name)) for name in dag.params]


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_every_param_has_a_title_and_a_description(dag_bag, dag_file):
    dag = dag_bag.dags[dag_file.stem]
    for name, param in _params(dag):
        where = f"{dag.dag_id}: Param {name}"
        assert (param.schema.get("title") or "").strip(), f"{where} needs a title (the form's label)"
        description = (param.description or param.schema.get("description_md") or "").strip()
        assert len(description) >= 20, f"{where} needs a description (the help text under the field)"
        assert "type" in param.schema, f"{where} needs a type (the form decides required/optional from it)"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_optional_params_are_optional_in_the_form(dag_bag, dag_file):
    """The trigger form marks a typed field required unless its type allows null (Airflow's params docs), so a
    Param that may be left empty, and every switch, allows null; the operators read null as empty or off."""
    dag = dag_bag.dags[dag_file.stem]
    for name, param in _params(dag):
        types = param.schema["type"] if isinstance(param.schema["type"], list) else [param.schema["type"]]
        empty_default = param.value is None or param.value == [] or "boolean" in types
        if empty_default:
            assert "null" in types, f"{dag.dag_id}: Param {name} is optional, so its type must allow null"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_choices_read_as_words(dag_bag, dag_file):
    dag = dag_bag.dags[dag_file.stem]
    for name, param in _params(dag):
        schema = param.schema
        where = f"{dag.dag_id}: Param {name}"
        choices = schema.get("enum") or schema.get("examples") or []
        if schema.get("type") == "array" and (schema.get("items") or {}).get("enum"):
            # A list of fixed choices is a multi-select only when the schema itself names them.
            assert schema.get("examples") == schema["items"]["enum"], f"{where}: set examples to the choices"
            choices = schema["examples"]
        if choices:
            shown = schema.get("values_display") or {}
            missing = [choice for choice in choices if not str(shown.get(str(choice), "")).strip()]
            assert not missing, f"{where}: values_display must name every choice, missing {missing}"
