"""Editing one value of a front matter block or a data file in place: every other byte stays as written."""

from __future__ import annotations

import json

import pytest
import yaml

from ocw_operators.external_resources.front_matter import (
    FrontMatterError,
    set_json_string,
    set_yaml_value,
    split_front_matter,
    top_level_json_spans,
    with_yaml_data,
    yaml_block_data,
)

from .conftest import FIXTURES

# As PyYAML's yaml.dump writes a resource page: keys sorted, long values wrapped at 80 columns, nested keys indented.
RESOURCE = """content_type: resource
description: A photograph of the lab bench with the oscilloscope, the signal generator
  and the breadboard used in the first three labs.
file: /courses/x/a1_bench.jpg
image_metadata:
  caption: The bench as set up for [lab 1](https://labs.example.org/1) with the probes
    connected.
  credit: Photo by the course staff.
  image-alt: A lab bench.
resourcetype: Image
title: bench.jpg
uid: 0a0b0c0d-0000-4000-8000-000000000001
"""


def _changed_lines(before: str, after: str) -> list[str]:
    return [line for line in after.splitlines() if line not in before.splitlines()]


def test_a_nested_wrapped_value_is_replaced_and_rewrapped_like_yaml_dump():
    new = 'The bench as set up for {{% resource_link "u1" "lab 1" %}} with the probes connected.'
    edited = set_yaml_value(RESOURCE, ("image_metadata", "caption"), new)
    assert yaml.safe_load(edited) == {**yaml.safe_load(RESOURCE), "image_metadata": {
        **yaml.safe_load(RESOURCE)["image_metadata"], "caption": new}}  # fmt: skip
    # Only the caption's lines differ; they are what yaml.dump writes for the value at that depth.
    before_caption = RESOURCE.index("  caption:")
    after_caption = RESOURCE.index("  credit:")
    assert edited[:before_caption] == RESOURCE[:before_caption]
    assert edited.endswith(RESOURCE[after_caption:])
    assert edited[before_caption:].startswith(
        yaml.safe_dump({"image_metadata": {"caption": new}})[len("image_metadata:\n") :]
    )


def test_setting_the_same_value_changes_no_byte():
    data = yaml.safe_load(RESOURCE)
    assert set_yaml_value(RESOURCE, ("description",), data["description"]) == RESOURCE
    assert set_yaml_value(RESOURCE, ("image_metadata", "caption"), data["image_metadata"]["caption"]) == RESOURCE


@pytest.mark.parametrize(
    "value",
    [
        "",
        "a: b # not a comment",
        "'quoted' and \"double\"",
        "multi\nline\n",
        "caf\u00e9 \u2013 \u65e5\u672c",
        "- item",
        "null",
    ],
)
def test_any_string_round_trips_and_nothing_else_changes(value):
    edited = set_yaml_value(RESOURCE, ("description",), value)
    assert yaml.safe_load(edited) == {**yaml.safe_load(RESOURCE), "description": value}
    assert edited.startswith("content_type: resource\n")
    assert edited.endswith(RESOURCE[RESOURCE.index("file: ") :])


def test_block_scalars_and_quoted_styles_are_replaced_whole():
    data = "title: 'It''s quoted'\nbody: |\n  line one\n  line two\nuid: x\n"
    edited = set_yaml_value(data, ("body",), "short")
    assert edited == "title: 'It''s quoted'\nbody: short\nuid: x\n"
    assert set_yaml_value(data, ("title",), "plain") == "title: plain\nbody: |\n  line one\n  line two\nuid: x\n"


def test_a_missing_top_level_key_goes_where_yaml_dump_would_put_it():
    data = "content_type: external-resource\nexternal_url: https://x.org\ntitle: X\nuid: u\n"
    assert set_yaml_value(data, ("status",), "valid") == (
        "content_type: external-resource\nexternal_url: https://x.org\nstatus: valid\ntitle: X\nuid: u\n"
    )
    unsorted = "uid: u\ntitle: X\n"
    assert set_yaml_value(unsorted, ("status",), "valid") == "uid: u\ntitle: X\nstatus: valid\n"


def test_a_missing_nested_key_or_a_broken_document_is_refused():
    with pytest.raises(FrontMatterError, match="no such key"):
        set_yaml_value(RESOURCE, ("image_metadata", "license"), "x")
    with pytest.raises(FrontMatterError, match="malformed YAML"):
        set_yaml_value("title: [unclosed\n", ("title",), "x")


def test_a_value_other_keys_alias_is_refused_rather_than_changing_them():
    data = "caption: &shared A text\ncredit: *shared\n"
    with pytest.raises(FrontMatterError, match=r"^caption: the edit would break the YAML"):
        set_yaml_value(data, ("caption",), "Another text")


def test_front_matter_block_edits_keep_the_fences_and_the_body():
    text = "---\ntitle: T\nuid: u\n---\nBody [x](https://x.org)\n"
    block, data, body, is_yaml = split_front_matter(text)
    assert (data, body, is_yaml) == ({"title": "T", "uid": "u"}, "Body [x](https://x.org)\n", True)
    edited = with_yaml_data(block, set_yaml_value(yaml_block_data(block), ("title",), "New"))
    assert edited + body == "---\ntitle: New\nuid: u\n---\nBody [x](https://x.org)\n"
    assert split_front_matter('+++\ntitle = "T"\n+++\nbody')[3] is False


COURSE = (FIXTURES / "sites" / "18.06-spring-2010" / "data" / "course.json").read_text()


def test_a_json_string_is_replaced_in_place_with_json_dumps_escapes():
    data = json.loads(COURSE)
    new = data["course_description"].replace("[video playlist](", "[the \u2013 playlist](")
    edited = set_json_string(COURSE, "course_description", new)
    assert json.loads(edited) == {**data, "course_description": new}
    start, end = top_level_json_spans(COURSE)["course_description"]
    assert edited[:start] == COURSE[:start] and edited.endswith(COURSE[end:])
    assert "\\u2013 playlist" in edited  # ASCII escapes, as ocw-studio's json.dumps writes them
    assert set_json_string(COURSE, "course_description", data["course_description"]) == COURSE


def test_json_edits_refuse_unknown_keys_and_malformed_files():
    with pytest.raises(FrontMatterError, match="no such key"):
        set_json_string(COURSE, "optional_text", "x")
    with pytest.raises(FrontMatterError, match="malformed JSON"):
        set_json_string('{"course_description": "x",}', "course_description", "y")
    with pytest.raises(FrontMatterError, match="expected a JSON object"):
        top_level_json_spans("[1, 2]")
