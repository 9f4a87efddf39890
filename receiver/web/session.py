"""Page sessions: a signed HttpOnly cookie that carries only a random id, and the session's
row in the database, so that logout, idle expiry and a changed credential take effect on
every replica at once; and the CSRF token that goes with a session."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from aiohttp import web
from itsdangerous import BadSignature, URLSafeTimedSerializer

from receiver.config import SESSION_MAX_AGE, Settings
from receiver.store import Database, Repository
from receiver.store.sessions import StoredSession

COOKIE = "pmr_session"
LOGIN_CSRF_COOKIE = "pmr_login_csrf"
# how stale a session's last-seen time may get before a request writes it again: a page
# view is not a write, and idle expiry is that much less exact
TOUCH_AFTER = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Session:
    id: str  # the row's key: a hash of the cookie's id
    user: str
    csrf: str


@dataclass(frozen=True, slots=True)
class Proof:
    """What a login proved: a configured credential. The session lasts only as long as
    that credential stays configured (a rotated token, a changed user or password, a
    removed proxy header, credentials set where there were none)."""

    kind: Literal["basic", "token", "proxy", "open"]
    material: str = ""


def session_secret(settings: Settings) -> bytes:
    """The signing key: RECEIVER_SESSION_SECRET, else derived from the configured
    credentials (so replicas sharing them share sessions), else random per process."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value().encode()
    material = "\x00".join(
        value.get_secret_value()
        for value in (settings.auth_token, settings.basic_auth_password)
        if value is not None
    )
    if material:
        return hashlib.sha256(b"postmortem-receiver session\x00" + material.encode()).digest()
    return secrets.token_bytes(32)


def accepted_proofs(settings: Settings) -> list[Proof]:
    """Every credential a session may rest on under these settings."""
    proofs = []
    if settings.basic_auth_password is not None:
        password = settings.basic_auth_password.get_secret_value()
        proofs.append(Proof("basic", f"{settings.basic_auth_user}\x00{password}"))
    proofs.extend(Proof("token", token.decode()) for token in settings.api_tokens())
    if settings.trusted_proxy_header is not None:
        proofs.append(proxy_proof(settings.trusted_proxy_header))
    if not credentials_configured(settings):
        proofs.append(Proof("open"))
    return proofs


def proxy_proof(header: str) -> Proof:
    return Proof("proxy", header.lower())


class Sessions:
    def __init__(
        self, settings: Settings, database: Database, clock: Callable[[], datetime]
    ) -> None:
        self.key = session_secret(settings)
        self.serializer = URLSafeTimedSerializer(self.key, salt="session")
        self.secure = bool(settings.public_url and settings.public_url.startswith("https://"))
        self.database = database
        self.clock = clock
        self.idle = settings.session_idle_timeout
        self.touch_after = min(TOUCH_AFTER, self.idle / 4)
        self.accepted = frozenset(self.fingerprint(p) for p in accepted_proofs(settings))

    def fingerprint(self, proof: Proof) -> str:
        """The proof as stored: keyed, so the table reveals no token or password."""
        message = f"{proof.kind}\x00{proof.material}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    async def start(
        self,
        response: web.StreamResponse,
        user: str,
        proof: Proof,
        *,
        replacing: Session | None = None,
    ) -> Session:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        stored = StoredSession(
            id=_row_id(token),
            user=user,
            csrf=secrets.token_urlsafe(24),
            credential=self.fingerprint(proof),
            created_at=now,
            last_seen_at=now,
        )

        async def job(repo: Repository) -> None:
            if replacing is not None:
                await repo.sessions.remove(replacing.id)
            # every login sweeps the sessions that are over, so the table stays small
            await repo.sessions.remove_expired(now - self.idle, now - SESSION_MAX_AGE)
            await repo.sessions.add(stored)

        await self.database.run_write(job)
        response.set_cookie(
            COOKIE,
            self.serializer.dumps(token),
            max_age=int(SESSION_MAX_AGE.total_seconds()),
            httponly=True,
            samesite="Lax",
            secure=self.secure,
            path="/",
        )
        return Session(stored.id, user, stored.csrf)

    async def read(self, request: web.Request) -> Session | None:
        """The request's session, if its row exists, is neither idle nor too old, and its
        credential is still configured."""
        row_id = self._row_id_of(request)
        if row_id is None:
            return None
        async with self.database.read() as repo:
            stored = await repo.sessions.get(row_id)
        now = self.clock()
        if stored is None or not self._valid(stored, now):
            return None
        if now - stored.last_seen_at >= self.touch_after:

            async def touch(repo: Repository) -> None:
                await repo.sessions.touch(row_id, now)

            await self.database.run_write(touch)
        return Session(stored.id, stored.user, stored.csrf)

    async def end(self, request: web.Request, response: web.StreamResponse) -> None:
        """Logout: the row goes, so the cookie opens nothing anywhere, even if kept."""
        row_id = self._row_id_of(request)
        if row_id is not None:

            async def job(repo: Repository) -> None:
                await repo.sessions.remove(row_id)

            await self.database.run_write(job)
        response.del_cookie(COOKIE, path="/")

    def _valid(self, stored: StoredSession, now: datetime) -> bool:
        return (
            stored.credential in self.accepted
            and now - stored.last_seen_at < self.idle
            and now - stored.created_at < SESSION_MAX_AGE
        )

    def _row_id_of(self, request: web.Request) -> str | None:
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            return None
        try:
            token = self.serializer.loads(cookie, max_age=int(SESSION_MAX_AGE.total_seconds()))
        except BadSignature:  # a forged cookie, or one signed with a rotated secret
            return None
        return _row_id(token) if isinstance(token, str) and token else None


def _row_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def credentials_configured(settings: Settings) -> bool:
    return settings.auth_token is not None or settings.basic_auth_password is not None
