"""Shared rate-limit state: one row per limited API, shared by every run, worker and process."""

from __future__ import annotations

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from ocw_operators.db.base import Base


class RateLimitBucket(Base):
    """The earliest moment (epoch seconds) the next request to ``name`` may be sent."""

    __tablename__ = "rate_limit_bucket"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_slot_at: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
