"""Front matter and data files, read and edited in place: one value changes, every other byte stays as written.

Course sites are written by ocw-studio (PyYAML ``yaml.dump`` front matter, ``json.dumps(indent=2)`` data files) and
edited by people. Re-dumping a whole front matter block would reorder keys, re-wrap long values and re-quote
strings on every page touched; instead :func:`set_yaml_value` replaces the source span of one value (found with
PyYAML's composer, which records where each node starts and ends) with that value emitted the way ``yaml.dump``
emits it, and :func:`set_json_string` does the same for a top-level string of a JSON object. Both re-parse the
result and refuse (``FrontMatterError``) unless exactly the one value changed.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Sequence
from typing import Any

import yaml

_YAML_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<data>.*?\n)?---[ \t]*(?:\n|\Z)", re.DOTALL)
_TOML_FRONT_MATTER = re.compile(r"\A\+\+\+[ \t]*\n(?P<data>.*?\n)?\+\+\+[ \t]*(?:\n|\Z)", re.DOTALL)
_JSON = json.JSONDecoder()
_WHITESPACE = " \t\n\r"


class FrontMatterError(ValueError):
    """Front matter or a data file that cannot be read, or a value that cannot be replaced in place."""


def split_front_matter(text: str) -> tuple[str, dict[str, Any], str, bool]:
    """``(front matter block as written, parsed front matter, body, is_yaml)``; raises on malformed front matter.

    A file without front matter has ``("", {}, text, False)``. Only YAML front matter (``---``) can be edited.
    """
    formats = ((_YAML_FRONT_MATTER, _parse_yaml_mapping, True), (_TOML_FRONT_MATTER, tomllib.loads, False))
    for pattern, parse, is_yaml in formats:
        match = pattern.match(text)
        if match:
            try:
                data = parse(match["data"] or "")
            except (yaml.YAMLError, tomllib.TOMLDecodeError, ValueError) as error:
                raise FrontMatterError(f"malformed front matter: {one_line(error)}") from None
            return match.group(0), data, text[match.end() :], is_yaml
    if text.startswith(("---\n", "+++\n")):
        raise FrontMatterError("front matter is not closed")
    return "", {}, text, False


def yaml_block_data(front_matter: str) -> str:
    """The YAML between the ``---`` lines of a front matter block."""
    match = _YAML_FRONT_MATTER.match(front_matter)
    if not match:
        raise FrontMatterError("not a YAML front matter block")
    return match["data"] or ""


def with_yaml_data(front_matter: str, data: str) -> str:
    """The block ``front_matter`` with its YAML replaced by ``data`` (the ``---`` lines kept as written)."""
    match = _YAML_FRONT_MATTER.match(front_matter)
    if not match:
        raise FrontMatterError("not a YAML front matter block")
    start = front_matter.index("\n") + 1
    end = start + len(match["data"] or "")
    return front_matter[:start] + data + front_matter[end:]


def _parse_yaml_mapping(data: str) -> dict[str, Any]:
    parsed = yaml.safe_load(data) if data.strip() else {}
    if not isinstance(parsed, dict):
        raise ValueError("front matter is not a mapping")
    return parsed


def get_path(data: dict[str, Any], path: Sequence[str]) -> Any:
    """The value at a nested key path, or None when any level is missing or not a mapping."""
    current: Any = data
    for key in path:
        if not isinstance(current, dict):
            return None
        current = current.get(key)
    return current


# --- YAML ----------------------------------------------------------------------------------------------------------


def set_yaml_value(data: str, path: Sequence[str], value: Any) -> str:
    """``data`` (a YAML mapping document) with the value at ``path`` set to ``value``, nothing else touched.

    An existing value's source span is replaced; a missing top-level key is added as a new line (before the first
    key that sorts after it when the keys are sorted, as ``yaml.dump`` writes them, else at the end). A missing
    nested key is refused. Raises :class:`FrontMatterError` when the edit would change anything but that value.
    """
    try:
        root = yaml.compose(data, Loader=yaml.SafeLoader) if data.strip() else None
        before = yaml.safe_load(data) if data.strip() else {}
    except yaml.YAMLError as error:
        raise FrontMatterError(f"malformed YAML: {one_line(error)}") from None
    node = root
    key_node = value_node = None
    for depth, key in enumerate(path):
        if not isinstance(node, yaml.MappingNode):
            node = None
            break
        pair = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)
        if pair is None:
            if depth == 0 and len(path) == 1:
                return _checked(_insert_top_level(data, root, key, value), before, path, value)
            raise FrontMatterError(f"{'.'.join(path)}: no such key to replace")
        key_node, value_node = pair
        node = value_node
    if value_node is None or key_node is None:
        raise FrontMatterError(f"{'.'.join(path)}: not found")
    start, end = value_node.start_mark.index, _trim_end(data, value_node.end_mark.index, value_node.start_mark.index)
    rendered = _render_value(path, value, key_node.start_mark.column)
    return _checked(data[:start] + rendered + data[end:], before, path, value)


def _render_value(path: Sequence[str], value: Any, column: int) -> str:
    """``value`` as ``yaml.dump`` writes it after its key, continuation lines indented under a key at ``column``.

    ``yaml.dump`` puts a nested key two columns per level in and wraps at a fixed width from the line start, so the
    value is dumped inside its own nesting when the key sits where ``yaml.dump`` would have put it.
    """
    nested = len(path) > 1 and column == 2 * (len(path) - 1)
    keys = path if nested else path[-1:]
    wrapped: Any = value
    for key in reversed(keys):
        wrapped = {key: wrapped}
    dumped = yaml.safe_dump(wrapped, default_flow_style=False)
    node = yaml.compose(dumped, Loader=yaml.SafeLoader)
    for _ in keys:
        node = node.value[0][1]
    text = dumped[node.start_mark.index : _trim_end(dumped, node.end_mark.index, node.start_mark.index)]
    return text.replace("\n", "\n" + " " * column) if column and not nested else text


def _trim_end(text: str, end: int, start: int) -> int:
    # Block scalars end after their line breaks; the break before the next key belongs to the file, not the value.
    while end > start and text[end - 1] == "\n":
        end -= 1
    return end


def _insert_top_level(data: str, root: Any, key: str, value: Any) -> str:
    line = yaml.safe_dump({key: value}, default_flow_style=False)
    if not isinstance(root, yaml.MappingNode):
        if data.strip():
            raise FrontMatterError("front matter is not a mapping")
        return line
    keys = [(k.value, k.start_mark) for k, _ in root.value if isinstance(k, yaml.ScalarNode)]
    names = [name for name, _ in keys]
    if names == sorted(names):
        for name, mark in keys:
            if name > key and mark.column == 0:
                return data[: mark.index] + line + data[mark.index :]
    return data + ("" if not data or data.endswith("\n") else "\n") + line


def _checked(edited: str, before: Any, path: Sequence[str], value: Any) -> str:
    try:
        after = yaml.safe_load(edited) if edited.strip() else {}
    except yaml.YAMLError as error:
        raise FrontMatterError(f"{'.'.join(path)}: the edit would break the YAML ({one_line(error)})") from None
    expected = _with_value(before, path, value)
    if after != expected:
        raise FrontMatterError(f"{'.'.join(path)}: cannot be replaced without changing other values")
    return edited


def _with_value(data: Any, path: Sequence[str], value: Any) -> Any:
    if not path:
        return value
    copy = dict(data) if isinstance(data, dict) else {}
    copy[path[0]] = _with_value(copy.get(path[0]), path[1:], value)
    return copy


# --- JSON ----------------------------------------------------------------------------------------------------------


def top_level_json_spans(text: str) -> dict[str, tuple[int, int]]:
    """Source span of each top-level value of a JSON object (the last one wins for a repeated key, as in ``json``)."""
    index = _skip(text, 0)
    if not text.startswith("{", index):
        raise FrontMatterError("expected a JSON object")
    spans: dict[str, tuple[int, int]] = {}
    index = _skip(text, index + 1)
    if text.startswith("}", index):
        return spans
    try:
        while True:
            if not text.startswith('"', index):
                raise ValueError("expected a key")
            key, index = json.decoder.scanstring(text, index + 1)
            index = _skip(text, index)
            if not text.startswith(":", index):
                raise ValueError("expected ':'")
            start = _skip(text, index + 1)
            _, end = _JSON.raw_decode(text, start)
            spans[key] = (start, end)
            index = _skip(text, end)
            if text.startswith(",", index):
                index = _skip(text, index + 1)
                continue
            if text.startswith("}", index):
                return spans
            raise ValueError("expected ',' or '}'")
    except ValueError as error:
        raise FrontMatterError(f"malformed JSON: {one_line(error)}") from None


def set_json_string(text: str, key: str, value: str) -> str:
    """``text`` (a JSON object) with the top-level string ``key`` set to ``value``; every other byte kept.

    Non-ASCII characters are written as ``\\uXXXX`` escapes, as ``json.dumps`` does by default, unless the old value
    held them literally.
    """
    spans = top_level_json_spans(text)
    if key not in spans:
        raise FrontMatterError(f"{key}: no such key to replace")
    start, end = spans[key]
    old = text[start:end]
    ensure_ascii = old.isascii()
    edited = text[:start] + json.dumps(value, ensure_ascii=ensure_ascii) + text[end:]
    before = json.loads(text)
    if json.loads(edited) != {**before, key: value}:
        raise FrontMatterError(f"{key}: cannot be replaced without changing other values")
    return edited


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def one_line(error: Exception) -> str:
    return " ".join(str(error).split())
