"""Input limits beyond the body size, and the per-client rate limit on manual events. Pure
(the rate limiter keeps its buckets in memory: a limit per process is what it promises)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from receiver.alertmanager.webhook import Webhook


@dataclass(frozen=True, slots=True)
class Limits:
    max_alerts: int
    max_labels: int  # labels and, separately, annotations per alert
    max_value: int  # characters in one label or annotation value


@dataclass(frozen=True, slots=True)
class LimitProblem:
    status: int  # 413: too much of it; 422: a part of it is unacceptable
    field: str
    message: str


def webhook_problems(hook: Webhook, limits: Limits) -> list[LimitProblem]:
    if len(hook.alerts) > limits.max_alerts:
        return [
            LimitProblem(
                413,
                "alerts",
                f"{len(hook.alerts)} alerts exceed the limit of "
                f"{limits.max_alerts} (RECEIVER_MAX_ALERTS)",
            )
        ]
    problems = []
    for index, alert in enumerate(hook.alerts):
        for part, values in (("labels", alert.labels), ("annotations", alert.annotations)):
            if len(values) > limits.max_labels:
                problems.append(
                    LimitProblem(
                        422,
                        f"alerts.{index}.{part}",
                        f"{len(values)} {part} exceed the limit of {limits.max_labels} "
                        "(RECEIVER_MAX_LABELS)",
                    )
                )
                continue
            for name, value in values.items():
                if len(value) > limits.max_value or len(name) > limits.max_value:
                    problems.append(
                        LimitProblem(
                            422,
                            f"alerts.{index}.{part}.{name[:100]}",
                            f"longer than {limits.max_value} characters "
                            "(RECEIVER_MAX_VALUE_LENGTH)",
                        )
                    )
        if len(problems) >= 20:
            break
    return problems


class RateLimiter:
    """A token bucket per client: `per_minute` events, refilled continuously."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.clock = clock
        self.buckets: dict[str, tuple[float, float]] = {}  # client → (tokens, last refill)

    def take(self, client: str) -> float:
        """0 when the event may pass; else the seconds until it may."""
        now = self.clock()
        tokens, last = self.buckets.get(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self.buckets[client] = (tokens - 1, now)
            self._forget_idle(now)
            return 0.0
        self.buckets[client] = (tokens, now)
        return (1 - tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        # a full bucket is the default: drop it so the table cannot grow without bound
        if len(self.buckets) > 10_000:
            full = self.capacity / self.rate
            self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < full}
