"""Every third-party module the running code imports (DAGs, the package, the sandbox, the launcher) is declared
in requirements.txt, the file the image and `make install` install from; a module that arrives only as another
package's dependency, or only with the dev tools, breaks when that package changes."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_DIRS = ["dags", "plugins", "include", "scripts"]
FIRST_PARTY = {"ocw_operators", "ocw_sandbox", "scripts", "dags", "tests", "benchmarks", "archive_views"}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_requirements(path: Path = ROOT / "requirements.txt") -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            names.add(_normalise(re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]))
    return names


def runtime_imports() -> dict[str, set[str]]:
    """Absolute imports (module level or inside functions) -> the files importing them."""
    found: dict[str, set[str]] = {}
    for directory in RUNTIME_DIRS:
        for path in sorted((ROOT / directory).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    found.setdefault(module, set()).add(str(path.relative_to(ROOT)))
    return found


def required_distribution(module: str, distributions: dict[str, list[str]]) -> set[str] | None:
    """The distributions of which one must be declared for ``module``; None for stdlib and first-party code."""
    top = module.split(".", maxsplit=1)[0]
    if top in sys.stdlib_module_names or top in FIRST_PARTY or top == "__future__":
        return None
    if top == "airflow":
        provider = re.match(r"airflow\.providers\.([a-z_]+)", module)
        return {f"apache-airflow-providers-{_normalise(provider.group(1))}"} if provider else {"apache-airflow"}
    return {_normalise(name) for name in distributions.get(top, [top])}


def undeclared(imports: dict[str, set[str]], declared: set[str]) -> dict[str, list[str]]:
    distributions = importlib.metadata.packages_distributions()
    missing: dict[str, list[str]] = {}
    for module, files in sorted(imports.items()):
        needed = required_distribution(module, distributions)
        if needed is not None and not needed & declared:
            missing.setdefault(" or ".join(sorted(needed)), []).extend(sorted(files))
    return missing


def test_every_runtime_import_is_declared_in_requirements_txt():
    assert undeclared(runtime_imports(), declared_requirements()) == {}


def test_the_check_sees_an_undeclared_import(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("apache-airflow==3.3.2  # core\nrequests>=2\n")
    imports = {"yaml": {"plugins/x.py"}, "requests.adapters": {"a.py"}, "json": {"b.py"}, "airflow.sdk": {"d.py"},
               "airflow.providers.http.hooks.http": {"h.py"}, "ocw_operators.db": {"c.py"}}  # fmt: skip
    assert undeclared(imports, declared_requirements(requirements)) == {
        "apache-airflow-providers-http": ["h.py"],
        "pyyaml": ["plugins/x.py"],
    }


def test_dev_requirements_hold_only_dev_tools():
    assert declared_requirements(ROOT / "requirements-dev.txt").isdisjoint(declared_requirements())
