"""Typed connection form fields: what a connection type's UI form shows and how its ``extra`` is parsed.

A :class:`ConnectionForm` declares a connection type's extra fields (:class:`ExtraField`) and how the UI shows its
standard fields. ``provider_info.py`` turns it into the provider info's ``conn-fields`` and ``ui-field-behaviour``,
and every hook reads its Connection's ``extra`` through :meth:`ConnectionForm.parse_extra`, which accepts only
declared fields, applies the declared defaults, and converts what the form sends (typed JSON) or what a
hand-written Connection holds (text such as ``"2"`` or ``"900"``, JSON text for objects) to the declared type, with
a clear error otherwise. A hook asking for a field its form does not declare fails, so the form and the hooks
cannot drift apart. The package's connection types are declared in :mod:`ocw_operators.connection_forms`.

No Airflow imports: the providers manager calls ``get_provider_info`` in every Airflow process.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

log = logging.getLogger(__name__)

FieldType = Literal["string", "integer", "number", "boolean", "object"]
# The Connection attributes whose form fields a connection type may hide, relabel or give a placeholder
# ("schema" is the URL scheme field).
STANDARD_FIELDS = ("description", "host", "schema", "port", "login", "password")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


class ExtraFieldError(ValueError):
    """A Connection's extra field has a value its connection type cannot use. Never quotes a sensitive value."""


