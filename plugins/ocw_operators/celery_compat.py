"""Keep the pinned Celery provider importable on the pinned Celery (no Airflow imports).

``apache-airflow-providers-celery`` 3.26.0 imports ``retry`` from ``celery.backends.database``; Celery 5.7 removed
that decorator (its database backend now retries through ``result_backend_always_retry``), so with the pinned
pair every CeleryExecutor component (scheduler, ``airflow celery worker``) fails at import. :func:`install` puts
back Celery 5.5's decorator, unchanged in behaviour, only when it is missing; with a provider or Celery release
that no longer needs it, it does nothing. It runs from ``config/airflow_local_settings.py``, which Airflow imports
before any executor module.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_MAX_RETRIES = 3


def database_retry(fun: F) -> F:
    """Celery 5.5's ``celery.backends.database.retry``: retry a result-backend query on transient DB errors.

    Up to ``max_retries`` calls (keyword argument, default 3) on ``DatabaseError``, ``InvalidRequestError`` or
    ``StaleDataError``; the last error is re-raised.
    """
    from sqlalchemy.exc import DatabaseError, InvalidRequestError  # noqa: PLC0415
    from sqlalchemy.orm.exc import StaleDataError  # noqa: PLC0415

    @functools.wraps(fun)
    def _inner(*args: Any, **kwargs: Any) -> Any:
        max_retries = kwargs.pop("max_retries", DEFAULT_MAX_RETRIES)
        for attempt in range(1, max_retries + 1):
            try:
                return fun(*args, **kwargs)
            except (DatabaseError, InvalidRequestError, StaleDataError):
                log.warning("Failed operation %s; %d retries left", fun.__name__, max_retries - attempt, exc_info=True)
                if attempt >= max_retries:
                    raise
        return None

    return _inner  # type: ignore[return-value]


def install() -> bool:
    """Add ``retry`` to ``celery.backends.database`` when it is missing; True when it was added."""
    try:
        from celery.backends import database  # noqa: PLC0415
    except ImportError:
        return False
    if hasattr(database, "retry"):
        return False
    database.retry = database_retry
    return True
