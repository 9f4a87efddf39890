"""Storage: one SQLAlchemy Core schema and repository for SQLite and PostgreSQL."""

from receiver.store.engine import Database, StoreUnavailable, open_database
from receiver.store.repository import History, IncidentRow, Repository, StoredDraft

__all__ = [
    "Database",
    "History",
    "IncidentRow",
    "Repository",
    "StoreUnavailable",
    "StoredDraft",
    "open_database",
]
