"""Benchmarks: each measures a candidate side by side with its baseline in the same run and reports ratios."""
