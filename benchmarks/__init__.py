"""Benchmarks: each measures the project's code side by side with a baseline in the same run.

Convention: ``benchmarks/bench_<name>.py`` exposes ``run(quick: bool, **options) -> dict`` returning the
figures (JSON-serialisable; a ``"summary"`` string, if present, is the one-line summary). A module may also
expose ``add_arguments(parser)`` to accept its own command-line options, passed to ``run`` as keyword
arguments. ``python -m benchmarks [name ...] [--quick] [options]`` runs them and writes
``benchmarks/results/<name>.json``.
"""
