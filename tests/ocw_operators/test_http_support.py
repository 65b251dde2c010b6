"""What every HTTP client shares: bounded bodies, Retry-After, and credentials kept out of text.

Credentials in resource URLs are found the way browsers parse the authority, and removed from any text.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import io

import pytest

from ocw_operators.http_support import (
    BoundedReader,
    Deadline,
    ResponseTooLarge,
    ResponseTooSlow,
    aread_bounded,
    body_excerpt,
    has_userinfo,
    read_bounded,
    redact_query_strings,
    redact_url,
    redact_userinfo,
    retry_after_seconds,
    scrub_secrets,
)


@pytest.mark.parametrize(
    "url",
    [
        "http://user:pass@example.org/",
        "https://token@example.org/private",
        "HTTPS://User:Pass@Example.org",
        "http://a@b@example.org/",  # the userinfo ends at the last @
        "http://user:p%40ss@example.org:8080/x?y=1",
        "  http://user:pass@example.org/  ",
        "http:user:pass@example.org/",  # browsers read an authority after http: even without slashes
        "http:\\\\user:pass@example.org/",
        "ftp://anonymous:me@files.example.org/",
    ],
)
def test_userinfo_is_found(url):
    assert has_userinfo(url)
    assert "@" not in redact_userinfo(url).split("example.org")[0]


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/",
        "https://example.org/people/@someone",
        "https://example.org/?mail=a@b.org",
        "https://example.org/#@x",
        "https://example.org:8443/a@b",
        "mailto:someone@example.org",
        "",
    ],
)
def test_no_userinfo_is_left_alone(url):
    assert not has_userinfo(url)
    assert redact_userinfo(url) == url


def test_every_url_in_a_text_loses_its_userinfo():
    text = "could not fetch http://u:secret@a.example/x, then https://tok@b.example/?q=c@d and ftp://e@f/"
    assert redact_userinfo(text) == "could not fetch http://a.example/x, then https://b.example/?q=c@d and ftp://f/"
    playback = "https://web.archive.org/web/20260101000000/http://user:pw@example.org/page"
    assert redact_userinfo(playback) == "https://web.archive.org/web/20260101000000/http://example.org/page"


# --- bounded bodies ----------------------------------------------------------------------------------------------


def test_a_body_within_its_limit_is_read_whole():
    assert read_bounded([b"ab", b"", b"cd"], max_bytes=4) == b"abcd"


def test_a_body_over_its_limit_is_refused_naming_it():
    chunks_read = []

    def chunks():
        for chunk in (b"abc", b"def", b"never read"):
            chunks_read.append(chunk)
            yield chunk

    with pytest.raises(ResponseTooLarge, match=r"^the receipt is larger than 5 bytes$"):
        read_bounded(chunks(), max_bytes=5, what="the receipt")
    assert chunks_read == [b"abc", b"def"], "reading stops at the chunk that crosses the limit"


def test_a_body_still_arriving_at_its_deadline_is_refused():
    deadline = Deadline(0.0)
    with pytest.raises(ResponseTooSlow, match=r"^SPN2 answer took longer than 0s to arrive$"):
        read_bounded(iter([b"x"]), max_bytes=10, deadline=deadline, what="SPN2 answer")
    assert isinstance(ResponseTooSlow("x"), TimeoutError)
    assert not Deadline(60).expired()


def test_async_bodies_have_the_same_limit():
    async def chunks(*parts):
        for part in parts:
            yield part

    assert asyncio.run(aread_bounded(chunks(b"ab", b"cd"), max_bytes=4)) == b"abcd"
    with pytest.raises(ResponseTooLarge, match="larger than 3 bytes"):
        asyncio.run(aread_bounded(chunks(b"ab", b"cd"), max_bytes=3))


def test_a_bounded_reader_feeds_a_streaming_parser_within_the_limit():
    raw = io.BytesIO(b"0123456789")
    reader = BoundedReader(raw.read, max_bytes=8, what="OAI-PMH response")
    assert reader.read(4) == b"0123"
    assert reader.read(4) == b"4567"
    assert reader.bytes_read == 8
    with pytest.raises(ResponseTooLarge, match=r"^OAI-PMH response is larger than 8 bytes$"):
        reader.read()  # no size: one read of up to 64 KiB


def test_an_excerpt_is_one_short_line():
    body = b"<html>\n  <body>Bad   Gateway</body>\n</html>" + b"x" * 1000
    excerpt = body_excerpt(body, 40)
    assert excerpt == "<html> <body>Bad Gateway</body> </html>x"
    assert body_excerpt("caf\u00e9".encode()[:4], 10) == "caf\ufffd"


# --- Retry-After ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("-5", 0.0),
        ("", None),
        (None, None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
    ],
)
def test_retry_after_delta_seconds_and_past_dates(header, expected):
    assert retry_after_seconds(header) == expected


def test_retry_after_http_date_counts_from_now():
    now = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    later = email.utils.format_datetime(now + dt.timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds(later, now=now) == 90.0
    assert retry_after_seconds("Sun, 01 Mar 2026 12:00:30", now=now) == 30.0  # no zone: GMT


# --- redaction -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:s3cret@dspace.mit.edu:8443/oai/request", "https://dspace.mit.edu:8443/oai/request"),
        (
            "https://cms.example.edu/retirement_queue?__ac_name=u&__ac_password=s3cret",
            "https://cms.example.edu/retirement_queue",
        ),
        ("https://u:p@[::1]:8080/x#frag", "https://[::1]:8080/x"),
        ("https://DSpace.MIT.edu/oai/request", "https://DSpace.MIT.edu/oai/request"),  # clean: left exactly as it is
    ],
)
def test_a_url_in_a_message_has_no_credentials_query_or_fragment(url, shown):
    assert redact_url(url) == shown
    assert "s3cret" not in redact_url(url)


def test_query_strings_and_echoed_secrets_are_removed_from_text():
    assert redact_query_strings("GET /q?__ac_password=x HTTP/1.1") == "GET /q?<redacted> HTTP/1.1"
    echoed = "Authorization: LOW key-1:p@ss/word and p%40ss%2Fword"
    assert scrub_secrets(echoed, ["p@ss/word", "key-1", ""]) == "Authorization: LOW ***:*** and ***"
