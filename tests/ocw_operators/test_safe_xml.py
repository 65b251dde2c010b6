import io

import pytest

from ocw_operators.safe_xml import (
    MalformedXmlError,
    UnsafeXmlError,
    parse_xml,
    release,
    safe_iterparse,
    safe_parser,
    text_of,
)

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<r>&secret;</r>"""
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<lolz>&lol3;</lolz>"""
NETWORK_DTD = b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd"><r/>'


def test_parses_well_formed_xml_and_honours_the_declared_encoding():
    root = parse_xml('<?xml version="1.0" encoding="ISO-8859-1"?><t>caf\xe9</t>'.encode("latin-1"))
    assert text_of(root) == "café"


@pytest.mark.parametrize("document", [EXTERNAL_ENTITY, BILLION_LAUGHS, NETWORK_DTD], ids=["xxe", "laughs", "dtd"])
def test_documents_with_a_doctype_are_refused(document):
    with pytest.raises(UnsafeXmlError, match="DOCTYPE"):
        parse_xml(document, source="metadata of x")


def test_entities_are_never_expanded_even_when_a_doctype_is_allowed():
    root = parse_xml(EXTERNAL_ENTITY, allow_doctype=True)
    assert "root:" not in "".join(root.itertext())  # /etc/passwd was not read
    laughs = parse_xml(BILLION_LAUGHS, allow_doctype=True)
    assert len("".join(laughs.itertext())) < 100


@pytest.mark.parametrize("document", [b"<r><unclosed></r>", b"", b"not xml at all", b"<r>&undefined;</r>"])
def test_malformed_xml_is_a_clear_error_naming_the_source(document):
    with pytest.raises(MalformedXmlError, match=r"metadata of lec1\.pdf"):
        parse_xml(document, source="metadata of lec1.pdf")


def test_size_limit_and_type():
    with pytest.raises(UnsafeXmlError, match="limit"):
        parse_xml(b"<r>" + b"x" * 100 + b"</r>", max_bytes=50)
    with pytest.raises(TypeError):
        parse_xml("<r/>")


def test_parser_options_are_hardened():
    parser = safe_parser()
    assert parser is not None
    # A parser built here never fetches the network DTD: parsing succeeds without a connection attempt.
    parse_xml(NETWORK_DTD, allow_doctype=True)


def test_iterparse_streams_elements_and_refuses_doctypes():
    stream = io.BytesIO(b"<list>" + b"".join(b"<item>%d</item>" % n for n in range(1000)) + b"</list>")
    values = []
    for _event, element in safe_iterparse(stream, tag="item"):
        values.append(int(element.text))
        element.clear()
    assert values == list(range(1000))
    with pytest.raises(UnsafeXmlError):
        list(safe_iterparse(io.BytesIO(EXTERNAL_ENTITY)))
    with pytest.raises(MalformedXmlError):
        list(safe_iterparse(io.BytesIO(b"<a><b></a>")))


def test_iterparse_checks_the_root_before_handing_out_elements():
    seen = []

    def must_be_list(root):
        if root.tag != "list":
            raise ValueError(f"root is <{root.tag}>")

    with pytest.raises(ValueError, match="root is <feed>"):
        for _event, element in safe_iterparse(io.BytesIO(b"<feed><item>1</item></feed>"), tag="item",
                                              check_root=must_be_list):  # fmt: skip
            seen.append(element.text)
    assert seen == []
    # A document without a single matching element is still checked, at its end.
    with pytest.raises(ValueError, match="root is <feed>"):
        list(safe_iterparse(io.BytesIO(b"<feed/>"), tag="item", check_root=must_be_list))


def test_iterparse_names_the_document_and_refuses_empty_ones():
    with pytest.raises(MalformedXmlError, match="ListRecords response"):
        list(safe_iterparse(io.BytesIO(b"<a><b>"), name="ListRecords response"))
    with pytest.raises(MalformedXmlError):
        list(safe_iterparse(io.BytesIO(b"")))
    with pytest.raises(UnsafeXmlError, match="DOCTYPE"):
        list(safe_iterparse(io.BytesIO(NETWORK_DTD), name="page"))


def test_release_keeps_memory_flat_while_streaming():
    stream = io.BytesIO(b"<list>" + b"".join(b"<item>%d</item>" % n for n in range(500)) + b"</list>")
    values = []
    for _event, element in safe_iterparse(stream, tag="item"):
        values.append(int(element.text))
        parent = element.getparent()
        release(element)
        assert element.text is None and element.getprevious() is None, "finished items are freed at once"
    assert values == list(range(500)) and len(parent) == 1


def test_text_of_joins_mixed_content_and_treats_missing_as_empty():
    root = parse_xml(b"<summary>  Crosswalk <b>failed</b> for MODS </summary>")
    assert text_of(root) == "Crosswalk failed for MODS"
    assert text_of(root.find("missing")) == ""
