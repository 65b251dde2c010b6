"""``nav_item_to_external_resource`` over a site's menus: external items name their resource instead of a URL."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ocw_operators.db.models import ReferenceSourceKind
from ocw_operators.external_resources.options import Rule
from ocw_operators.external_resources.resource_fields import (
    InvalidExternalUrl,
    is_external_destination,
    resource_title,
    validate_external_url,
)
from ocw_operators.external_resources.sites import MENUS_PATH

if TYPE_CHECKING:
    from ocw_operators.external_resources.planning import SitePlanner


def plan_menus(planner: SitePlanner, menus: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]] | None:
    """The menus with their external items converted, or None when no item changed."""
    urls = [
        str(item["url"]).strip()
        for items in menus.values()
        for item in items
        if isinstance(item.get("url"), str) and is_external_destination(item["url"])
    ]
    planner.catalog.prefetch(planner.plan.meta, urls)
    rewritten: dict[str, list[dict[str, Any]]] = {}
    changed = False
    for menu_name, items in menus.items():
        new_items, menu_changed = _plan_menu(planner, str(menu_name), items)
        rewritten[menu_name] = new_items
        changed = changed or menu_changed
    return rewritten if changed else None


def _plan_menu(planner: SitePlanner, menu_name: str, items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    new_items: list[dict[str, Any]] = []
    identifier_changes: dict[str, str] = {}
    converted_urls: set[str] = set()
    for item in items:
        url = item.get("url")
        if not (isinstance(url, str) and is_external_destination(url)):
            new_items.append(item)
            continue
        row_values = {
            "rule": Rule.NAV_ITEM_TO_EXTERNAL_RESOURCE.value,
            "source_path": MENUS_PATH,
            "field": f"metadata.{menu_name}",
            "original": json.dumps(item, ensure_ascii=False, default=str),
        }
        try:
            valid_url = validate_external_url(url)
        except InvalidExternalUrl as problem:
            planner.row(url=url, note=f"left alone: {problem}", **row_values)
            new_items.append(item)
            continue
        blocked = planner.catalog.blocked_reason(valid_url, planner.plan.meta)
        if blocked or valid_url in converted_urls:
            # Hugo rejects two entries with one identifier in the same menu.
            reason = blocked or f"menu {menu_name!r} already links this resource"
            planner.row(url=valid_url, note=f"left alone: {reason}", **row_values)
            new_items.append(item)
            continue
        title = resource_title(str(item.get("name") or ""), valid_url)
        source = (MENUS_PATH, "", ReferenceSourceKind.MENU)
        entry, row = planner.use_resource(valid_url, title, source, row_values)
        converted_urls.add(valid_url)
        replacement = {key: value for key, value in item.items() if key != "url"}
        replacement["identifier"] = entry.uuid
        row.replacement = json.dumps(replacement, ensure_ascii=False, default=str)
        if item.get("identifier") is not None:
            identifier_changes[str(item["identifier"])] = entry.uuid
        new_items.append(replacement)
        planner.plan.nav_items_converted += 1
    # Children point at their parent's identifier, which just changed for converted items.
    for index, item in enumerate(new_items):
        parent = item.get("parent")
        if parent is not None and str(parent) in identifier_changes:
            new_items[index] = {**item, "parent": identifier_changes[str(parent)]}
    return new_items, bool(converted_urls)
