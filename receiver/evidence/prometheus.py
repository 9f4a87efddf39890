"""Range queries to Prometheus, where every failure is one EvidenceUnavailable with a reason.

A draft is written whether or not Prometheus answers: slow, down, refusing or answering
nonsense, it costs at most `timeout` seconds and `max_bytes` of memory, and the draft
says why the evidence is missing.

Values Prometheus reports as NaN or ±Inf are dropped: they can be neither drawn nor
summed. The chart breaks its line where samples are missing, so a dropped value shows as
a gap, as an absent series does.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from receiver.evidence.series import Series
from receiver.evidence.summary import top_by_peak

__all__ = [
    "DEFAULT_MAX_BYTES",
    "EvidenceUnavailable",
    "QueryResult",
    "query_range",
    "step_for",
]

# 200 series of 1000 points are about 5 MB of JSON; four times that is plenty
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
# steps a person reads at a glance; the chosen one is the smallest that fits max_points
_NICE_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)
_DAY = 86400
_SNIPPET_CHARS = 200
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class QueryResult:
    """The series (highest peak first), the step used, and how many series were cut."""

    series: list[Series]
    step: timedelta
    truncated_series: int = 0
    warnings: tuple[str, ...] = field(default=())


class EvidenceUnavailable(Exception):
    """Prometheus gave no usable answer; `reason` says why, for the draft to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def step_for(start: datetime, end: datetime, max_points: int) -> timedelta:
    """The smallest round step, at least 1s, that keeps the range within max_points."""
    if max_points < 2:
        raise ValueError("max_points must be at least 2")
    span = (end - start).total_seconds()
    needed = span / (max_points - 1)  # points = span // step + 1
    for seconds in _NICE_STEPS:
        if seconds >= needed:
            return timedelta(seconds=seconds)
    return timedelta(seconds=math.ceil(needed / _DAY) * _DAY)


