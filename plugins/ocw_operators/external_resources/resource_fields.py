"""How a new external resource's fields are derived: URL validity, filename, title, license warning, shortcode.

Its UUID follows the identity rule in :mod:`ocw_operators.external_resources.identity`.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from urllib.parse import urlsplit

DEFAULT_SITEMAP_DOMAIN = "ocw.mit.edu"
# ocw-studio's limit for WebsiteContent.filename.
FILENAME_MAX_LEN = 125
TITLE_MAX_LEN = 512
MAX_URL_LEN = 2048
_SLUG_DROP = re.compile(r"[^\w\s-]")
_SLUG_SEPARATORS = re.compile(r"[-\s]+")
UUID_LEN = 36
_WHITESPACE = re.compile(r"\s+")
# Escapes that markdown needs in link text but a shortcode title must not show (as ocw-studio unescapes them).
_TITLE_UNESCAPES = {r"\`": "`", r"\[": "[", r"\]": "]", r"\"": '"'}


class InvalidExternalUrl(ValueError):
    """The destination is an absolute http(s) URL that cannot be stored or checked."""


class LicenseWarningPolicy(StrEnum):
    """``--add-external-license-warning`` / ``--no-external-license-warning`` / neither."""

    BY_DOMAIN = "by_domain"
    ALWAYS = "always"
    NEVER = "never"

    @classmethod
    def from_flags(cls, *, add_warning: bool, no_warning: bool) -> LicenseWarningPolicy:
        if add_warning and no_warning:
            raise ValueError(
                "add_external_license_warning and no_external_license_warning are mutually exclusive; choose one"
            )
        if add_warning:
            return cls.ALWAYS
        if no_warning:
            return cls.NEVER
        return cls.BY_DOMAIN


def is_external_destination(destination: str) -> bool:
    """True for absolute http(s) destinations; relative paths, anchors, mailto: etc. are internal."""
    scheme = destination.strip().split(":", 1)[0].lower() if ":" in destination else ""
    return scheme in {"http", "https"}


def validate_external_url(destination: str) -> str:
    """Return the URL to store, or raise :class:`InvalidExternalUrl` saying why it cannot be used."""
    url = destination.strip()
    if len(url) > MAX_URL_LEN:
        raise InvalidExternalUrl(f"URL longer than {MAX_URL_LEN} characters")
    if any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in url):
        raise InvalidExternalUrl("URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        _ = parts.port  # raises ValueError for a non-numeric or out-of-range port
    except ValueError as error:
        raise InvalidExternalUrl(f"unparsable URL: {error}") from None
    if parts.scheme.lower() not in {"http", "https"}:
        raise InvalidExternalUrl(f"scheme {parts.scheme!r} is not http(s)")
    if not hostname:
        raise InvalidExternalUrl("URL has no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidExternalUrl("URL embeds credentials")
    return url


def has_external_license_warning(url: str, policy: LicenseWarningPolicy, sitemap_domain: str) -> bool:
    """ocw-studio's rule: no warning for the sitemap domain (exact host match), a warning for every other host."""
    if policy is LicenseWarningPolicy.ALWAYS:
        return True
    if policy is LicenseWarningPolicy.NEVER:
        return False
    return (urlsplit(url).hostname or "") != sitemap_domain.strip().lower()


def resource_title(link_text: str, url: str) -> str:
    """The resource's title: the link text without markdown escapes, on one line; the URL if the text is empty."""
    title = unescape_link_text(link_text)
    title = _WHITESPACE.sub(" ", title).strip()
    return (title or url)[:TITLE_MAX_LEN]


def unescape_link_text(text: str) -> str:
    for escaped, literal in _TITLE_UNESCAPES.items():
        text = text.replace(escaped, literal)
    return text


def slugify(value: str) -> str:
    """Django's ``slugify(value, allow_unicode=True)``, which ocw-studio names content files with: NFKC, lowercase,
    characters other than word characters, spaces and hyphens dropped, runs of spaces and hyphens made one hyphen,
    leading and trailing hyphens and underscores stripped (letters outside ASCII stay)."""
    value = unicodedata.normalize("NFKC", value).lower()
    value = _SLUG_DROP.sub("", value)
    return _SLUG_SEPARATORS.sub("-", value).strip("-_")


def resource_filename(title: str, resource_uuid: str) -> str:
    """The file name (without ``.md``) ocw-studio gives a new external resource: the slug of ``<title>_<uuid>``.

    The UUID keeps two resources with the same title apart. A name longer than ``FILENAME_MAX_LEN`` loses the middle
    and keeps its last 36 characters (the UUID), as ocw-studio trims it: ``name[:89] + name[-36:]``.
    """
    filename = slugify(f"{title}_{resource_uuid}")
    if len(filename) > FILENAME_MAX_LEN:
        filename = filename[: FILENAME_MAX_LEN - UUID_LEN] + filename[-UUID_LEN:]
    return filename


class UnsafeShortcodeTitle(ValueError):
    """The link text cannot be carried inside a shortcode's quoted argument."""


def shortcode_title(link_text: str) -> str:
    """The link text as the shortcode's quoted title: escapes removed, one line, quotes escaped."""
    title = _WHITESPACE.sub(" ", unescape_link_text(link_text)).strip()
    if "{{" in title or "}}" in title:
        raise UnsafeShortcodeTitle("link text contains a shortcode delimiter")
    if title.endswith("\\"):
        raise UnsafeShortcodeTitle("link text ends with a backslash, which would escape the closing quote")
    return title.replace('"', '\\"')


def resource_link_shortcode(resource_uuid: str, title: str) -> str:
    """``{{% resource_link "<uuid>" "<title>" %}}`` (``title`` already escaped by :func:`shortcode_title`)."""
    return f'{{{{% resource_link "{resource_uuid}" "{title}" %}}}}'
