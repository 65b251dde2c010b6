"""What makes an external resource one resource: its site and its exact URL, as in ocw-studio.

ocw-studio's ``get_or_build_external_resource`` looks a resource up by (website, ``external_url``): an external
resource is content of one website, so the same URL linked from two courses is two resources, and
``https://ocw.mit.edu`` and ``https://ocw.mit.edu#fragment`` are two URLs. Both importers (CSV/JSON and markdown)
follow this rule, and the archive DB enforces it with a unique (``site_name``, ``url_sha256``) index
(:func:`ocw_operators.db.models.external_resources.url_sha256`).

Within a site the ``content_uuid`` (ocw-studio's ``text_id``) is unique too, but not across sites: a resource
that the markdown import once shared between courses was split per course, each copy keeping the UUID that
course's pages already reference (see the ``resources_0002`` migration).
"""

from __future__ import annotations

import uuid


def resource_uuid(site_name: str, url: str) -> str:
    """The UUID of a new resource: derived from (site, URL), so a rerun, a retry or a dry run computes the same one.

    Resources loaded before this rule keep the UUID they were stored with; lookups go by (site, URL), never by
    recomputing this.
    """
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{site_name}\n{url}"))
