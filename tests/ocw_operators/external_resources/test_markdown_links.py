"""The link scanner against real course markdown and the CommonMark corner cases it must get right."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ocw_operators.external_resources.markdown_links import LinkKind, scan_markdown, unescape_destination
from ocw_operators.external_resources.sites import split_front_matter

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sites"


def _links(body: str) -> list[tuple[str, str, str]]:
    return [(link.kind.value, link.text, link.destination) for link in scan_markdown(body).links if not link.is_image]


def _body(relative: str) -> str:
    return split_front_matter((FIXTURES / relative).read_text(), relative)[2]


def test_course_home_page_links_as_a_renderer_sees_them():
    body = _body("18.06-spring-2010/content/pages/course-home.md")
    found = [(link.kind.value, link.destination, link.is_image, link.wraps_image) for link in scan_markdown(body).links]
    assert found == [
        ("inline", "https://math.mit.edu/~gs/linearalgebra/", False, False),
        ("inline", "https://ocw.mit.edu", False, False),
        ("inline", "https://math.mit.edu/~gs/", False, False),
        ("inline", "https://en.wikipedia.org/wiki/Function_(mathematics)", False, False),
        ("inline", "https://www.google.com/search?q=linear+algebra&hl=en&copy=1", False, False),
        ("reference", "https://www.mathworks.com/help/matlab/getting-started-with-matlab.html", False, False),
        ("reference", "https://docs.octave.org/latest/", False, False),
        ("reference", "https://julialang.org/", False, False),
        ("autolink", "https://piazza.com/mit/spring2010/1806", False, False),
        ("inline", "/images/matrix.png", True, False),
        ("inline", "https://creativecommons.org/licenses/by-nc-sa/4.0/", False, True),
        ("inline", "/pages/syllabus", False, False),
        ("inline", "../pages/readings", False, False),
        ("inline", "#top", False, False),
    ]
    assert "code.example.com" not in str(found)  # code span and fenced block
    assert "shortcode.example.com" not in str(found)
    assert "comment.example.com" not in str(found)


def test_link_spans_are_exact_source_text():
    body = _body("18.06-spring-2010/content/pages/course-home.md")
    spans = [body[link.start : link.end] for link in scan_markdown(body).links]
    assert spans[0] == '[Introduction to Linear Algebra](https://math.mit.edu/~gs/linearalgebra/ "Textbook site")'
    assert spans[2] == r"[Gilbert Strang \[MIT\] homepage](https://math.mit.edu/~gs/)"
    assert spans[6] == "[Octave manual][]"
    assert spans[7] == "[Julia]"


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        (r"[a \[b\] c](https://x.org)", [("inline", r"a \[b\] c", "https://x.org")]),
        ("[a [b] c](https://x.org)", [("inline", "a [b] c", "https://x.org")]),
        ("[`a]b`](https://x.org)", [("inline", "`a]b`", "https://x.org")]),
        ("[f](https://x.org/F_(m)_(n))", [("inline", "f", "https://x.org/F_(m)_(n)")]),
        (r"[f](https://x.org/a\)b)", [("inline", "f", "https://x.org/a)b")]),
        ("[f](<https://x.org/a b>)", [("inline", "f", "https://x.org/a b")]),
        ('[f](https://x.org "Title [x]")', [("inline", "f", "https://x.org")]),
        ("[f](https://x.org 'single')", [("inline", "f", "https://x.org")]),
        ("[f](https://x.org (paren))", [("inline", "f", "https://x.org")]),
        ("[q](https://x.org/?a=1&b=2&copy=3)", [("inline", "q", "https://x.org/?a=1&b=2&copy=3")]),
        ("[q](https://x.org/?a=1&amp;b=2)", [("inline", "q", "https://x.org/?a=1&b=2")]),
        ("[split\ntext](https://x.org)", [("inline", "split\ntext", "https://x.org")]),
        ("<https://x.org/auto?q=1>", [("autolink", "https://x.org/auto?q=1", "https://x.org/auto?q=1")]),
        ("<mailto:someone@mit.edu>", [("autolink", "mailto:someone@mit.edu", "mailto:someone@mit.edu")]),
        # The inner content of a paired shortcode is markdown; only the delimiters are opaque.
        ("{{% div %}}[x](https://x.org){{% /div %}}", [("inline", "x", "https://x.org")]),
    ],
)
def test_inline_links_and_autolinks(markdown, expected):
    assert _links(markdown) == expected


@pytest.mark.parametrize(
    "markdown",
    [
        r"\[not a link](https://x.org)",
        "[unclosed(https://x.org)",
        "[f](https://x.org/(unbalanced)",
        "[para\n\nbreak](https://x.org)",
        "`[code](https://x.org)`",
        "``[code with ` inside](https://x.org)``",
        "```\n[fenced](https://x.org)\n```\n",
        "~~~markdown\n[fenced](https://x.org)\n~~~\n",
        "```\n[unclosed fence runs to the end](https://x.org)\n",
        "<!-- [comment](https://x.org) -->",
        '{{< shortcode "[x](https://x.org)" >}}',
        "[undefined reference][nope]",
        "[^1]\n\n[^1]: https://x.org",
    ],
)
def test_text_that_is_not_a_link(markdown):
    assert _links(markdown) == []


def test_reference_links_and_definitions():
    markdown = "See [full][Ref Label], [ref label][] and [REF  label].\n\n[ref label]: <https://x.org/a b> 'T'\n"
    result = scan_markdown(markdown)
    assert [(link.kind, link.label, link.destination) for link in result.links] == [
        (LinkKind.REFERENCE, "ref label", "https://x.org/a b")
    ] * 3
    definition = result.definitions["ref label"]
    assert markdown[definition.start : definition.end] == "[ref label]: <https://x.org/a b> 'T'\n"


def test_first_definition_of_a_label_wins_and_definitions_in_code_do_not_count():
    markdown = "[x]\n\n```\n[x]: https://code.org\n```\n[x]: https://first.org\n[X]: https://second.org\n"
    assert _links(markdown) == [("reference", "x", "https://first.org")]


def test_images_are_reported_as_images_including_reference_images():
    markdown = "![alt](https://img.org/a.png) ![ref][logo]\n\n[logo]: https://img.org/logo.png\n"
    links = scan_markdown(markdown).links
    assert [(link.is_image, link.destination) for link in links] == [
        (True, "https://img.org/a.png"),
        (True, "https://img.org/logo.png"),
    ]


def test_a_link_inside_link_text_is_the_link():
    assert _links("[outer [inner](https://inner.org) text](https://outer.org)") == [
        ("inline", "inner", "https://inner.org")
    ]


def test_line_numbers_count_from_the_body_start():
    links = scan_markdown("one\ntwo [a](https://a.org)\n\nfour <https://b.org>").links
    assert [link.line for link in links] == [2, 4]


def test_destination_unescaping_only_decodes_terminated_entities():
    assert unescape_destination(r"https://x.org/a\_b?c=1&amp;d=2&copy=3&lang=en") == (
        "https://x.org/a_b?c=1&d=2&copy=3&lang=en"
    )


@pytest.mark.parametrize(
    "hostile",
    [
        "[" * 20000 + "](https://x.org)" + "[a" * 5000,
        "[a](" * 20000,
        '[a](https://x.org "' * 20000,
        "<https:" * 20000,
        "[a](https://x.org/" + "(" * 20000,
    ],
    ids=["brackets", "open-destinations", "open-titles", "open-autolinks", "open-parens"],
)
def test_hostile_input_is_scanned_in_bounded_time(hostile):
    started = time.perf_counter()
    result = scan_markdown(hostile)
    # Not a performance assertion: a quadratic scanner takes minutes on these, a linear one returns at once.
    assert time.perf_counter() - started < 30
    assert all(link.destination == "https://x.org" for link in result.links)
