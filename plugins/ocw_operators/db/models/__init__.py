"""Every archive-state model, imported here so Alembic and ``Base.metadata`` see them all."""

from ocw_operators.db.base import Base
from ocw_operators.db.models.ratelimit import RateLimitBucket
from ocw_operators.db.models.resources import ExternalResource, ResourceStatus, WaybackStatus
from ocw_operators.db.models.tivoli import (
    TivoliFileLog,
    TivoliLease,
    TivoliLoadBatch,
    TivoliVolumeStatus,
)

__all__ = [
    "Base",
    "ExternalResource",
    "RateLimitBucket",
    "ResourceStatus",
    "TivoliFileLog",
    "TivoliLease",
    "TivoliLoadBatch",
    "TivoliVolumeStatus",
    "WaybackStatus",
]
