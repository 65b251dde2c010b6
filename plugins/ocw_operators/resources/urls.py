"""Credentials embedded in a resource URL (``http://user:password@host/``): detect them, keep them out of text.

A course may link to a page with a user name and password in the URL. The link checker may request such a URL
(that is what the link does), but the userinfo must never travel further: not to the Wayback Machine, whose
captures and their URLs are public, not into a log line, an error message or a stored column.

The authority is read the way browsers read it (WHATWG URL): after ``scheme:`` and any slashes or backslashes,
up to the first ``/``, ``?``, ``#`` or backslash; the userinfo ends at its *last* ``@``.
"""

from __future__ import annotations

import re

_SCHEMES = r"(?:https?|ftp|wss?)"
_AUTHORITY = re.compile(rf"^\s*{_SCHEMES}:[/\\]*([^/?#\\]*)", re.IGNORECASE)
_USERINFO_IN_TEXT = re.compile(rf"(\b{_SCHEMES}:[/\\]*)[^/?#\\\s]*@", re.IGNORECASE)


def has_userinfo(url: str) -> bool:
    """True when ``url`` carries a user name (and maybe a password) before its host."""
    match = _AUTHORITY.match(url or "")
    return bool(match and "@" in match.group(1))


def redact_userinfo(text: str) -> str:
    """``text`` with the userinfo of every URL in it removed (``http://user:pw@host/`` -> ``http://host/``)."""
    return _USERINFO_IN_TEXT.sub(r"\1", text or "")
