"""The benchmark runner's command line and a miniature link-check benchmark (no timing asserted)."""

from __future__ import annotations

import pytest

from benchmarks import bench_linkcheck
from benchmarks.__main__ import discover, parse_command_line, render


def test_benchmarks_are_discovered_by_module_name():
    assert "linkcheck" in discover()


@pytest.mark.parametrize(
    "argv",
    [
        ["linkcheck", "--urls", "500", "--quick"],
        ["--urls", "500", "linkcheck", "--quick"],
        ["--quick", "--urls=500", "linkcheck"],
    ],
)
def test_benchmark_options_may_appear_anywhere(argv):
    args, options = parse_command_line(argv)
    assert args.names == ["linkcheck"]
    assert args.quick is True
    assert options["linkcheck"]["urls"] == 500
    assert options["linkcheck"]["timeout"] == bench_linkcheck.DEFAULT_TIMEOUT_S


def test_unknown_benchmarks_and_options_are_refused():
    with pytest.raises(SystemExit):
        parse_command_line(["no-such-benchmark"])
    with pytest.raises(SystemExit):
        parse_command_line(["linkcheck", "--no-such-option"])


def test_results_render_as_indented_text():
    assert render({"a": 1.23456, "b": {"c": [{"d": "x"}]}, "e": []}) == ["a: 1.235", "b:", "  c:", "    d: x", "e: []"]


def test_workload_has_exactly_one_percent_hangs_spread_evenly_over_hosts():
    workload = bench_linkcheck.build_workload([1001, 1002, 1003, 1004], 1000)
    assert len(set(workload.urls)) == 1000
    assert workload.mix["/hang"] == 10
    assert sum(workload.mix.values()) == 1000
    per_host = [sum(f"127.0.0.1:{port}/" in url for url in workload.urls) for port in (1001, 1002, 1003, 1004)]
    assert per_host == [250, 250, 250, 250]


def test_miniature_benchmark_agrees_with_the_baseline_except_get_fallbacks():
    figures = bench_linkcheck.run(quick=True, urls=200, hosts=4, latency_ms=0, timeout=0.5)
    assert figures["classification"]["other_differences"] == 0, figures["classification"]
    expected_fallbacks = figures["mix"]["/head-405"] + figures["mix"]["/head-501"]
    assert figures["classification"]["get_fallback_differences"] == expected_fallbacks
    assert figures["classification"]["identical"] == 200 - expected_fallbacks
    assert figures["checker"]["farm"]["max_in_flight_per_host"] <= figures["checker"]["per_host_limit"]
    assert figures["baseline"]["farm"]["max_in_flight_per_host"] == 1
    assert figures["summary"].startswith("linkcheck: 200 URLs on 4 hosts")
