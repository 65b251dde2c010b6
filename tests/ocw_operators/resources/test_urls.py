"""Credentials in resource URLs: found the way browsers parse the authority, and removed from any text."""

from __future__ import annotations

import pytest

from ocw_operators.resources.urls import has_userinfo, redact_userinfo


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
