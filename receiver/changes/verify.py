"""Each change feed's documented proof that a request is its own, checked in constant time.

- Flux `generic-hmac` Provider: `X-Signature: <hash>=<hex HMAC of the body>`, keyed with the
  Provider secret's `token`; the hash is sha224, sha256 (the default), sha384 or sha512.
- GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`, keyed with the
  webhook's secret.
- GitLab: `X-Gitlab-Token: <the webhook's secret token>`, as configured, verbatim.
- Argo CD's webhook service and kubernetes-event-exporter's webhook sink: a bearer token in
  `Authorization`, set in their configuration (deploy/changes/).
"""

from __future__ import annotations

import hmac

_HASHES = frozenset({"sha224", "sha256", "sha384", "sha512"})


def hmac_header_ok(header: str, body: bytes, secret: str, *, algorithms: frozenset[str]) -> bool:
    """`<hash>=<hex>` in the header is the HMAC of the body with the secret."""
    name, sep, given = header.strip().partition("=")
    name = name.strip().lower()
    if not sep or name not in algorithms or name not in _HASHES:
        return False
    expected = hmac.new(secret.encode(), body, name).hexdigest()
    given = given.strip().lower()
    # compare_digest takes ASCII text only; any other signature is wrong anyway
    return given.isascii() and hmac.compare_digest(expected, given)


def flux_signature_ok(header: str, body: bytes, secret: str) -> bool:
    return hmac_header_ok(header, body, secret, algorithms=_HASHES)


def github_signature_ok(header: str, body: bytes, secret: str) -> bool:
    return hmac_header_ok(header, body, secret, algorithms=frozenset({"sha256"}))


def token_ok(given: str, secret: str) -> bool:
    """A shared token, as GitLab's X-Gitlab-Token carries it."""
    return given.isascii() and hmac.compare_digest(given.encode(), secret.encode())


def bearer_ok(authorization: str, secret: str) -> bool:
    scheme, _, value = authorization.strip().partition(" ")
    return scheme.lower() == "bearer" and token_ok(value.strip(), secret)
