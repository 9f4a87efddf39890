"""The `[[slos.<service>]]` tables and `[postmortem_policy]`: a service's SLOs as Sloth and
OpenSLO users write them, and when an incident requires a postmortem.

An SLO's events are counters, queried as they are (no `rate`, no `sum`): the receiver
reads their growth per series, counter resets included, and adds the series up. An
error-ratio SLO (e.g. Sloth's `slo:sli_error:ratio_rate5m` recording rule) has no counts:
its budget burned is an estimate that assumes even traffic, and the draft says so.

The queries' PromQL is checked where PromQL is known (receiver.evidence.slo_check): at
start, and by `check-config` against Prometheus itself.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from receiver.domain.slo import Triggers
from receiver.units import parse_duration

_Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]
_Query = Annotated[str, Field(min_length=1, max_length=4000)]
Trigger = Literal["budget", "impact", "detect", "priority"]
Priority = Literal["P0", "P1", "P2", "P3"]
TRIGGERS: tuple[Trigger, ...] = ("budget", "impact", "detect", "priority")
SEVERE: tuple[Priority, ...] = ("P0", "P1")


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class SloSettings(_Strict):
    """One SLO: `good`/`bad` and `total` event counters, or an `error_ratio` query."""

    name: _Name
    objective: float = Field(gt=0, lt=100)  # percent of good events, e.g. 99.9
    window: timedelta = timedelta(days=30)
    kind: Literal["availability", "latency"] = "availability"
    # a latency SLI counts requests faster than this as good (its `good` is the bucket)
    latency_threshold: timedelta | None = None
    good: _Query | None = None
    bad: _Query | None = None
    total: _Query | None = None
    error_ratio: _Query | None = None
    # how many users were affected: a gauge, its highest value during the impact
    users: _Query | None = None
    description: Annotated[str, Field(max_length=500)] = ""

    @field_validator("window", "latency_threshold", mode="before")
    @classmethod
    def _parse_duration(cls, value: Any) -> Any:
        return None if value is None else parse_duration(value)

    @field_validator("window")
    @classmethod
    def _check_window(cls, value: timedelta) -> timedelta:
        if not timedelta(hours=1) <= value <= timedelta(days=400):
            raise ValueError("an SLO window is from 1h to 400d, e.g. 30d or 28d")
        return value

    @model_validator(mode="after")
    def _check_shape(self) -> SloSettings:
        counted = self.good is not None or self.bad is not None or self.total is not None
        if self.error_ratio is not None and counted:
            raise ValueError("set error_ratio, or good (or bad) with total, not both")
        one_counter = (self.good is None) != (self.bad is None)
        if self.error_ratio is None and (self.total is None or not one_counter):
            raise ValueError("set total with one of good or bad, or set error_ratio")
        if self.kind == "latency" and self.latency_threshold is None:
            raise ValueError("a latency SLO needs latency_threshold, e.g. 300ms")
        return self

    def counters(self) -> tuple[str, str] | None:
        """(good or bad, total) of a counted SLO; None for an error-ratio one."""
        counter = self.good if self.good is not None else self.bad
        if counter is None or self.total is None:
            return None
        return counter, self.total

    @property
    def target(self) -> float:
        """The objective as a fraction: 99.9 → 0.999."""
        return self.objective / 100


class PolicySettings(_Strict):
    """When a postmortem is required: any one trigger met at recovery is enough."""

    triggers: list[Trigger] = Field(default_factory=lambda: list(TRIGGERS))
    budget_burned_percent: float = Field(default=5.0, gt=0, le=1000)
    impact_minutes: float = Field(default=30.0, gt=0)
    detect_minutes: float = Field(default=15.0, gt=0)
    priorities: list[Priority] = Field(default_factory=lambda: list(SEVERE))

    def triggers_on(self) -> Triggers:
        """The triggers switched on, for the domain to evaluate."""
        on = set(self.triggers)
        return Triggers(
            budget_burned_percent=self.budget_burned_percent if "budget" in on else None,
            impact_minutes=self.impact_minutes if "impact" in on else None,
            detect_minutes=self.detect_minutes if "detect" in on else None,
            priorities=tuple(self.priorities) if "priority" in on else (),
        )


SloMap = dict[Annotated[str, Field(min_length=1, max_length=200)], list[SloSettings]]


def check_slo_names(slos: SloMap) -> SloMap:
    """A service's SLOs are told apart by name: the draft and the KPI page show them."""
    for service, mine in slos.items():
        names = [slo.name for slo in mine]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"service {service!r} has more than one SLO named {', '.join(twice)}")
    return slos
