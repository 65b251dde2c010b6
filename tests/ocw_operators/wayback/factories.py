"""Seed external resources straight into the archive DB (the importer and link checker are other DAGs)."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from typing import Any

from sqlalchemy import select

from ocw_operators.db import session_scope
from ocw_operators.db.models import ExternalResource

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
_numbers = itertools.count(1)


def add_resource(engine, **fields: Any) -> int:
    number = next(_numbers)
    values: dict[str, Any] = {
        "content_uuid": str(uuid.uuid4()),
        "site_name": "18-01-calculus-fall-2006",
        "site_short_id": "18.01-fall-2006",
        "title": f"Resource {number}",
        "url": f"https://example.org/resource/{number}",
        "status": "valid",
    }
    values.update(fields)
    with session_scope(engine) as session:
        resource = ExternalResource(**values)
        session.add(resource)
        session.flush()
        return resource.id


def get_resource(engine, resource_id: int) -> ExternalResource:
    with session_scope(engine) as session:
        return session.execute(select(ExternalResource).where(ExternalResource.id == resource_id)).scalar_one()


def aware(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns naive UTC datetimes; compare everything as aware UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment
