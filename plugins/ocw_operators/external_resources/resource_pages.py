"""External-resource pages (``content/external-resources/<filename>.md``) as ocw-studio writes and reads them.

The fields are those of the ``external-resource`` type in ocw-hugo-projects' ``ocw-course-v2/ocw-studio.yaml``:
``title``, ``external_url``, ``wayback_url``, ``license`` (default All rights reserved),
``has_external_license_warning`` and ``status``. ocw-studio's Hugo serializer adds ``uid`` (the resource's UUID,
which ``resource_link`` shortcodes name), ``content_type`` and ``_build`` (the page is listed but not rendered), and
writes the front matter with ``yaml.dump`` (keys sorted) and an empty body.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from ocw_operators.db.models import ResourceStatus
from ocw_operators.external_resources.sites import RESOURCE_PAGES_DIR, ContentPage, SiteFileError, SiteFolder

CONTENT_TYPE = "external-resource"
DEFAULT_LICENSE = "https://en.wikipedia.org/wiki/All_rights_reserved"
# The fields of the external-resource type in ocw-course-v2/ocw-studio.yaml, in its order.
STUDIO_FIELDS = ("title", "external_url", "wayback_url", "license", "has_external_license_warning", "status")
# Keys ocw-studio's serializer adds to every page it writes for the type.
SERIALIZER_KEYS = ("_build", "content_type", "uid")
_STATUSES = {status.value for status in ResourceStatus}


@dataclass(frozen=True)
class ResourcePage:
    """An external resource as its page in a site says."""

    relative_path: str
    filename: str  # the file name without ".md"
    uid: str
    title: str
    url: str
    license: str
    has_external_license_warning: bool
    status: str
    wayback_url: str


def is_resource_page(page: ContentPage) -> bool:
    return page.relative_path.startswith(RESOURCE_PAGES_DIR + "/") and page.content_type == CONTENT_TYPE


def parse_resource_page(page: ContentPage) -> ResourcePage:
    """The resource a page describes; raises :class:`SiteFileError` when the page cannot stand for one."""
    data = page.data
    url = data.get("external_url")
    if not page.uid:
        raise SiteFileError(page.relative_path, "external resource page without a uid")
    if not isinstance(url, str) or not url.strip():
        raise SiteFileError(page.relative_path, "external resource page without an external_url")
    warning = data.get("has_external_license_warning", False)
    if not isinstance(warning, bool):
        raise SiteFileError(page.relative_path, f"has_external_license_warning must be true or false, not {warning!r}")
    status = data.get("status") or ResourceStatus.UNCHECKED.value
    title = data.get("title")
    return ResourcePage(
        relative_path=page.relative_path,
        filename=Path(page.relative_path).stem,
        uid=page.uid,
        title=title if isinstance(title, str) else "",
        url=url.strip(),
        license=str(data.get("license") or DEFAULT_LICENSE),
        has_external_license_warning=warning,
        # ocw-studio's statuses are ours; anything else is treated as not checked yet.
        status=status if status in _STATUSES else ResourceStatus.UNCHECKED.value,
        wayback_url=str(data.get("wayback_url") or ""),
    )


def resource_page_path(site: SiteFolder, filename: str) -> Path:
    return site.path / RESOURCE_PAGES_DIR / f"{filename}.md"


def render_resource_page(
    *,
    uid: str,
    title: str,
    url: str,
    has_external_license_warning: bool,
    status: str = ResourceStatus.UNCHECKED.value,
    wayback_url: str = "",
    license_url: str = DEFAULT_LICENSE,
) -> str:
    """The page of an external resource, byte for byte as ocw-studio's serializer writes it."""
    front_matter = {
        "_build": {"list": True, "render": False},
        "content_type": CONTENT_TYPE,
        "external_url": url,
        "has_external_license_warning": has_external_license_warning,
        "license": license_url,
        "status": status,
        "title": title,
        "uid": uid,
        "wayback_url": wayback_url,
    }
    return f"---\n{yaml.safe_dump(front_matter)}---\n"
