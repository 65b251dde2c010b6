"""ocw-studio's rules for judging an external URL from the HTTP status it finally answers with.

Mirrors ``external_resources/constants.py`` and ``api.is_url_broken`` + ``tasks.check_external_resources``
in mitodl/ocw-studio:

* 400-599 is broken, except 401, 402, 403, 408, 429 and 503, which say nothing about the link itself
  (authentication, payment, rate limiting, temporary outage) and leave it ``unchecked``;
* anything else (1xx, 2xx, 3xx that was not followed, or a nonstandard code of 600 and above) is valid;
* no status at all (``None``) is valid: ocw-studio returns ``(False, None)`` for an empty URL without making a
  request and then records the resource as valid. Requests that fail are not judged here: they are
  ``check_failed`` (see :mod:`ocw_operators.linkcheck.checker`).
"""

from __future__ import annotations

from collections.abc import Mapping

from ocw_operators.db.models import ResourceStatus

RESOURCE_BROKEN_STATUS_START = 400
RESOURCE_BROKEN_STATUS_END = 600  # exclusive
RESOURCE_UNCHECKED_STATUSES = frozenset({401, 402, 403, 408, 429, 503})


def is_broken_status(status_code: int) -> bool:
    """ocw-studio's ``is_url_broken`` test: 400 <= code < 600, the "unchecked" codes included."""
    return RESOURCE_BROKEN_STATUS_START <= status_code < RESOURCE_BROKEN_STATUS_END


def classify_response(status_code: int | None) -> ResourceStatus:
    """The resource status ocw-studio records for a final HTTP status (``None``: empty URL, not requested)."""
    if status_code is None:
        return ResourceStatus.VALID
    if status_code in RESOURCE_UNCHECKED_STATUSES:
        return ResourceStatus.UNCHECKED
    if is_broken_status(status_code):
        return ResourceStatus.BROKEN
    return ResourceStatus.VALID


def describe_counts(counts: Mapping[str, int]) -> str:
    """Status counts for a log line: ``"93 valid, 5 broken, 2 unchecked"``, then failures and anything else."""
    parts = [f"{counts.get(status, 0)} {status}" for status in (ResourceStatus.VALID, ResourceStatus.BROKEN)]
    parts.append(f"{counts.get(ResourceStatus.UNCHECKED, 0)} unchecked")
    failed = counts.get(ResourceStatus.CHECK_FAILED, 0)
    if failed:
        parts.append(f"{failed} could not be checked")
    known = {str(status) for status in ResourceStatus}
    parts.extend(f"{count} {name}" for name, count in counts.items() if name not in known and count)
    return ", ".join(parts)
