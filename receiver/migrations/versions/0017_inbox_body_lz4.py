"""inbox: bodies compressed with lz4 on PostgreSQL

PostgreSQL compresses a long text value as it stores it, by default with pglz. A
storm's 32 hundred-alert bodies (80 kB each) took 35-50 ms to insert that way, and
10-17 ms with lz4 for the same size on disk; every webhook that waits for its append
waits for that insert (issue 18). lz4 is there when the server was built with it
(Debian's and the official images are): where it is not, nothing changes. Values stored
before keep their compression until rewritten.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HAS_LZ4 = sa.text(
    "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"
)


def _set_compression(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or bind.execute(_HAS_LZ4).first() is None:
        return
    op.execute(f"ALTER TABLE inbox ALTER COLUMN body SET COMPRESSION {method}")


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("default")
