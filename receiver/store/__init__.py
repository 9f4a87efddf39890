"""Storage: one SQLAlchemy Core schema and repository for SQLite and PostgreSQL."""

from receiver.store.engine import (
    Database,
    SchemaError,
    StoreUnavailable,
    WriteConflict,
    open_configured_database,
    open_database,
)
from receiver.store.inbox import Backlog
from receiver.store.records import AuditRecord, InboxEntry, InboxRecord, StoredDraft
from receiver.store.repository import Repository

__all__ = [
    "AuditRecord",
    "Backlog",
    "Database",
    "InboxEntry",
    "InboxRecord",
    "Repository",
    "SchemaError",
    "StoreUnavailable",
    "StoredDraft",
    "WriteConflict",
    "open_configured_database",
    "open_database",
]
