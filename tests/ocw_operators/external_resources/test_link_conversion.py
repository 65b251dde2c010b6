"""``link_to_external_resource`` over one text: which links become shortcodes, with which titles."""

from __future__ import annotations

from types import SimpleNamespace

from ocw_operators.external_resources.link_conversion import convert_links, link_urls


def _convert(text: str):
    rows, titles = [], {}

    def resolve(url, title, row_values):
        titles[url] = title
        return SimpleNamespace(uuid=f"uuid-{len(titles)}"), SimpleNamespace(replacement="")

    new_text, count = convert_links(text, None, {"field": "markdown"}, resolve, lambda **values: rows.append(values))
    return new_text, count, titles, rows


def test_a_link_around_an_image_keeps_the_image_in_the_shortcode_and_is_named_by_its_text():
    text = (
        "* [![Hard to read.](/images/inaccessible.gif)Floating-point notes (PDF)](https://notes.example.edu/fp.pdf) "
        "and [![Buy at the press](/images/logo.gif)](https://press.example.org/book)"
    )
    new_text, count, titles, rows = _convert(text)
    assert count == 2 and rows == []
    assert new_text == (
        '* {{% resource_link "uuid-1" "![Hard to read.](/images/inaccessible.gif)Floating-point notes (PDF)" %}} '
        'and {{% resource_link "uuid-2" "![Buy at the press](/images/logo.gif)" %}}'
    )
    assert titles == {
        "https://notes.example.edu/fp.pdf": "Floating-point notes (PDF)",
        "https://press.example.org/book": "Buy at the press",
    }
    assert link_urls(new_text) == []


def test_a_link_whose_text_holds_a_shortcode_is_left_alone_and_reported():
    text = "[![Cover]({{< resource_file abc >}})](https://press.example.org/book)"
    new_text, count, titles, rows = _convert(text)
    assert (new_text, count, titles) == (text, 0, {})
    assert rows[0]["note"] == "left alone: link text contains a shortcode delimiter"


def test_images_and_internal_links_are_not_this_rules_business():
    text = "![photo](https://img.example.org/a.png) [syllabus](/pages/syllabus) [top](#top) [mail](mailto:a@b.c)"
    assert _convert(text)[:3] == (text, 0, {})
    assert link_urls(text) == []
