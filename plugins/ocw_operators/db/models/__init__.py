"""Every archive-state model, imported here so Alembic and ``Base.metadata`` see them all."""

from ocw_operators.db.base import Base
from ocw_operators.db.models.ratelimit import RateLimitBucket
from ocw_operators.db.models.resources import ExternalResource, ResourceStatus, WaybackStatus

__all__ = ["Base", "ExternalResource", "RateLimitBucket", "ResourceStatus", "WaybackStatus"]

# Markdown import of external resources (migration branch ``resource_import``).
from ocw_operators.db.models.resource_import import ExternalResourceReference, ReferenceSourceKind

__all__ += ["ExternalResourceReference", "ReferenceSourceKind"]
