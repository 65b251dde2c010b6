"""Every Airflow Variable the operators read: one typed registry, and the one function that reads them.

Each :class:`Setting` has a name, a kind (flag, number, whole number, text, absolute path), a default, bounds
and a description. The registry is the only place a Variable's default is written: the README's Variables table
and ``include/dev/variables.json`` (whose descriptions the Variables UI shows) are checked against it by tests,
and DAG docs and docstrings name Variables without repeating defaults.

Operators call :func:`setting` inside ``execute()`` (never while a DAG file is parsed). In development the
Variables come from ``AIRFLOW_VAR_<KEY>`` environment variables or ``make run``'s import; in production from the
Variables UI or a secrets backend. A bad value fails the task without retries (another try would read the same
value), with a message naming the Variable and its bounds.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from airflow.sdk import Variable
from airflow.sdk.exceptions import AirflowFailException, AirflowRuntimeError, ErrorType

from ocw_operators.params import InvalidValueError, bounds_text, is_empty, parse_flag, parse_number

log = logging.getLogger(__name__)


class Kind(StrEnum):
    FLAG = "flag"
    NUMBER = "number"
    INTEGER = "whole number"
    TEXT = "text"
    PATH = "absolute path"


@dataclass(frozen=True)
class Setting:
    """One Variable. Without a default it is ``required`` (the task fails, naming it, when it is not set) or
    optional; ``default_factory`` computes a default at run time and ``default_label`` says how the docs show it."""

    name: str
    kind: Kind
    description: str
    default: bool | float | str | None = None
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    default_factory: Callable[[], Any] | None = None
    default_label: str | None = None

    def parse(self, raw: Any, label: str | None = None) -> Any:
        """``raw`` (text or a native value) as this setting's type; None or blank means the default."""
        label = label or f"Variable {self.name}"
        if is_empty(raw):
            return self.default_value()
        if self.kind is Kind.FLAG:
            return parse_flag(raw, label)
        if self.kind in (Kind.NUMBER, Kind.INTEGER):
            return parse_number(
                raw,
                label,
                minimum=self.minimum,
                maximum=self.maximum,
                exclusive_minimum=self.exclusive_minimum,
                integer=self.kind is Kind.INTEGER,
            )
        text = str(raw).strip()
        if self.kind is Kind.PATH:
            # A relative path would land wherever the worker process happens to run.
            if not os.path.isabs(text):
                raise InvalidValueError(f"{label}={text!r} must be an absolute path")
            return Path(text)
        return text

    def default_value(self) -> Any:
        value = self.default_factory() if self.default_factory else self.default
        return Path(value) if self.kind is Kind.PATH and value is not None else value

    @property
    def allowed(self) -> str:
        """The values this setting accepts, as the README's table says it."""
        if self.kind is Kind.FLAG:
            return "`true` or `false`"
        bounds = bounds_text(self.minimum, self.maximum, exclusive_minimum=self.exclusive_minimum)
        return f"{self.kind}, {bounds}" if bounds else str(self.kind)

    @property
    def help(self) -> str:
        """The description the Variables UI shows (``include/dev/variables.json``): meaning, values, default."""
        if self.required:
            default = "must be set"
        elif self.default_label is not None or self.default is not None:
            default = f"empty means the default, {self.default_text.strip('`')}"
        else:
            default = "optional"
        text = self.description.replace("`", "")
        return f"{text[:1].upper()}{text[1:]}. {self.allowed.replace('`', '').capitalize()}; {default}."

    @property
    def default_text(self) -> str:
        """The default as the README's table shows it: `true`, `30`, `0.11`, `$AIRFLOW_HOME/data`, or —."""
        if self.default_label is not None:
            return f"`{self.default_label}`"
        if self.default is None:
            return "required" if self.required else "—"
        if isinstance(self.default, bool):
            return f"`{str(self.default).lower()}`"
        if isinstance(self.default, float | int):
            return f"`{self.default:g}`"
        return f"`{self.default}`"


def default_data_dir() -> str:
    """Where files kept for people go when ``OCW_DATA_DIR`` is unset: ``$AIRFLOW_HOME/data``."""
    home = os.environ.get("AIRFLOW_HOME") or os.path.join(os.path.expanduser("~"), "airflow")
    return os.path.join(home, "data")