async def query_range(
    session: aiohttp.ClientSession,
    base_url: str,
    expr: str,
    start: datetime,
    end: datetime,
    *,
    timeout: float,  # noqa: ASYNC109 - the whole exchange's budget, kept with asyncio.timeout
    max_points: int = 1000,
    max_series: int = 200,
    bearer_token: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> QueryResult:
    """POST /api/v1/query_range for expr between start and end.

    Every way Prometheus can fail raises EvidenceUnavailable. ValueError is raised only
    for arguments no caller should pass (naive datetimes, end not after start, caps
    below 1): a bug, not an outage.
    """
    _check_arguments(start, end, timeout=timeout, max_series=max_series, max_bytes=max_bytes)
    step = step_for(start, end, max_points)
    form = {
        "query": expr,
        "start": f"{start.timestamp():.3f}",
        "end": f"{end.timestamp():.3f}",
        "step": str(int(step.total_seconds())),
        # Prometheus gives up on the query too, instead of computing it for nobody
        "timeout": f"{timeout:g}",
    }
    headers = {"Accept": "application/json"}
    if bearer_token:
        headers["Authorization"] = f"Bearer {bearer_token}"
    status, content_type, body = await _post(
        session, base_url.rstrip("/") + "/api/v1/query_range", form, headers, timeout, max_bytes
    )
    data, warnings = _unwrap(status, content_type, body)
    series, skipped = _matrix(data)
    if skipped:
        warnings += (f"skipped {skipped} native histogram series",)
    kept = top_by_peak(series, max_series)
    return QueryResult(kept, step, len(series) - len(kept), warnings)


def _check_arguments(
    start: datetime, end: datetime, *, timeout: float, max_series: int, max_bytes: int
) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    if end <= start:
        raise ValueError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
    if not timeout > 0:
        raise ValueError("timeout must be positive")
    if max_series < 1 or max_bytes < 1:
        raise ValueError("max_series and max_bytes must be at least 1")


async def _post(
    session: aiohttp.ClientSession,
    url: str,
    form: Mapping[str, str],
    headers: Mapping[str, str],
    seconds: float,
    max_bytes: int,
) -> tuple[int, str, bytes]:
    """The answer's status, content type and body, read within `seconds` and max_bytes."""
    try:
        async with (
            asyncio.timeout(seconds),
            session.post(url, data=dict(form), headers=dict(headers)) as response,
        ):
            body = await _read_capped(response, max_bytes)
            return response.status, response.content_type, body
    except TimeoutError:  # also aiohttp's own timeouts, which subclass it
        raise EvidenceUnavailable(f"timed out after {seconds:g}s") from None
    except (aiohttp.InvalidURL, ValueError) as exc:  # ValueError: yarl's, for a bad URL
        raise EvidenceUnavailable(
            f"bad Prometheus URL {redacted(url)!r} ({type(exc).__name__})"
        ) from None
    except aiohttp.ClientConnectorError as exc:
        raise EvidenceUnavailable(f"cannot connect to {redacted(url)}: {_why(exc)}") from None
    except aiohttp.ClientError as exc:
        detail = str(exc).replace(url, redacted(url))  # some name the URL, password and all
        raise EvidenceUnavailable(
            f"request to {redacted(url)} failed: {type(exc).__name__}: {detail}"
        ) from None


async def _read_capped(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    too_large = EvidenceUnavailable(f"answer larger than {max_bytes} bytes")
    if response.content_length is not None and response.content_length > max_bytes:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _unwrap(status: int, content_type: str, body: bytes) -> tuple[Any, tuple[str, ...]]:
    """`data` and `warnings` of Prometheus' JSON envelope, or why there are none."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        if status != 200:
            raise EvidenceUnavailable(f"HTTP {status}: {_snippet(body)}") from None
        raise EvidenceUnavailable(
            f"not a Prometheus API answer ({content_type or 'no content type'}): {_snippet(body)}"
        ) from None
    if not isinstance(payload, dict):
        raise EvidenceUnavailable(f"HTTP {status}: not a Prometheus API answer: {_snippet(body)}")
    if payload.get("status") == "error":
        error_type = payload.get("errorType", "unknown")
        raise EvidenceUnavailable(f"query error: {error_type}: {payload.get('error', '')}")
    if status != 200 or payload.get("status") != "success":
        raise EvidenceUnavailable(f"HTTP {status}: {_snippet(body)}")
    warnings = payload.get("warnings") or []
    if not isinstance(warnings, list):
        warnings = [warnings]
    return payload.get("data"), tuple(str(warning) for warning in warnings)


def _matrix(data: Any) -> tuple[list[Series], int]:
    """The series of a matrix result and how many native histogram series were skipped."""
    if not isinstance(data, dict) or data.get("resultType") != "matrix":
        kind = data.get("resultType") if isinstance(data, dict) else type(data).__name__
        raise EvidenceUnavailable(f"expected a matrix result, got {kind!r}")
    result = data.get("result")
    if not isinstance(result, list):
        raise EvidenceUnavailable("malformed answer: result is not a list")
    series: list[Series] = []
    skipped = 0
    for item in result:
        if isinstance(item, dict) and "values" not in item and "histograms" in item:
            skipped += 1
            continue
        parsed = _series(item)
        if parsed.points:  # nothing finite to draw or measure
            series.append(parsed)
    return series, skipped


def _series(item: Any) -> Series:
    if not isinstance(item, dict):
        raise EvidenceUnavailable("malformed answer: a series is not an object")
    metric = item.get("metric", {})
    values = item.get("values", [])
    if not isinstance(metric, dict) or not isinstance(values, list):
        raise EvidenceUnavailable("malformed answer: a series lacks metric or values")
    labels = {str(key): str(value) for key, value in metric.items()}
    points: list[tuple[datetime, float]] = []
    for sample in values:
        try:
            timestamp, text = sample
            moment = datetime.fromtimestamp(float(timestamp), UTC)
            value = float(text)
        except (TypeError, ValueError, OverflowError, OSError):
            raise EvidenceUnavailable(f"malformed answer: sample {sample!r:.80}") from None
        if math.isfinite(value):
            points.append((moment, value))
    return Series(labels, points)


def _why(exc: aiohttp.ClientConnectorError) -> str:
    error = exc.os_error
    if not isinstance(error, ssl.SSLError) and error.errno and error.errno > 0:
        # "Connection refused" rather than asyncio's "[Errno 111] Connect call failed (...)"
        return os.strerror(error.errno)
    return str(exc)  # DNS (negative errno) and TLS failures: aiohttp's text says which


def redacted(url: str) -> str:
    """The URL without user:password@: reasons end up in drafts that many people read."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    authority, slash, path = rest.partition("/")
    return f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"


def _snippet(body: bytes) -> str:
    text = " ".join(body.decode("utf-8", errors="replace").split())
    if not text:
        return "(empty body)"
    return text if len(text) <= _SNIPPET_CHARS else text[:_SNIPPET_CHARS] + "…"
