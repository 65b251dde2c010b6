"""Which DSpace collection a course is deposited into: the department -> collection mapping of the SWORD Connection."""

from __future__ import annotations

import json
from pathlib import Path

from ocw_operators.clients.dspace_sword import validate_handle
from ocw_operators.safe_xml import parse_xml


class CollectionMapError(ValueError):
    """The department -> collection mapping is missing, malformed, or has no entry for a department."""


class CollectionMap:
    """Which DSpace collection (handle) a course's department deposits into, like OCW's DepositURILookup.

    Built from a dict or a file: JSON ``{"history": "1721.1/33971", ...}`` or XML with elements carrying
    ``department`` and ``collection`` (a handle) or ``deposit_uri`` (a deposit URL ending in the handle).
    """

    def __init__(self, mapping: dict[str, str]) -> None:
        self._mapping = {}
        for department, collection in mapping.items():
            try:
                self._mapping[department.strip().lower()] = validate_handle(str(collection).strip())
            except ValueError as error:
                raise CollectionMapError(f"department {department!r}: {error}") from None

    @classmethod
    def from_file(cls, path: Path | str) -> CollectionMap:
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CollectionMapError(f"cannot read the collection mapping {path}: {error.strerror}") from None
        if path.suffix.lower() == ".json":
            try:
                return cls(json.loads(data))
            except (json.JSONDecodeError, AttributeError) as error:
                raise CollectionMapError(f"{path} is not a JSON object of department -> handle: {error}") from None
        root = parse_xml(data, source=str(path))
        mapping = {}
        for element in root.iter():
            department = element.get("department")
            target = element.get("collection") or "/".join(
                (element.get("deposit_uri") or "").rstrip("/").split("/")[-2:]
            )
            if department and target:
                mapping[department] = target
        if not mapping:
            raise CollectionMapError(f"{path} maps no department to a collection")
        return cls(mapping)

    def collection_for(self, department: str) -> str:
        try:
            return self._mapping[department.strip().lower()]
        except KeyError:
            raise CollectionMapError(
                f"no DSpace collection is configured for department {department!r}; "
                f"add it to the collection mapping (known: {sorted(self._mapping)})"
            ) from None

    def __len__(self) -> int:
        return len(self._mapping)
