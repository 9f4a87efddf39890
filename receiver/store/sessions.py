"""The sessions table's statements: a row per logged-in browser, found by its id's hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from receiver.store.connection import Connection
from receiver.store.schema import sessions


@dataclass(frozen=True, slots=True)
class StoredSession:
    id: str  # the hash of the cookie's id
    user: str
    csrf: str
    credential: str
    created_at: datetime
    last_seen_at: datetime


class SessionStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def add(self, session: StoredSession) -> None:
        await self.conn.execute(
            sessions.insert().values(
                id=session.id,
                user_name=session.user,
                csrf=session.csrf,
                credential=session.credential,
                created_at=session.created_at,
                last_seen_at=session.last_seen_at,
            )
        )

    async def get(self, session_id: str) -> StoredSession | None:
        query = sa.select(sessions).where(sessions.c.id == session_id)
        row = (await self.conn.execute(query)).first()
        if row is None:
            return None
        return StoredSession(
            row.id, row.user_name, row.csrf, row.credential, row.created_at, row.last_seen_at
        )

    async def touch(self, session_id: str, now: datetime) -> None:
        await self.conn.execute(
            sessions.update().where(sessions.c.id == session_id).values(last_seen_at=now)
        )

    async def remove(self, session_id: str) -> None:
        await self.conn.execute(sessions.delete().where(sessions.c.id == session_id))

    async def remove_expired(self, idle_since: datetime, created_before: datetime) -> int:
        result = await self.conn.execute(
            sessions.delete().where(
                sa.or_(sessions.c.last_seen_at < idle_since, sessions.c.created_at < created_before)
            )
        )
        return int(result.rowcount or 0)
