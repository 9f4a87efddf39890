"""Counting the calls of a method while it goes on working: what a test of "once per
batch" or "only these" observes."""

from __future__ import annotations

from typing import Any

import pytest


def calls_of(monkeypatch: pytest.MonkeyPatch, owner: type, name: str) -> list[tuple[Any, ...]]:
    """The positional arguments (after self) of every later call of `owner`'s async method
    `name`, which still runs as before."""
    calls: list[tuple[Any, ...]] = []
    method = getattr(owner, name)

    async def recorded(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return await method(self, *args, **kwargs)

    monkeypatch.setattr(owner, name, recorded)
    return calls