_REGISTRY = (
    # --- the weekly link check ---
    Setting(
        "ENABLE_CHECK_EXTERNAL_RESOURCE_TASK",
        Kind.FLAG,
        "the weekly link check runs unless `false` (ocw-studio's setting)",
        default=True,
    ),
    Setting(
        "LINK_CHECK_TIMEOUT_SECONDS",
        Kind.NUMBER,
        "total time allowed per URL, redirects and GET retry included",
        default=30.0,
        minimum=1,
    ),
    Setting(
        "LINK_CHECK_PER_HOST_LIMIT",
        Kind.INTEGER,
        "concurrent requests per host within one batch task",
        default=4,
        minimum=1,
    ),
    Setting("LINK_CHECK_MAX_CONCURRENCY", Kind.INTEGER, "concurrent requests per batch task", default=100, minimum=1),
    Setting(
        "LINK_CHECK_BATCH_SIZE",
        Kind.INTEGER,
        "resources per mapped check task (the default is ocw-studio's; larger batches mean fewer tasks, which pays "
        "on small clusters)",
        default=100,
        minimum=1,
    ),
    # --- Wayback Machine (SPN2) captures ---
    Setting(
        "ENABLE_WAYBACK_TASKS",
        Kind.FLAG,
        # Off by default, as in ocw-studio: captures are a deliberate decision.
        "every Wayback task skips unless `true` (ocw-studio's setting; on in the sandbox)",
        default=False,
    ),
    Setting(
        "WAYBACK_SUBMISSION_INTERVAL_DAYS",
        Kind.NUMBER,
        "no resubmission within this many days of a successful capture (`force` overrides)",
        default=30.0,
        minimum=0,
        exclusive_minimum=True,
        maximum=3650,
    ),
    Setting(
        "WAYBACK_RATE_LIMIT_PER_SECOND",
        Kind.NUMBER,
        # ocw-studio's WAYBACK_MACHINE_TASK_RATE_LIMIT "0.11/s": one request per ~9 s. The ceiling only catches
        # unit mistakes; tests run far faster than SPN2 allows against the sandbox.
        "one global SPN2 request rate across all runs and workers",
        default=0.11,
        minimum=0,
        exclusive_minimum=True,
        maximum=100,
    ),
    Setting(
        "WAYBACK_PENDING_EXPIRY_HOURS",
        Kind.NUMBER,
        # SPN2 keeps a job's status for about an hour; a pending job older than this is unknowable.
        "pending jobs older than this are expired to `error:status-expired`",
        default=6.0,
        minimum=0,
        exclusive_minimum=True,
        maximum=24 * 30,
    ),
    # --- external resources from course markdown, and reports ---
    Setting(
        "OCW_SITES_DIR",
        Kind.PATH,
        "folder of course sites (one checkout per course, as ocw-studio publishes them) for `external_resource_import` "
        "(used when its `sites_dir` Param is empty) and for writing link status and Wayback URLs back into them",
        required=True,
    ),
    Setting(
        "OCW_SITES_GIT_AUTHOR",
        Kind.TEXT,
        "`Name <email>` of the commits the import and the write-back make in course sites that are git checkouts",
        default="ocw-archive <ocw-archive@localhost>",
    ),
    Setting(
        "OCW_SITES_GIT_PUSH_REMOTE",
        Kind.TEXT,
        "remote of each course checkout (e.g. `origin`) those commits are pushed to (unset: never pushed)",
    ),
    Setting(
        "OCW_DATA_DIR",
        Kind.PATH,
        "folder on the workers where runs keep reports for people: `<OCW_DATA_DIR>/reports/<dag_id>/<run id>.csv` "
        "(the run id's `:`, `+`, `/` … made safe, plus a short hash). `make run` sets it to `var/`, so reports "
        "land in `var/reports/`",
        default_factory=default_data_dir,
        default_label="$AIRFLOW_HOME/data",
    ),
    Setting(
        "OCW_SITEMAP_DOMAIN",
        Kind.TEXT,
        "links to this domain get no external-license warning",
        default="ocw.mit.edu",
    ),
    # --- course retirement ---
    Setting("ocw_retirement_holding_area", Kind.PATH, "DSpace holding area (created if missing)", required=True),
    Setting(
        "ocw_retired_course_zips_dir", Kind.PATH, "retired-course zips directory (created if missing)", required=True
    ),
    # --- the Tivoli tape archive ---
    Setting("TIVOLI_DROPBOX_DIR", Kind.PATH, "the dropbox the preparation takes finished volumes from", required=True),
    Setting(
        "TIVOLI_STAGING_DIR", Kind.PATH, "the staging area the preparation fills and Tivoli picks up", required=True
    ),
    Setting(
        "TIVOLI_QUIET_MINUTES",
        Kind.NUMBER,
        "skip resource folders written more recently than this many minutes",
        default=5.0,
        minimum=0,
    ),
    Setting(
        "TIVOLI_DSMC_COMMAND",
        Kind.TEXT,
        "the archive client (split like a shell would, never run through one; `-password=` masked)",
        default="dsmc",
    ),
    Setting(
        "TIVOLI_DSMC_TIMEOUT_MINUTES",
        Kind.NUMBER,
        "the load's time limit in minutes",
        default=360.0,
        minimum=0,
    ),
    Setting(
        "TIVOLI_RETRIEVE_ROOT",
        Kind.PATH,
        "retrieval destinations must lie inside it (unset: any absolute destination)",
    ),
    # --- alerts: failure and deadline mail, the daily attention digest ---
    Setting(
        "ALERT_EMAIL_RECIPIENTS",
        Kind.TEXT,
        "addresses (separated by commas) that get failure, deadline and digest mail through the Connection "
        "`smtp_default` (unset: no mail, a warning in the log)",
    ),
    Setting(
        "ALERT_WEBHOOK_CONN_ID",
        Kind.TEXT,
        "an HTTP Connection whose URL gets every alert as JSON (`text` for Slack or Teams incoming webhooks, plus "
        "the fields) besides the mail (unset: no webhook)",
    ),
    Setting(
        "ATTENTION_WORKFLOW_DAYS",
        Kind.NUMBER,
        "the digest lists retirements waiting in DSpace's workflow (202 deposits) longer than this many days",
        default=14.0,
        minimum=0,
        exclusive_minimum=True,
        maximum=3650,
    ),
    Setting(
        "ATTENTION_TIVOLI_HELD_HOURS",
        Kind.NUMBER,
        "the digest lists Tivoli volumes held in the dropbox longer than this many hours",
        default=24.0,
        minimum=0,
        exclusive_minimum=True,
        maximum=24 * 365,
    ),
    Setting(
        "ATTENTION_RECENT_DAYS",
        Kind.NUMBER,
        "the digest lists links that became broken (per site) and Wayback captures that failed within this many days",
        default=7.0,
        minimum=0,
        exclusive_minimum=True,
        maximum=365,
    ),
)

