"""The settings registry is the one place a Variable is declared: the README's table, the dev Variables file, the
code that reads Variables, the deployment files and the docs all agree with it."""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from pathlib import Path

import pytest
import yaml

from ocw_operators.settings import SETTINGS, variables_file

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / "plugins" / "ocw_operators"
DAG_FILES = sorted((ROOT / "dags").glob("*.py"))
OPERATOR_FILES = sorted((PLUGINS / "operators").glob("*.py"))
DEV_VARIABLES = ROOT / "include" / "dev" / "variables.json"


def readme_table() -> str:
    """The README's Variables table, as the registry renders it."""
    rows = ["| key | default | values | meaning |", "|---|---|---|---|"]
    rows += [f"| `{e.name}` | {e.default_text} | {e.allowed} | {e.description} |" for e in SETTINGS.values()]
    return "\n".join(rows)


def test_the_readme_table_is_the_registry():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("\n## Variables\n") : readme.index("\n## Params")]
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    assert table == readme_table(), f"replace the README's Variables table with:\n\n{readme_table()}\n"


def test_the_dev_variables_file_lists_every_variable_with_its_description():
    """``airflow variables import`` reads ``{"KEY": {"value": ..., "description": ...}}``; the UI shows the
    description. Values are the development ones, or empty (the registry's default)."""
    dev = json.loads(DEV_VARIABLES.read_text())
    expected = variables_file({name: entry["value"] for name, entry in dev.items()})
    assert dev == expected, f"write include/dev/variables.json as:\n{json.dumps(expected, indent=2)}"
    assert list(dev) == list(SETTINGS)
    for name, entry in dev.items():
        assert isinstance(entry["value"], str), f"{name}: text values are imported as they are"
        SETTINGS[name].parse(entry["value"])  # a bad development value would fail every task reading it


def test_no_development_value_repeats_a_default():
    for name, entry in json.loads(DEV_VARIABLES.read_text()).items():
        setting = SETTINGS[name]
        if entry["value"] and setting.default is not None:
            assert setting.parse(entry["value"]) != setting.default, f"{name}: leave it empty, the default applies"


def _calls(path: Path, function: str) -> list[ast.Call]:
    tree = ast.parse(path.read_text())
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (getattr(node.func, "id", None) == function or getattr(node.func, "attr", None) == function)
    ]


def test_variables_are_read_only_through_the_registry():
    for path in sorted(PLUGINS.rglob("*.py")):
        if path == PLUGINS / "settings.py":
            continue
        text = path.read_text()
        assert "Variable.get" not in text and "from airflow.sdk import Variable" not in text, path
    for path in DAG_FILES:
        assert not re.search(r"\bvar\.(value|json)\b", path.read_text()), f"{path.name}: read Variables at run time"


def test_every_variable_named_in_code_is_registered():
    named = set()
    for path in [*PLUGINS.rglob("*.py"), *DAG_FILES]:
        for function in ("setting", "parse_setting"):
            for call in _calls(path, function):
                if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
                    named.add(call.args[0].value)
    assert named, "the operators read their Variables through setting()"
    assert named <= set(SETTINGS), named - set(SETTINGS)
    assert set(SETTINGS) <= named, f"registered but never read: {set(SETTINGS) - named}"


def test_the_sandbox_tests_and_compose_set_only_registered_variables():
    demo = ast.parse((ROOT / "include" / "ocw_sandbox" / "demo.py").read_text())
    [variables] = [kw.value for node in ast.walk(demo) if isinstance(node, ast.Call) for kw in node.keywords
                   if kw.arg == "variables" and isinstance(kw.value, ast.Dict)]  # fmt: skip
    sandbox = {key.value for key in variables.keys}
    assert sandbox and sandbox <= set(SETTINGS), sandbox - set(SETTINGS)
    in_tests = set()
    for path in (ROOT / "tests").rglob("*.py"):
        in_tests.update(re.findall(r"AIRFLOW_VAR_([A-Za-z_]+)", path.read_text()))
    in_tests -= {"OCW_TEST_SETTING"}
    registered = {name.upper() for name in SETTINGS}
    assert in_tests <= registered, in_tests - registered
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())["x-airflow-common"]["environment"]
    for key, value in compose.items():
        if key.startswith("AIRFLOW_VAR_"):
            assert key.removeprefix("AIRFLOW_VAR_") in registered, key
            # ``${OCW_X:-}``: empty unless set, and empty means the registry's default.
            assert re.fullmatch(r"\$\{\w+:-\}", value), f"{key}={value}: leave the default to the registry"


