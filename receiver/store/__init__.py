"""Storage: one SQLAlchemy Core schema and repository for SQLite and PostgreSQL."""

from receiver.store.engine import (
    Database,
    SchemaError,
    StoreUnavailable,
    WriteConflict,
    open_configured_database,
    open_database,
)
from receiver.store.repository import (
    AuditRecord,
    History,
    InboxRecord,
    Repository,
    StoredDraft,
)

__all__ = [
    "AuditRecord",
    "Database",
    "History",
    "InboxRecord",
    "Repository",
    "SchemaError",
    "StoreUnavailable",
    "StoredDraft",
    "WriteConflict",
    "open_configured_database",
    "open_database",
]
