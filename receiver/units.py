"""Parsing of the human units settings accept: Go-style durations and byte sizes."""

from __future__ import annotations

import re
from datetime import timedelta

# Alertmanager/Prometheus durations: units may repeat in descending order ("1h30m").
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_DURATION_UNITS = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 7 * 86400.0,
    "y": 365 * 86400.0,
}
_SIZE = re.compile(r"(\d+)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?", re.IGNORECASE)
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kb": 1000,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1000**3,
    "gib": 1024**3,
}


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """Seconds as a number, or a Go-style string such as ``30m`` or ``1h30m``."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return timedelta(seconds=value)
    text = value.strip()
    try:
        return parse_duration(float(text))
    except ValueError:
        pass
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"{value!r} is not a duration; use seconds or e.g. 30s, 30m, 4h, 1h30m")
    return timedelta(seconds=total)


def parse_size(value: str | int) -> int:
    """Bytes as a number, or with a unit such as ``8MiB`` or ``512k``."""
    if isinstance(value, int):
        if value <= 0:
            raise ValueError("a size must be positive")
        return value
    match = _SIZE.fullmatch(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a size; use bytes or e.g. 512KiB, 8MiB")
    size = int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "").lower()]
    if size <= 0:
        raise ValueError("a size must be positive")
    return size