SETTINGS: Mapping[str, Setting] = {entry.name: entry for entry in _REGISTRY}


def variables_file(values: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Every registered Variable in ``airflow variables import``'s format, with its :attr:`Setting.help` as the
    description and its value from ``values`` (empty when not given: the registry's default applies)."""
    return {name: {"value": values.get(name, ""), "description": entry.help} for name, entry in SETTINGS.items()}


def parse_setting(name: str, raw: Any, label: str | None = None) -> Any:
    """``raw`` parsed as the registered setting ``name`` (None or blank: its default); raises
    :class:`~ocw_operators.params.InvalidValueError`. No Airflow access."""
    return SETTINGS[name].parse(raw, label)


def read_variable(name: str) -> str | None:
    """The Variable's text at run time, or None when it is not set (or blank).

    ``Variable.get(name, default=...)`` hands the default to the secrets masker under the Variable's name (Task
    SDK 1.3): once that name counts as sensitive (``[core] sensitive_var_conn_names`` is a substring match), every
    occurrence of a value like ``ocw.mit.edu`` is hidden in task logs. Not-found is handled here instead, so a
    default never reaches the masker; a value that is read is masked as the SDK decides.
    """
    try:
        value = Variable.get(name)
    except AirflowRuntimeError as error:
        if getattr(error.error, "error", None) == ErrorType.VARIABLE_NOT_FOUND:
            return None
        raise
    return None if value is None or str(value).strip() == "" else str(value).strip()


def server_setting(name: str) -> Any:
    """The setting as Airflow's API server sees it (the Archive pages): the Variable through the core model (the
    Task SDK's reader works only inside tasks), else the default; never raises, a page must render."""
    raw = None
    try:
        from airflow.models.variable import Variable as CoreVariable  # noqa: PLC0415  (API server only)

        raw = CoreVariable.get(name, default_var=None)
    except Exception as error:
        log.warning("Could not read the Variable %s (%s); using its default", name, error.__class__.__name__)
    try:
        return parse_setting(name, raw)
    except InvalidValueError:
        return parse_setting(name, None)


def setting(name: str, override: Any = None) -> Any:
    """The value of the registered setting ``name``, read at run time.

    ``override`` (an operator argument, maybe a rendered template) wins when it is not empty; else the Variable;
    else the registry's default. A required setting left unset, or a bad value, fails the task without retries,
    naming the Variable (or the argument standing in for it) and its bounds.
    """
    entry = SETTINGS[name]
    if not is_empty(override):
        raw, label = override, f"the operator argument for {name}"
    else:
        raw, label = read_variable(name), None
    try:
        value = entry.parse(raw, label)
    except InvalidValueError as error:
        raise AirflowFailException(str(error)) from None
    if entry.required and value is None:
        raise AirflowFailException(f"set the Airflow Variable {name} (or pass the value to the operator)")
    return value


@contextmanager
def fail_on_bad_input() -> Iterator[None]:
    """Parse Params and operator arguments inside this block: a value :mod:`ocw_operators.params` refuses fails
    the task at once (another try would get the same value), with the message naming the Param."""
    try:
        yield
    except InvalidValueError as error:
        raise AirflowFailException(str(error)) from None


def data_dir(value: str | None = None) -> Path:
    """The data folder on the workers: ``value`` (a rendered template), else Variable ``OCW_DATA_DIR``, else
    ``$AIRFLOW_HOME/data``."""
    return setting("OCW_DATA_DIR", value)