def _doc_texts() -> list[tuple[str, str]]:
    """DAG files (their docs, Param descriptions and comments) and the operators' docstrings."""
    texts = [(path.name, path.read_text()) for path in DAG_FILES]
    for path in OPERATOR_FILES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.Module) and ast.get_docstring(node):
                texts.append((f"{path.name}:{getattr(node, 'name', '')}", ast.get_docstring(node)))
    return texts


@pytest.mark.parametrize(("where", "text"), _doc_texts(), ids=lambda value: value if ".py" in value else "")
def test_docs_name_variables_without_repeating_their_defaults(where, text):
    for name, setting in SETTINGS.items():
        shown = setting.default_text.strip("`")
        for match in re.finditer(rf"\b{re.escape(name)}\b`*", text):
            after = text[match.end() : match.end() + 40]
            assert "default" not in after.split(".")[0], f"{where}: {name}{after!r} states a default"
            if setting.default is not None or setting.default_label:
                stated = re.match(rf"\s*(\(|or\s+`*){re.escape(shown)}\b", after)
                assert stated is None, f"{where}: {name}{after!r} repeats the default {shown}"


def test_code_defaults_agree_with_the_registry():
    """Domain code keeps defaults for callers without Airflow (the CLI, tests, benchmarks); they are the
    registry's."""
    from ocw_operators.external_resources.resource_fields import DEFAULT_SITEMAP_DOMAIN
    from ocw_operators.external_resources.site_git import DEFAULT_AUTHOR
    from ocw_operators.external_resources.store import CHECK_BATCH_SIZE
    from ocw_operators.linkcheck.checker import CheckSettings
    from ocw_operators.ratelimit import DEFAULT_RATE_PER_SECOND
    from ocw_operators.tivoli.dsmc import DEFAULT_DSMC_COMMAND
    from ocw_operators.tivoli.load import DEFAULT_LOAD_TIMEOUT
    from ocw_operators.tivoli.prep import DEFAULT_QUIET_PERIOD
    from ocw_operators.wayback.candidates import DEFAULT_PENDING_EXPIRY, DEFAULT_SUBMISSION_INTERVAL

    checker = {field.name: field.default for field in dataclasses.fields(CheckSettings)}
    pairs = {
        "LINK_CHECK_TIMEOUT_SECONDS": checker["total_timeout_s"],
        "LINK_CHECK_PER_HOST_LIMIT": checker["per_host_limit"],
        "LINK_CHECK_MAX_CONCURRENCY": checker["max_concurrency"],
        "LINK_CHECK_BATCH_SIZE": CHECK_BATCH_SIZE,
        "WAYBACK_RATE_LIMIT_PER_SECOND": DEFAULT_RATE_PER_SECOND,
        "WAYBACK_SUBMISSION_INTERVAL_DAYS": DEFAULT_SUBMISSION_INTERVAL.total_seconds() / 86400,
        "WAYBACK_PENDING_EXPIRY_HOURS": DEFAULT_PENDING_EXPIRY.total_seconds() / 3600,
        "OCW_SITEMAP_DOMAIN": DEFAULT_SITEMAP_DOMAIN,
        "OCW_SITES_GIT_AUTHOR": DEFAULT_AUTHOR,
        "TIVOLI_QUIET_MINUTES": DEFAULT_QUIET_PERIOD.total_seconds() / 60,
        "TIVOLI_DSMC_TIMEOUT_MINUTES": DEFAULT_LOAD_TIMEOUT.total_seconds() / 60,
        "TIVOLI_DSMC_COMMAND": DEFAULT_DSMC_COMMAND,
    }
    assert {name: SETTINGS[name].default for name in pairs} == pairs
