"""Run benchmarks: ``python -m benchmarks [name ...] [--quick] [benchmark options]``.

Without names every ``benchmarks/bench_<name>.py`` runs. Each result is printed as readable text, followed by a
one-line summary per benchmark, and written to ``benchmarks/results/<name>.json``. Options a benchmark declares
with ``add_arguments(parser)`` (e.g. ``--urls 500`` for ``linkcheck``) may appear anywhere on the command line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import pkgutil
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

BENCHMARKS_DIR = Path(__file__).resolve().parent
ROOT = BENCHMARKS_DIR.parent
RESULTS_DIR = BENCHMARKS_DIR / "results"
PREFIX = "bench_"

# The same import roots as Airflow and the tests: the operator package and the sandbox.
for _path in (ROOT / "plugins", ROOT / "include", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))


def discover() -> list[str]:
    """Names (without the ``bench_`` prefix) of every benchmark module, sorted."""
    return sorted(
        module.name.removeprefix(PREFIX)
        for module in pkgutil.iter_modules([str(BENCHMARKS_DIR)])
        if module.name.startswith(PREFIX)
    )


def load(name: str) -> ModuleType:
    return importlib.import_module(f"benchmarks.{PREFIX}{name}")


def _option_parser(name: str) -> argparse.ArgumentParser | None:
    try:
        module = load(name)
    except Exception:  # reported with its traceback when the benchmark runs
        return None
    add_arguments = getattr(module, "add_arguments", None)
    if add_arguments is None:
        return None
    parser = argparse.ArgumentParser(prog=module.__name__, add_help=False)
    add_arguments(parser)
    return parser


def parse_command_line(argv: list[str]) -> tuple[argparse.Namespace, dict[str, dict[str, Any]]]:
    """The runner's own arguments, and each benchmark's options (a benchmark sees every option it declares)."""
    available = discover()
    option_parsers = {name: _option_parser(name) for name in available}
    options: dict[str, dict[str, Any]] = {}
    remaining = list(argv)
    for name, parser in option_parsers.items():
        if parser is None:
            options[name] = {}
            continue
        declared, _ = parser.parse_known_args(argv)
        options[name] = vars(declared)
        _, remaining = parser.parse_known_args(remaining)  # what is left is the runner's
    epilog = "\n\n".join(
        f"options of {name}:\n{parser.format_help()}" for name, parser in option_parsers.items() if parser
    )
    runner = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__.split("\n\n")[0],
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    runner.add_argument("names", nargs="*", metavar="name", help=f"benchmarks to run (default all: {available})")
    runner.add_argument("--quick", action="store_true", help="a smaller, faster run of each benchmark")
    args = runner.parse_args(remaining)
    unknown = sorted(set(args.names) - set(available))
    if unknown:
        runner.error(f"unknown benchmark(s) {unknown}; available: {available}")
    args.names = args.names or available
    return args, options


def render(value: Any, indent: int = 0) -> list[str]:
    """Nested dicts and lists as indented ``key: value`` lines."""
    pad = "  " * indent
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{key}:")
                lines.extend(render(item, indent + 1))
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
        return lines
    if isinstance(value, list):
        return [line for item in value for line in render(item, indent)] if value else [f"{pad}[]"]
    return [f"{pad}{_scalar(value)}"]


def _scalar(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:.0f}"
    return str(value)


def run_one(name: str, quick: bool, options: dict[str, Any]) -> tuple[str, bool]:
    """Run one benchmark, print and save its figures; return its summary line and whether it succeeded."""
    started = time.perf_counter()
    print(f"=== {name}{' (quick)' if quick else ''} ===", flush=True)
    try:
        figures = load(name).run(quick=quick, **options)
    except Exception:
        traceback.print_exc()
        return f"{name}: FAILED after {time.perf_counter() - started:.1f} s (see the traceback above)", False
    elapsed = time.perf_counter() - started
    print("\n".join(render(figures)), flush=True)
    RESULTS_DIR.mkdir(exist_ok=True)
    record = {
        "benchmark": name,
        "quick": quick,
        "options": options,
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "elapsed_s": round(elapsed, 2),
        "results": figures,
    }
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    return figures.get("summary") or f"{name}: done in {elapsed:.1f} s", True


def main(argv: list[str] | None = None) -> int:
    args, options = parse_command_line(sys.argv[1:] if argv is None else argv)
    outcomes = [run_one(name, args.quick, options[name]) for name in args.names]
    print("\n=== summary ===")
    for summary, _ in outcomes:
        print(summary)
    return 0 if all(ok for _, ok in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
