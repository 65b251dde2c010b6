"""The sandbox DSpace repository's items, shared by its SWORD deposit and OAI-PMH endpoints.

SWORD deposits add items here; OAI-PMH serves what is here, so a harvest sees exactly what was deposited.
Items carry DSpace semantics: a handle under a prefix, the owning collection's handle, Dublin Core values,
a last-modified datestamp, and withdrawal. An expunged item vanishes entirely (OAI's transient deletion).
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass
class SandboxItem:
    handle: str  # "1721.1/100001"
    collection_handle: str  # "1721.1/33971"
    dublin_core: dict[str, list[str]]  # {"title": [...], "identifier.uri": [...], ...}
    datestamp: dt.datetime
    withdrawn: bool = False
    in_workflow: bool = False  # a 202 deposit: no handle is public until the workflow finishes
    files: dict[str, int] = field(default_factory=dict)  # name -> size in bytes

    @property
    def set_spec(self) -> str:
        return "col_" + self.collection_handle.replace("/", "_")


class DSpaceStore:
    """Thread-safe in-memory repository. ``clock`` is injectable so tests can control datestamps."""

    def __init__(
        self, handle_prefix: str = "1721.1", first_suffix: int = 100001, clock: Callable[[], dt.datetime] = _utcnow
    ):
        self.handle_prefix = handle_prefix
        self._suffixes = itertools.count(first_suffix)
        self._clock = clock
        self._lock = threading.Lock()
        self._items: dict[str, SandboxItem] = {}

    def new_handle(self) -> str:
        with self._lock:
            return f"{self.handle_prefix}/{next(self._suffixes)}"

    def add(self, item: SandboxItem) -> SandboxItem:
        with self._lock:
            self._items[item.handle] = item
        return item

    def create(
        self, collection_handle: str, dublin_core: dict[str, list[str]], *, in_workflow: bool = False, files=None
    ) -> SandboxItem:
        return self.add(
            SandboxItem(
                handle=self.new_handle(),
                collection_handle=collection_handle,
                dublin_core=dublin_core,
                datestamp=self._clock(),
                in_workflow=in_workflow,
                files=dict(files or {}),
            )
        )

    def get(self, handle: str) -> SandboxItem | None:
        with self._lock:
            return self._items.get(handle)

    def touch(self, handle: str, **changes) -> SandboxItem:
        """Change an item (e.g. ``withdrawn=True``, ``in_workflow=False``) and bump its datestamp."""
        with self._lock:
            item = self._items[handle]
            for name, value in changes.items():
                setattr(item, name, value)
            item.datestamp = self._clock()
            return item

    def expunge(self, handle: str) -> None:
        with self._lock:
            self._items.pop(handle, None)

    def items(self) -> list[SandboxItem]:
        """Every item, oldest datestamp first (ties by handle), as OAI-PMH lists them."""
        with self._lock:
            return sorted(self._items.values(), key=lambda item: (item.datestamp, item.handle))

    def find(self, predicate: Callable[[SandboxItem], bool]) -> Iterable[SandboxItem]:
        return [item for item in self.items() if predicate(item)]
