"""The identity rule's UUID and URL key; filename, title, license warning and shortcode rules."""

from __future__ import annotations

import uuid

import pytest

from ocw_operators.db.models.external_resources import url_sha256
from ocw_operators.external_resources.identity import resource_uuid
from ocw_operators.external_resources.resource_fields import (
    FILENAME_MAX_LEN,
    InvalidExternalUrl,
    LicenseWarningPolicy,
    UnsafeShortcodeTitle,
    has_external_license_warning,
    is_external_destination,
    resource_filename,
    resource_link_shortcode,
    resource_title,
    shortcode_title,
    validate_external_url,
)


def test_resource_uuid_is_deterministic_per_site_and_url_and_a_valid_uuid():
    first = resource_uuid("18.06", "https://ocw.mit.edu")
    assert first == resource_uuid("18.06", "https://ocw.mit.edu")
    assert first != resource_uuid("18.06", "https://ocw.mit.edu/")
    assert first != resource_uuid("18.06", "https://ocw.mit.edu#fragment")  # as ocw-studio: a fragment is another URL
    assert first != resource_uuid("6.001", "https://ocw.mit.edu")  # as ocw-studio: another site, another resource
    assert uuid.UUID(first).version == 5
    # The rule the CSV import always used, so resources it loaded keep their UUIDs on a re-import.
    assert first == str(uuid.uuid5(uuid.NAMESPACE_URL, "18.06\nhttps://ocw.mit.edu"))


def test_the_url_key_is_a_fixed_length_digest():
    assert len(url_sha256("https://x.org/" + "q" * 4096)) == 64
    assert url_sha256("https://ocw.mit.edu") != url_sha256("https://ocw.mit.edu#fragment")


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("MIT OpenCourseWare", "mit-opencourseware"),
        ("Gilbert Strang [MIT] homepage", "gilbert-strang-mit-homepage"),
        ("Lecture 1: Vectors (PDF)", "lecture-1-vectors-pdf"),
        ("snake_case  and -- dashes", "snake_case-and-dashes"),
        ("../../etc/passwd", "etcpasswd"),
        # Django's slugify(allow_unicode=True): letters outside ASCII stay, other symbols go.
        ("\u00dcber Gr\u00f6\u00dfe \u2013 caf\u00e9", "\u00fcber-gr\u00f6\u00dfe-caf\u00e9"),
        ("日本語", "日本語"),
        ("\u2013 \u2014", ""),
    ],
)
def test_filename_is_ocw_studios_slug_of_title_and_uuid(title, slug):
    new_uuid = resource_uuid("site", "https://x.org")
    assert resource_filename(title, new_uuid) == (f"{slug}_{new_uuid}" if slug else new_uuid)
    assert "/" not in resource_filename(title, new_uuid)


def test_a_long_filename_loses_its_middle_and_keeps_the_uuid_as_ocw_studio_trims_it():
    new_uuid = resource_uuid("site", "https://x.org")
    name = resource_filename("word " * 100, new_uuid)
    # slugify("word word ... word_<uuid>")[:89] + the last 36 characters: the separating "_" is trimmed away too.
    assert name == ("word-" * 18)[:89] + new_uuid
    assert len(name) == FILENAME_MAX_LEN


def test_title_drops_markdown_escapes_and_line_breaks():
    assert resource_title("Strang \\[MIT\\]\n  \\`code\\`", "https://x.org") == "Strang [MIT] `code`"
    assert resource_title("   ", "https://x.org/empty") == "https://x.org/empty"


@pytest.mark.parametrize(
    ("url", "policy", "expected"),
    [
        ("https://ocw.mit.edu/courses/18-06", LicenseWarningPolicy.BY_DOMAIN, False),
        ("http://OCW.MIT.EDU:443/x", LicenseWarningPolicy.BY_DOMAIN, False),
        ("https://www.ocw.mit.edu/", LicenseWarningPolicy.BY_DOMAIN, True),  # exact host match, as ocw-studio
        ("https://example.com", LicenseWarningPolicy.BY_DOMAIN, True),
        ("https://ocw.mit.edu", LicenseWarningPolicy.ALWAYS, True),
        ("https://example.com", LicenseWarningPolicy.NEVER, False),
    ],
)
def test_license_warning(url, policy, expected):
    assert has_external_license_warning(url, policy, "ocw.mit.edu") is expected


def test_license_flags_are_three_states_and_both_is_an_error():
    assert LicenseWarningPolicy.from_flags(add_warning=False, no_warning=False) is LicenseWarningPolicy.BY_DOMAIN
    assert LicenseWarningPolicy.from_flags(add_warning=True, no_warning=False) is LicenseWarningPolicy.ALWAYS
    assert LicenseWarningPolicy.from_flags(add_warning=False, no_warning=True) is LicenseWarningPolicy.NEVER
    with pytest.raises(ValueError, match="mutually exclusive"):
        LicenseWarningPolicy.from_flags(add_warning=True, no_warning=True)


@pytest.mark.parametrize(
    ("destination", "external"),
    [
        ("https://x.org", True),
        ("HTTP://x.org", True),
        ("/pages/a", False),
        ("#top", False),
        ("mailto:a@mit.edu", False),
        ("javascript:alert(1)", False),
        ("ftp://x.org", False),
        ("", False),
    ],
)
def test_external_destinations(destination, external):
    assert is_external_destination(destination) is external


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://", "no host"),
        ("https://x.org/a b", "whitespace"),
        ("https://x.org:99999/", "unparsable"),
        ("https://user:secret@x.org/", "credentials"),
        ("https://x.org/" + "a" * 3000, "longer than"),
        ("https://[::1/", "unparsable"),
    ],
)
def test_invalid_urls_say_why(url, problem):
    with pytest.raises(InvalidExternalUrl, match=problem):
        validate_external_url(url)


def test_valid_url_is_kept_verbatim():
    url = "https://www.google.com/search?q=linear+algebra&hl=en#results"
    assert validate_external_url(f"  {url} ") == url


def test_shortcode_title_escapes_quotes_and_refuses_what_would_break_the_shortcode():
    assert shortcode_title('Say "hi" \\[now\\]') == 'Say \\"hi\\" [now]'
    assert resource_link_shortcode("u-1", shortcode_title("a\nb")) == '{{% resource_link "u-1" "a b" %}}'
    with pytest.raises(UnsafeShortcodeTitle):
        shortcode_title("x {{< sup 2 >}}")
    with pytest.raises(UnsafeShortcodeTitle):
        shortcode_title("C:\\")
