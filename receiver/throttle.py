"""How long failed logins and wrong API credentials shut out whoever made them.

Pure: the counts live in the database (receiver/store/throttle.py), so every replica
sees the same ones. A few failures are free; from then on each failure blocks for twice
as long as the one before, up to a cap, and a quiet hour forgets them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

FREE_FAILURES = 5
FIRST_BLOCK = timedelta(seconds=2)
MAX_BLOCK = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=1)

KeyKind = Literal["address", "name"]


@dataclass(frozen=True, slots=True)
class Failures:
    count: int
    last_at: datetime
    blocked_until: datetime | None


def throttle_key(kind: KeyKind, subject: str) -> str:
    """The row's key. Hashed: a name field sometimes holds a mistyped password, and an
    attacker's made-up names have no business in the database as text."""
    return hashlib.sha256(f"{kind}\x00{subject}".encode(errors="replace")).hexdigest()


def block_for(count: int) -> timedelta:
    """The block after the `count`-th failure: none before FREE_FAILURES, then doubling."""
    if count < FREE_FAILURES:
        return timedelta(0)
    doublings = min(count - FREE_FAILURES, 20)  # 2 s · 2^20 is far past the cap already
    block: timedelta = FIRST_BLOCK * (1 << doublings)
    return min(MAX_BLOCK, block)


def live(failures: Failures | None, now: datetime) -> Failures | None:
    """The failures that still count: none once blocks are over and an hour was quiet."""
    if failures is None:
        return None
    blocked = failures.blocked_until is not None and failures.blocked_until > now
    if not blocked and now - failures.last_at >= FORGET_AFTER:
        return None
    return failures


def after_failure(previous: Failures | None, now: datetime) -> Failures:
    counted = live(previous, now)
    count = (counted.count if counted else 0) + 1
    block = block_for(count)
    return Failures(count, now, now + block if block else None)


def wait(failures: Failures | None, now: datetime) -> timedelta:
    """How long until another attempt may be checked; zero when it may be now."""
    if failures is None or failures.blocked_until is None or failures.blocked_until <= now:
        return timedelta(0)
    return failures.blocked_until - now


def login_wait(by_address: Failures | None, by_name: Failures | None, now: datetime) -> timedelta:
    """How long a login from this address as this name must wait. A blocked name holds
    back only addresses that failed too: a guesser spread over many addresses gets one
    try from each fresh one, while the right password from an address that has not
    failed still logs in."""
    address = live(by_address, now)
    name_wait = wait(live(by_name, now), now) if address is not None else timedelta(0)
    return max(wait(address, now), name_wait)
