"""A time series as Prometheus returns it: the value the other evidence modules share."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Series:
    """One time series: its labels (with `__name__` if the query kept it) and samples."""

    labels: dict[str, str]
    points: list[tuple[datetime, float]]

    def label_text(self) -> str:
        """`name{a="1", b="2"}` as PromQL writes it; label values are quoted and escaped."""
        name = self.labels.get("__name__", "")
        pairs = ", ".join(
            f"{key}={json.dumps(value, ensure_ascii=False)}"
            for key, value in sorted(self.labels.items())
            if key != "__name__"
        )
        return f"{name}{{{pairs}}}" if pairs or not name else name
