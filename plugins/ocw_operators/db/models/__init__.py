"""Every archive-state model, imported here so Alembic and ``Base.metadata`` see them all."""

from ocw_operators.db.base import Base
from ocw_operators.db.models.external_resources import (
    ExternalResource,
    ExternalResourceReference,
    LinkCheckRun,
    ReferenceSourceKind,
    ResourceStatus,
    WaybackStatus,
)
from ocw_operators.db.models.oai import (
    HarvestMode,
    HarvestRunStatus,
    OaiHarvestedItem,
    OaiHarvestRun,
    OaiHarvestState,
)
from ocw_operators.db.models.ratelimit import RateLimitBucket
from ocw_operators.db.models.retirement import CourseRetirement, DSpaceFlag, RetirementState
from ocw_operators.db.models.tivoli import (
    TivoliFileLog,
    TivoliHeldVolume,
    TivoliLease,
    TivoliLoadBatch,
    TivoliRetrieval,
    TivoliVolumeStatus,
)

__all__ = [
    "Base",
    "CourseRetirement",
    "DSpaceFlag",
    "ExternalResource",
    "ExternalResourceReference",
    "HarvestMode",
    "HarvestRunStatus",
    "LinkCheckRun",
    "OaiHarvestRun",
    "OaiHarvestState",
    "OaiHarvestedItem",
    "RateLimitBucket",
    "ReferenceSourceKind",
    "ResourceStatus",
    "RetirementState",
    "TivoliFileLog",
    "TivoliHeldVolume",
    "TivoliLease",
    "TivoliLoadBatch",
    "TivoliRetrieval",
    "TivoliVolumeStatus",
    "WaybackStatus",
]