@dataclass(frozen=True)
class ExtraField:
    """One field of a connection form, stored under ``name`` in the Connection's ``extra``.

    :param kind: the JSON type the UI edits and the hook receives (``number`` becomes a float).
    :param default: the value when the field is missing, empty or null (also shown pre-filled in the form).
    :param enum: the only accepted values (a drop-down in the form); ``choices`` labels them.
    :param minimum: the smallest accepted number; ``positive`` refuses zero as well.
    :param sensitive: shown as a password field; its value is never quoted in an error.
    """

    name: str
    label: str
    kind: FieldType
    description: str
    default: Any = None
    enum: tuple[Any, ...] = ()
    choices: Mapping[str, str] = field(default_factory=dict)
    minimum: float | None = None
    maximum: float | None = None
    positive: bool = False
    sensitive: bool = False

    def conn_field(self) -> dict[str, Any]:
        """The ``conn-fields`` entry Airflow's providers manager reads (a JSON schema, as for DAG Params)."""
        schema: dict[str, Any] = {"type": [self.kind, "null"]}
        if self.default is not None:
            schema["default"] = self.default
        if self.enum:
            schema["enum"] = list(self.enum)
        if self.choices:
            schema["values_display"] = dict(self.choices)
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        elif self.positive:
            schema["exclusiveMinimum"] = 0
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if self.sensitive:
            schema["format"] = "password"
        return {"label": self.label, "description": self.description, "schema": schema}

    def parse(self, value: Any) -> Any:
        """``value`` from a Connection's extra, converted to ``kind``; missing, empty or null gives the default."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return self.default
        try:
            parsed = _CONVERTERS[self.kind](value)
        except (TypeError, ValueError, json.JSONDecodeError):
            raise ExtraFieldError(
                f"extra.{self.name} must be {_EXPECTED[self.kind]}, got {self._shown(value)}"
            ) from None
        if self.enum and self.kind == "string":
            # Hand-written Connections say "post" or "Basic"; keep the declared spelling.
            parsed = next((option for option in self.enum if option.lower() == parsed.lower()), parsed)
        if self.enum and parsed not in self.enum:
            allowed = ", ".join(str(option) for option in self.enum)
            raise ExtraFieldError(f"extra.{self.name} must be one of {allowed}, got {self._shown(value)}")
        if self.kind in ("integer", "number"):
            if self.positive and parsed <= 0:
                raise ExtraFieldError(f"extra.{self.name} must be greater than 0, got {self._shown(value)}")
            if self.minimum is not None and parsed < self.minimum:
                raise ExtraFieldError(f"extra.{self.name} must be at least {self.minimum}, got {self._shown(value)}")
            if self.maximum is not None and parsed > self.maximum:
                raise ExtraFieldError(f"extra.{self.name} must be at most {self.maximum}, got {self._shown(value)}")
        return parsed

    def _shown(self, value: Any) -> str:
        if self.sensitive:
            return f"a {type(value).__name__} (value hidden)"
        text = repr(value)
        return text if len(text) <= 80 else text[:77] + "..."


def _to_string(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError
    return str(value).strip()


def _to_integer(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(value.strip())
    raise TypeError


def _to_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError
    number = float(value.strip() if isinstance(value, str) else value)
    if not math.isfinite(number):
        raise ValueError
    return number


def _to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError


def _to_object(value: Any) -> dict[str, Any]:
    parsed = json.loads(value) if isinstance(value, str) else value
    if not isinstance(parsed, dict):
        raise TypeError
    return parsed


_CONVERTERS = {
    "string": _to_string,
    "integer": _to_integer,
    "number": _to_number,
    "boolean": _to_boolean,
    "object": _to_object,
}
_EXPECTED = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": 'a JSON object (for example {"key": "value"})',
}


class ExtraValues(Mapping[str, Any]):
    """Every declared extra field of one Connection, parsed; asking for an undeclared field is a KeyError."""

    def __init__(self, conn_type: str, values: dict[str, Any]) -> None:
        self._conn_type = conn_type
        self._values = values

    def __getitem__(self, name: str) -> Any:
        if name not in self._values:
            raise KeyError(f"{self._conn_type} connections declare no extra field {name!r}")
        return self._values[name]

    def get(self, name: str, default: Any = None) -> Any:
        """Like ``self[name]`` (an undeclared name is a KeyError too), with ``default`` for an unset field."""
        value = self[name]
        return default if value is None else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


@dataclass(frozen=True)
class ConnectionForm:
    """A connection type: its hook, its extra fields and how the UI shows the standard fields."""

    conn_type: str
    hook_class_name: str
    hook_name: str
    fields: tuple[ExtraField, ...]
    hidden: tuple[str, ...] = ()
    relabeling: Mapping[str, str] = field(default_factory=dict)
    placeholders: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The UI applies hiding, labels and placeholders to the standard fields only.
        unknown = (set(self.hidden) | set(self.relabeling) | set(self.placeholders)) - set(STANDARD_FIELDS)
        if unknown:
            raise ValueError(f"{self.conn_type}: {sorted(unknown)} are not standard connection fields")
        if len({f.name for f in self.fields}) != len(self.fields):
            raise ValueError(f"{self.conn_type}: an extra field is declared twice")

    def extra_field(self, name: str) -> ExtraField:
        for extra_field in self.fields:
            if extra_field.name == name:
                return extra_field
        raise KeyError(f"{self.conn_type} connections declare no extra field {name!r}")

    def provider_entry(self) -> dict[str, Any]:
        """This type's ``connection-types`` entry of the provider info."""
        return {
            "connection-type": self.conn_type,
            "hook-class-name": self.hook_class_name,
            "hook-name": self.hook_name,
            "conn-fields": {f.name: f.conn_field() for f in self.fields},
            "ui-field-behaviour": {
                "hidden-fields": list(self.hidden),
                "relabeling": dict(self.relabeling),
                "placeholders": dict(self.placeholders),
            },
        }

    def parse_extra(self, conn_id: str, extra: Mapping[str, Any] | None, *, warn_unused: bool = True) -> ExtraValues:
        """Every declared field of ``extra``, typed, defaults applied; ``warn_unused`` logs the undeclared keys.

        :raises ExtraFieldError: naming the Connection and the field, never quoting a sensitive value.
        """
        extra = extra or {}
        values = {}
        for extra_field in self.fields:
            try:
                values[extra_field.name] = extra_field.parse(extra.get(extra_field.name))
            except ExtraFieldError as error:
                raise ExtraFieldError(f"Connection {conn_id!r} has an invalid extra: {error}") from None
        unused = sorted(set(extra) - set(values))
        if unused and warn_unused:
            # Key names only: a misspelt field would otherwise be ignored in silence.
            log.warning("Connection %r: extra %s not used by %s connections", conn_id, unused, self.conn_type)
        return ExtraValues(self.conn_type, values)
