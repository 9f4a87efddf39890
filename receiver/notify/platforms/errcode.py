"""DingTalk's and WeCom's answers: HTTP 200 with `{"errcode": 0}` or an error code."""

from __future__ import annotations

from collections.abc import Mapping

from receiver.notify.platforms import Outcome, wording


def read_errcode(
    platform: str,
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    rate_limited: int,
    rate_limited_retry: float | None,
    default_retry: float,
) -> Outcome:
    """ok only for errcode 0 on a 2xx; the platform's "too fast" code waits
    `rate_limited_retry` (or what a Retry-After header says when that is None)."""
    data = wording.json_object(body)
    if data is None:
        if status == 429:
            return Outcome(
                False, f"{platform} HTTP 429", wording.retry_after(headers, default_retry)
            )
        return Outcome(False, f"{platform} HTTP {status}: {wording.snippet(body)}")
    code = wording.integer(data.get("errcode"))
    if code == 0 and 200 <= status < 300:
        return Outcome(True, f"{platform} ok")
    detail = f"{platform} HTTP {status} errcode {code}: {wording.snippet(data.get('errmsg', ''))}"
    if code == rate_limited and rate_limited_retry is not None:
        return Outcome(False, detail, rate_limited_retry)
    if code == rate_limited or status == 429:
        return Outcome(False, detail, wording.retry_after(headers, default_retry))
    return Outcome(False, detail)
