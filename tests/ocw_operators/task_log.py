"""Read what operators logged (Airflow's structlog lines on stdout) as (level, message) pairs."""

from __future__ import annotations

import re

# "2026-11-30T17:13:26.700795Z [info     ] <message> [airflow.task.operators.<class>] loc=<file>:<line>"
_LINE = re.compile(r"^\S+ \[(?P<level>\w+)\s*\] (?P<message>.*?) \[airflow\.task\.operators\.[\w.]+\]")
# What a dict, a list of strings, an enum member or a dataclass looks like when it is logged as is.
REPR = re.compile(r"\{'|\['|<\w+\.\w+: |\w+\(\w+=")


def operator_lines(text: str) -> list[tuple[str, str]]:
    return [(match["level"], match["message"]) for match in map(_LINE.match, text.splitlines()) if match]


def messages(text: str) -> list[str]:
    return [message for _, message in operator_lines(text)]
