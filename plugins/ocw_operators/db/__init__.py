"""The archive state database: the pipelines' system of record (never Airflow's metadata DB)."""

from ocw_operators.db.base import Base
from ocw_operators.db.engine import make_engine, session_scope

__all__ = ["Base", "make_engine", "session_scope"]
