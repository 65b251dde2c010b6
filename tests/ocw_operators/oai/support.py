"""Shared test helpers: a sandbox OAI-PMH endpoint over a fresh store, and an in-memory retirement side."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import requests

from ocw_operators.clients.dspace_oai import OaiClient, OaiClientSettings
from ocw_operators.oai.reconcile import RetirementDeposit
from ocw_sandbox.control import clear_faults, inject_fault
from ocw_sandbox.dspace_store import DSpaceStore, SandboxItem
from ocw_sandbox.oai import INDEX_KEY, ROUTE_NAME, make_oai_app

OCW_COLLECTION = "1721.1/33971"
OCW_SET = "col_1721.1_33971"
OTHER_COLLECTION = "1721.1/40000"
START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


class FakeClock:
    """A clock tests move by hand, so every datestamp is known."""

    def __init__(self, start: dt.datetime = START) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


def course_uri(number: int) -> str:
    return f"https://ocw.mit.edu/courses/course-{number}/"


def add_courses(
    store: DSpaceStore, clock: FakeClock, count: int, *, first: int = 0, collection: str = OCW_COLLECTION, **kw: Any
) -> list[SandboxItem]:
    """Deposit ``count`` course items, one second apart."""
    items = []
    for number in range(first, first + count):
        dublin_core = {"title": [f"Course {number}"], "identifier.uri": [course_uri(number)]}
        items.append(store.create(collection, dublin_core, **kw))
        clock.advance(seconds=1)
    return items


@dataclass
class OaiSandbox:
    store: DSpaceStore
    clock: FakeClock
    root_url: str
    app: Any

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/oai/request"

    def client(self, sleeps: list[float] | None = None, **settings: Any) -> OaiClient:
        record = sleeps.append if sleeps is not None else (lambda seconds: None)
        return OaiClient(OaiClientSettings(base_url=self.base_url, **settings), requests.Session(), sleep=record)

    def fault(self, kind: str, **options: Any) -> None:
        inject_fault(self.root_url, ROUTE_NAME, kind, **options)

    def clear_faults(self) -> None:
        clear_faults(self.root_url)

    def reindex(self) -> int:
        """DSpace's ``oai import``: refresh the OAI index from the store."""
        return self.app[INDEX_KEY].import_store()

    def connection_json(self, **extra: Any) -> str:
        import json

        return json.dumps({"conn_type": "dspace_oai", "host": self.base_url, "extra": extra})


def start_oai_sandbox(runtime, **app_options: Any) -> OaiSandbox:
    clock = FakeClock()
    store = DSpaceStore(clock=clock)
    app_options.setdefault("communities", {"1721.1/1": [OCW_COLLECTION, OTHER_COLLECTION]})
    app = make_oai_app(store, **app_options)
    port = runtime.serve(app)
    return OaiSandbox(store=store, clock=clock, root_url=f"http://127.0.0.1:{port}", app=app)


# --- the retirement side, in memory -------------------------------------------------------------------------


@dataclass
class FakeRetirement:
    course_id: str
    deposited_at: dt.datetime
    handle: str | None = None
    course_uri: str | None = None
    state: str = "deposited"  # deposited | workflow | withdrawn | expunged | missing
    cms_handle: str | None = None


@dataclass
class FakeRetirementRecords:
    """RetirementRecords over a dict, recording every call so tests can assert idempotency."""

    retirements: dict[str, FakeRetirement] = field(default_factory=dict)
    calls: list[tuple] = field(default_factory=list)

    def add(self, retirement: FakeRetirement) -> None:
        self.retirements[retirement.course_id] = retirement

    def deposits_to_reconcile(self):
        for r in self.retirements.values():
            if r.state in ("deposited", "workflow"):
                yield RetirementDeposit(r.course_id, r.deposited_at, handle=r.handle, course_uri=r.course_uri)

    def mark_withdrawn(self, course_id: str, handle: str, *, expunged: bool) -> str:
        self.calls.append(("withdrawn", course_id, handle, expunged))
        self.retirements[course_id].state = "expunged" if expunged else "withdrawn"
        return f"item {handle} is {self.retirements[course_id].state}"

    def mark_missing(self, course_id: str, *, waited: dt.timedelta) -> str | None:
        self.calls.append(("missing", course_id, waited.days))
        if self.retirements[course_id].state == "missing":
            return None  # flagged before
        self.retirements[course_id].state = "missing"
        return f"not seen for {waited.days} days"

    def finish_workflow(self, course_id: str, handle: str) -> None:
        self.calls.append(("finished", course_id, handle))
        retirement = self.retirements[course_id]
        retirement.handle = handle
        retirement.cms_handle = handle
        retirement.state = "deposited"
