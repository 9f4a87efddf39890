"""Slowing down guessing: failed logins count per client address and per login name,
wrong API credentials per address; the counts live in the database, so every replica
holds the same blocks (the policy is receiver.throttle's).

A burst of guesses sent at once must not get more checks than guesses sent one by one:
a login is counted as a failure in the same transaction that found it not blocked (and
forgiven if it succeeds), and on the API a right credential from an address whose wrong
ones are still being counted waits for them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import structlog
from aiohttp import web

from receiver.store import Database, Repository, StoreUnavailable, WriteConflict
from receiver.throttle import Failures, after_failure, live, login_wait, throttle_key, wait

log = structlog.get_logger(__name__)

# The API's check runs on every request with credentials, webhooks included: it reads a
# copy of the blocked addresses, fetched again at most this often, instead of a query
# per request. A block another replica set is seen here within this time, or at once
# when this replica meets a wrong credential from that address itself.
API_BLOCKS_REFRESH_SECONDS = 1.0
# two replicas inserting the first failure of one key at once: the loser retries
_CONFLICT_RETRIES = 3

Decide = Callable[[dict[str, Failures], datetime], timedelta]


def client_address(request: web.Request) -> str:
    return request.remote or "unknown"


class AuthFailures:
    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self.database = database
        self.clock = clock
        # address key → blocked until; only ever grows until each block expires
        self._api_blocks: dict[str, datetime] = {}
        self._api_blocks_read_at = float("-inf")  # time.monotonic() of the last fetch
        self._api_blocks_reading = False
        # address key → the lock its wrong credentials are counted under, while any are
        self._counting: dict[str, asyncio.Lock] = {}
        self._queued: dict[str, int] = {}

    # -- the login form ---------------------------------------------------------------

    async def login_attempt(self, address: str, name: str) -> timedelta:
        """Zero when this login may be checked, and then it already counts as a failure
        (login_succeeded forgives it); else how long until one may be."""
        by_address, by_name = throttle_key("address", address), throttle_key("name", name)

        def decide(known: dict[str, Failures], now: datetime) -> timedelta:
            return login_wait(known.get(by_address), known.get(by_name), now)

        return await self._count_unless_blocked(address, [by_address, by_name], decide)

    async def login_succeeded(self, address: str, name: str) -> None:
        keys = [throttle_key("address", address), throttle_key("name", name)]

        async def job(repo: Repository) -> None:
            await repo.throttle.forget(keys)

        await self.database.run_write(job)

    # -- the API ----------------------------------------------------------------------

    async def api_wait(self, address: str) -> timedelta:
        """For a right credential: zero, unless its address is blocked."""
        await self._refresh_api_blocks()
        if not self._api_blocks and not self._counting:
            return timedelta(0)  # nearly always: no address to look for, so no key to hash
        key = throttle_key("address", address)
        counting = self._counting.get(key)
        if counting is not None:  # wrong credentials sent before this one count first
            async with counting:
                pass
        return self._api_block(key)

    async def api_failed(self, address: str) -> timedelta:
        """For a wrong credential: counted, and zero; or, when its address is blocked
        already, not counted and how long the block lasts."""
        key = throttle_key("address", address)
        counting = self._counting.setdefault(key, asyncio.Lock())
        self._queued[key] = self._queued.get(key, 0) + 1
        try:
            async with counting:  # one at a time per address: each sees the last's block
                blocked = self._api_block(key)
                if blocked:
                    return blocked

                def decide(known: dict[str, Failures], now: datetime) -> timedelta:
                    return wait(live(known.get(key), now), now)

                return await self._count_unless_blocked(address, [key], decide)
        finally:
            self._queued[key] -= 1
            if not self._queued[key]:
                del self._queued[key], self._counting[key]

    def _api_block(self, key: str) -> timedelta:
        until = self._api_blocks.get(key)
        now = self.clock()
        return until - now if until is not None and until > now else timedelta(0)

    async def _refresh_api_blocks(self) -> None:
        started = time.monotonic()
        if self._api_blocks_reading or started - self._api_blocks_read_at < (
            API_BLOCKS_REFRESH_SECONDS
        ):
            return
        self._api_blocks_reading = True
        try:
            async with self.database.read() as repo:
                fresh = await repo.throttle.blocked(self.clock())
        except StoreUnavailable:
            return  # keep the copy; the request meets the outage in its own handler
        finally:
            self._api_blocks_read_at = started
            self._api_blocks_reading = False
        # blocks end only by expiring: one this replica set while the query ran stays
        now = self.clock()
        kept = {key: until for key, until in self._api_blocks.items() if until > now}
        self._api_blocks = {**kept, **fresh}

    # -- counting ---------------------------------------------------------------------

    async def _count_unless_blocked(
        self, address: str, keys: Sequence[str], decide: Decide
    ) -> timedelta:
        """In one transaction, under the rows' locks: the wait `decide` finds, or else
        one more failure for each key."""
        now = self.clock()

        async def job(repo: Repository) -> tuple[timedelta, dict[str, Failures]]:
            await repo.throttle.forget_quiet(now)
            known = await repo.throttle.of(keys, lock=True)
            blocked = decide(known, now)
            if blocked:
                return blocked, known
            counted = {key: after_failure(known.get(key), now) for key in keys}
            for key, failures in counted.items():
                await repo.throttle.save(key, failures, new=key not in known)
            return timedelta(0), counted

        for attempt in range(1, _CONFLICT_RETRIES + 1):
            try:
                blocked, failures_by_key = await self.database.run_write(job)
                break
            except WriteConflict as exc:
                if attempt == _CONFLICT_RETRIES:
                    raise StoreUnavailable("concurrent writers kept conflicting") from exc
        for key, failures in failures_by_key.items():
            if failures.blocked_until is not None and failures.blocked_until > now:
                self._api_blocks[key] = max(failures.blocked_until, self._api_blocks.get(key, now))
                if not blocked:  # this failure set the block
                    log.warning(
                        "auth.blocked",
                        remote=address,
                        by="address" if key == keys[0] else "name",
                        failures=failures.count,
                        seconds=round((failures.blocked_until - now).total_seconds()),
                    )
        return blocked
