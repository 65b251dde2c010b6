"""Sandbox DSpace (SWORD and OAI-PMH over one store) + CMS, and plain clients over an archive DB.

The ``sandbox`` fixture (tests/conftest.py) starts one per test; the retirement tests' ``env`` adds the clients.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import requests

SWORD_USER = "sword-depositor"
SWORD_PASSWORD = "sw0rd-Pa55-d0-not-leak"
CMS_USER = "ocw-engine"
CMS_PASSWORD = "cms-Pa55-d0-not-leak"
COLLECTIONS = {"history": "1721.1/33971", "physics": "1721.1/33972"}
OCW_COMMUNITY = "1721.1/1"  # both collections belong to it, so its set com_1721.1_1 lists every OCW item
OCW_SET = "com_1721.1_1"
COURSES = [
    "history/21h-126-america-in-depression-and-war-spring-2003",
    "physics/8-01-classical-mechanics-fall-2016",
    "history/21h-001-how-to-stage-a-revolution-fall-2014",
]


@dataclass
class Sandbox:
    dspace_url: str
    cms_url: str
    oai_url: str  # the OAI-PMH base URL (.../oai/request), serving what the SWORD endpoint stored
    store: object  # DSpaceStore shared by the SWORD and OAI-PMH endpoints
    sword: object  # SwordState
    cms: object  # CmsState
    dspace_app: object
    cms_app: object


def start_sandbox(sandbox_runtime, tmp_path: Path) -> Sandbox:
    from ocw_sandbox.cms import CMS_STATE, make_cms_app, sample_course
    from ocw_sandbox.dspace import SWORD_STATE, make_dspace_app
    from ocw_sandbox.dspace_store import DSpaceStore
    from ocw_sandbox.oai import make_oai_app

    store = DSpaceStore()
    spool = tmp_path / "dspace-spool"
    spool.mkdir()
    dspace_app = make_dspace_app(
        store,
        username=SWORD_USER,
        password=SWORD_PASSWORD,
        collections={handle: f"OCW {name}" for name, handle in COLLECTIONS.items()},
        spool_dir=spool,
    )
    courses = [sample_course(course_id, seed=index + 1) for index, course_id in enumerate(COURSES)]
    cms_app = make_cms_app(courses, username=CMS_USER, password=CMS_PASSWORD, queue=COURSES[:2])
    oai_app = make_oai_app(store, communities={OCW_COMMUNITY: list(COLLECTIONS.values())})
    dspace_port = sandbox_runtime.serve(dspace_app)
    cms_port = sandbox_runtime.serve(cms_app)
    oai_port = sandbox_runtime.serve(oai_app)
    return Sandbox(
        dspace_url=f"http://127.0.0.1:{dspace_port}",
        cms_url=f"http://127.0.0.1:{cms_port}",
        oai_url=f"http://127.0.0.1:{oai_port}/oai/request",
        store=store,
        sword=dspace_app[SWORD_STATE],
        cms=cms_app[CMS_STATE],
        dspace_app=dspace_app,
        cms_app=cms_app,
    )


@dataclass
class Env:
    engine: object
    holding: object
    retired: Path
    sword: object  # SwordClient
    cms: object  # CmsClient
    collections: object
    sandbox: Sandbox


def basic_session(user: str | None = None, password: str = "") -> requests.Session:
    """A session as the SWORD and CMS hooks configure one: HTTP Basic when a user is given, no proxy settings or
    .netrc from the environment."""
    session = requests.Session()
    session.auth = (user, password) if user else None
    session.trust_env = False
    return session


def sword_client(sandbox: Sandbox, *, version: int = 1, read_timeout: float = 10.0):
    from ocw_operators.clients.dspace_sword import SwordClient, SwordSettings

    return SwordClient(
        SwordSettings(sandbox.dspace_url, version=version, read_timeout=read_timeout),
        basic_session(SWORD_USER, SWORD_PASSWORD),
    )


def cms_client(sandbox: Sandbox, *, auth_style: str = "form", password: str = CMS_PASSWORD):
    from ocw_operators.clients.cms import CmsClient, CmsSettings

    return CmsClient(
        CmsSettings(sandbox.cms_url, CMS_USER, password, auth_style=auth_style, read_timeout=10.0), basic_session()
    )


def make_env(sandbox: Sandbox, archive_engine, tmp_path: Path) -> Env:
    from ocw_operators.retirement.collection_map import CollectionMap
    from ocw_operators.retirement.holding import HoldingArea

    return Env(
        engine=archive_engine,
        holding=HoldingArea(tmp_path / "holding"),
        retired=tmp_path / "RetiredCourseZips",
        sword=sword_client(sandbox),
        cms=cms_client(sandbox),
        collections=CollectionMap(COLLECTIONS),
        sandbox=sandbox,
    )


def retire(env: Env, course_id: str, *, lookup=None, redeposit: bool = False) -> dict:
    """Every step of one course, in DAG order (what the mapped task group runs)."""
    from ocw_operators.retirement import state, steps

    state.register(env.engine, [course_id])
    steps.fetch(env.engine, env.holding, env.cms, course_id)
    steps.package(env.engine, env.holding, course_id)
    steps.store(env.engine, env.retired, course_id)
    steps.deposit(
        env.engine, env.sword, env.collections, course_id, lookup=lookup, redeposit_after_unknown_outcome=redeposit
    )
    steps.set_cms_handle(env.engine, env.cms, course_id)
    return steps.complete(env.engine, course_id).to_json()


def record_deposit(
    engine,
    course_id: str,
    *,
    handle: str | None,
    deposited_at,
    identifier_uri: str = "",
    record_state: str = "done",
) -> None:
    """A retirement record as the retirement DAG leaves it after a deposit (``handle`` None: a 202 deposit)."""
    from ocw_operators.retirement import state

    state.register(engine, [course_id])
    state.update(
        engine,
        course_id,
        state=record_state,
        dspace_handle=handle,
        deposited_at=deposited_at,
        identifier_uri=identifier_uri or f"https://ocw.mit.edu/courses/{course_id.rsplit('/', maxsplit=1)[-1]}/",
    )
