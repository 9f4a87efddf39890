"""Slowing down guessing: failed logins count per client address and per login name,
wrong API credentials per address; the counts live in the database, so every replica
holds the same blocks (the policy is receiver.throttle's)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import structlog
from aiohttp import web

from receiver.store import Database, Repository, StoreUnavailable, WriteConflict
from receiver.throttle import Failures, live, throttle_key, wait

log = structlog.get_logger(__name__)

# The API's check runs on every request with credentials, webhooks included: it reads a
# copy of the blocked addresses, fetched again at most this often, instead of a query
# per request. A block another replica sets is seen here within this time, or at once
# when this replica meets a wrong credential from that address itself.
API_BLOCKS_REFRESH_SECONDS = 1.0
# two replicas inserting the first failure of one key at once: the loser retries
_CONFLICT_RETRIES = 3


def client_address(request: web.Request) -> str:
    return request.remote or "unknown"


class AuthFailures:
    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self.database = database
        self.clock = clock
        self._api_blocks: dict[str, datetime] = {}
        self._api_blocks_read_at = float("-inf")  # time.monotonic() of the last fetch
        self._api_blocks_reading = False

    # -- the login form: read from the database every time (logins are rare) ------------

    async def login_wait(self, address: str, name: str) -> timedelta:
        """How long this address must wait before a login as `name` is even checked."""
        by_address, by_name = throttle_key("address", address), throttle_key("name", name)
        async with self.database.read() as repo:
            known = await repo.throttle.of([by_address, by_name])
        now = self.clock()
        address_failures = live(known.get(by_address), now)
        # A blocked name holds back only addresses that failed too: a guesser spread over
        # many addresses gets one try from each fresh one, while the right password from
        # an address that has not failed still logs in.
        name_wait = wait(live(known.get(by_name), now), now) if address_failures else timedelta(0)
        return max(wait(address_failures, now), name_wait)

    async def login_failed(self, address: str, name: str) -> None:
        await self._count(address, [throttle_key("address", address), throttle_key("name", name)])

    async def login_succeeded(self, address: str, name: str) -> None:
        keys = [throttle_key("address", address), throttle_key("name", name)]

        async def job(repo: Repository) -> None:
            await repo.throttle.forget(keys)

        await self.database.run_write(job)
        self._api_blocks.pop(keys[0], None)

    # -- the API: a copy of the blocks, refreshed about once a second -------------------

    async def api_wait(self, address: str) -> timedelta:
        await self._refresh_api_blocks()
        until = self._api_blocks.get(throttle_key("address", address))
        now = self.clock()
        return until - now if until is not None and until > now else timedelta(0)

    async def api_failed(self, address: str) -> None:
        await self._count(address, [throttle_key("address", address)])

    async def _refresh_api_blocks(self) -> None:
        started = time.monotonic()
        if self._api_blocks_reading or started - self._api_blocks_read_at < (
            API_BLOCKS_REFRESH_SECONDS
        ):
            return
        self._api_blocks_reading = True
        try:
            async with self.database.read() as repo:
                self._api_blocks = await repo.throttle.blocked(self.clock())
        except StoreUnavailable:
            pass  # keep the last copy; the request meets the outage in its own handler
        finally:
            self._api_blocks_read_at = started
            self._api_blocks_reading = False

    # -- counting ---------------------------------------------------------------------

    async def _count(self, address: str, keys: Sequence[str]) -> None:
        now = self.clock()

        async def job(repo: Repository) -> dict[str, Failures]:
            await repo.throttle.forget_quiet(now)
            return await repo.throttle.record_failure(keys, now)

        for attempt in range(1, _CONFLICT_RETRIES + 1):
            try:
                counted = await self.database.run_write(job)
                break
            except WriteConflict as exc:
                if attempt == _CONFLICT_RETRIES:
                    raise StoreUnavailable("concurrent writers kept conflicting") from exc
        for key, failures in counted.items():
            if failures.blocked_until is not None:
                self._api_blocks[key] = failures.blocked_until
                log.warning(
                    "auth.blocked",
                    remote=address,
                    by="address" if key == keys[0] else "name",
                    failures=failures.count,
                    seconds=round((failures.blocked_until - now).total_seconds()),
                )
