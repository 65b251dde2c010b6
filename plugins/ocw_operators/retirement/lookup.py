"""Finding a course's existing DSpace item before depositing it (again).

``ExistingItemLookup`` maps a course's ``dc.identifier.uri`` to the handle of an item DSpace already holds
for it, or None. The OAI-PMH harvest provides one (harvested items by dc.identifier.uri); until it is
configured there is none, and a deposit whose outcome is unknown is not repeated automatically.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

ExistingItemLookup = Callable[[str], str | None]


class LookupConfigError(ValueError):
    """The configured lookup cannot be imported or is not callable."""


def no_existing_item(identifier_uri: str) -> str | None:
    """The default lookup: knows of no item."""
    return None


def load_lookup(spec: str | None) -> ExistingItemLookup | None:
    """Import ``"package.module:attribute"``; an empty spec means no lookup is configured.

    The attribute is either the lookup itself or a zero-argument factory marked with
    ``is_lookup_factory = True`` that builds one (for lookups that need a hook or a DB engine).
    """
    if not spec:
        return None
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise LookupConfigError(f"existing-item lookup must be 'module:attribute', not {spec!r}")
    try:
        target = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise LookupConfigError(f"cannot load the existing-item lookup {spec!r}: {error}") from None
    if getattr(target, "is_lookup_factory", False):
        target = target()
    if not callable(target):
        raise LookupConfigError(f"existing-item lookup {spec!r} is not callable")
    return target
