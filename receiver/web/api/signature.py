"""Grafana's HMAC signature on webhook bodies (the contact point's "HMAC Signature").

Grafana sends the lower-case hex HMAC-SHA256 of the body, keyed with the shared secret,
in `X-Grafana-Alerting-Signature` (the header name is configurable). With a timestamp
header configured it signs `<unix seconds>:<body>` and sends the seconds in that header.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta

from receiver.config import Settings
from receiver.web.body import is_number
from receiver.web.errors import ApiError

# how far a signed timestamp may be from our clock: Grafana signs each attempt anew, so
# only clock skew and the time in flight separate them
TIMESTAMP_TOLERANCE = timedelta(minutes=5)


def check_grafana_signature(
    settings: Settings, headers: Mapping[str, str], body: bytes, now: datetime
) -> None:
    """Nothing when no secret is configured or the signature is right; else a 401."""
    if settings.grafana_signature_secret is None:
        return
    secret = settings.grafana_signature_secret.get_secret_value().encode()
    signed = body
    stamp_header = settings.grafana_timestamp_header
    if stamp_header is not None:
        stamp = headers.get(stamp_header, "").strip()
        if not is_number(stamp) or len(stamp) > 12:
            raise _refused(f"the {stamp_header} header is missing or not Unix seconds")
        if abs(now.timestamp() - int(stamp)) > TIMESTAMP_TOLERANCE.total_seconds():
            raise _refused(f"the signed time ({stamp_header}) is more than 5 minutes from now")
        signed = stamp.encode() + b":" + body
    given = headers.get(settings.grafana_signature_header, "").strip().lower()
    if not given:
        raise _refused(f"the {settings.grafana_signature_header} header is missing")
    expected = hmac.new(secret, signed, hashlib.sha256).hexdigest()
    # compare_digest takes ASCII text only; any other signature is wrong anyway
    if not (given.isascii() and hmac.compare_digest(expected, given)):
        raise _refused(
            f"the {settings.grafana_signature_header} header does not match the body "
            "(RECEIVER_GRAFANA_SIGNATURE_SECRET)"
        )


def _refused(message: str) -> ApiError:
    return ApiError(401, "invalid_signature", message)
