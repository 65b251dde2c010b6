"""Rules the whole package keeps: no assert as a runtime check, no module shadowing the standard library, and
operator constructors that take only typed arguments."""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
from pathlib import Path

import pytest
from airflow.sdk import BaseOperator

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
MODULES = sorted(PLUGINS.rglob("*.py"))
OPERATOR_MODULES = sorted((PLUGINS / "ocw_operators" / "operators").glob("[!_]*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PLUGINS)))
def test_no_assert_checks_anything_at_run_time(path):
    """``python -O`` removes asserts: a condition the code relies on raises a real error."""
    asserts = [node.lineno for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Assert)]
    assert asserts == [], f"{path.name}: assert on line(s) {asserts}"


def test_no_module_is_named_after_a_standard_library_module():
    shadowing = [str(path.relative_to(PLUGINS)) for path in MODULES if path.stem in sys.stdlib_module_names]
    assert shadowing == []


def _operators() -> list[type[BaseOperator]]:
    found = []
    for path in OPERATOR_MODULES:
        module = importlib.import_module(f"ocw_operators.operators.{path.stem}")
        found += [
            value
            for value in vars(module).values()
            if inspect.isclass(value) and issubclass(value, BaseOperator) and value.__module__ == module.__name__
        ]
    return found


@pytest.mark.parametrize("operator", _operators(), ids=lambda operator: operator.__name__)
def test_operator_constructors_take_only_typed_arguments(operator):
    for name, parameter in inspect.signature(operator.__init__).parameters.items():
        if name == "self" or parameter.kind is inspect.Parameter.VAR_KEYWORD:
            continue
        annotation = parameter.annotation
        assert annotation is not inspect.Parameter.empty, f"{operator.__name__}({name}) has no type"
        assert "Any" not in str(annotation), f"{operator.__name__}({name}: {annotation}) says nothing"
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, f"{operator.__name__}({name}) must be keyword-only"
