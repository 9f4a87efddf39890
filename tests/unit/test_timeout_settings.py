"""The timeouts of issue 15 are validated at start like every setting: Go-style durations
within a sane range; zero (to PostgreSQL "wait for ever") is refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from receiver.config import ConfigError, load_settings

TIMEOUTS = ("database_statement_timeout", "database_pool_timeout", "body_read_timeout")


def test_defaults_answer_inside_alertmanagers_ten_seconds() -> None:
    settings = load_settings()
    assert settings.database_statement_timeout + settings.database_pool_timeout < timedelta(
        seconds=10
    )
    assert settings.body_read_timeout == timedelta(seconds=10)


@pytest.mark.parametrize("name", TIMEOUTS)
@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("250ms", timedelta(milliseconds=250)),
        ("1m30s", timedelta(seconds=90)),
        (2, timedelta(seconds=2)),
    ],
)
def test_durations_are_read_like_the_other_settings(
    name: str, given: Any, meant: timedelta
) -> None:
    assert getattr(load_settings(**{name: given}), name) == meant


@pytest.mark.parametrize("name", TIMEOUTS)
@pytest.mark.parametrize("given", [0, "0s", "2h", "-1s", "soon"])
def test_out_of_range_or_unreadable_is_refused_at_start(name: str, given: Any) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(**{name: given})
    assert f"RECEIVER_{name.upper()}" in str(refused.value)
