"""Who is asking: a signed session cookie for pages, a trusted proxy header, or API
credentials; and the CSRF token that goes with a session."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from aiohttp import web
from itsdangerous import BadSignature, URLSafeTimedSerializer

from receiver.config import Settings

COOKIE = "pmr_session"
LOGIN_CSRF_COOKIE = "pmr_login_csrf"
SESSION_MAX_AGE = 12 * 3600


@dataclass(frozen=True, slots=True)
class Session:
    user: str
    csrf: str


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


class Sessions:
    def __init__(self, settings: Settings) -> None:
        self.serializer = URLSafeTimedSerializer(session_secret(settings), salt="session")
        self.secure = bool(settings.public_url and settings.public_url.startswith("https://"))

    def start(self, response: web.StreamResponse, user: str) -> Session:
        session = Session(user=user, csrf=secrets.token_urlsafe(24))
        token = self.serializer.dumps({"user": user, "csrf": session.csrf})
        response.set_cookie(
            COOKIE,
            token,
            max_age=SESSION_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=self.secure,
            path="/",
        )
        return session

    def read(self, request: web.Request) -> Session | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        try:
            data = self.serializer.loads(token, max_age=SESSION_MAX_AGE)
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        user, csrf = data.get("user"), data.get("csrf")
        if not isinstance(user, str) or not isinstance(csrf, str):
            return None
        return Session(user=user, csrf=csrf)

    def end(self, response: web.StreamResponse) -> None:
        response.del_cookie(COOKIE, path="/")


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def credentials_configured(settings: Settings) -> bool:
    return settings.auth_token is not None or settings.basic_auth_password is not None
