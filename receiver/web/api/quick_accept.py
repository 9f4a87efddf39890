"""The webhook's quick check: a body that is plainly a valid Alertmanager webhook within
every limit is known to be one after a single pass over its bytes. Anything else (a
Grafana body, a body with something wrong to explain, one long enough to hold too many
alerts) takes the full parse in receiver.web.api.alerts, whose 4xx answers stay the only
ones: this check only ever says yes sooner."""

from __future__ import annotations

from receiver.alertmanager.quick_validation import plainly_valid_webhook
from receiver.limits import Limits
from receiver.web.bounded_json import could_exceed


def plainly_acceptable(raw: bytes, text: str, limits: Limits) -> bool:
    """True only when the full parse of this body (`text` is `raw` decoded) would accept
    it as an Alertmanager webhook within `limits`."""
    # the full parse walks a body that could hold too many alerts piece by piece, so
    # that it stops early and lets the loop serve others: such a body is not checked here.
    # Every alert is an object, which starts with a "{" no escape can hide: a body with
    # no more of them than the limit cannot hold too many (a storm's hundred-alert
    # bodies are long enough to hold ten thousand one-character elements, not objects)
    if _could_exceed(raw, text, limits.max_alerts):
        return False
    return plainly_valid_webhook(raw, limits)


def _could_exceed(raw: bytes, text: str, max_alerts: int) -> bool:
    return could_exceed(text, max_alerts) and raw.count(b"{") > max_alerts
