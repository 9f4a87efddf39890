#!/usr/bin/env python3
"""How long /healthz takes while several webhooks over RECEIVER_MAX_ALERTS arrive at once.

    python scripts/healthz_under_big_bodies.py [--bodies 4] [--rounds 5]

Starts `postmortem-receiver serve` as a real process on a loopback port with a throwaway
SQLite file, then, each round, posts BODIES webhooks at once, each just under
RECEIVER_MAX_BODY (8 MiB) and holding more alerts than RECEIVER_MAX_ALERTS (real
capture alerts), while asking /healthz every 10 ms. Prints, per round, the answers the
big bodies got and the median and slowest /healthz; the issue asks for under 100 ms.
Bounded: a fixed number of rounds, each request with a 30 s timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
CAPTURE = ROOT / "tests" / "fixtures" / "firing_group_3.json"
MAX_BODY = 8 * 1024 * 1024
PROBE_EVERY_S = 0.01


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def storm_body() -> bytes:
    """Real alerts, as many as fit under RECEIVER_MAX_BODY (far more than 10,000)."""
    body = json.loads(CAPTURE.read_text(encoding="utf-8"))
    template = body["alerts"][0]
    size = len(json.dumps({**template, "fingerprint": "0" * 16})) + 2
    count = (MAX_BODY - 4096) // size
    body["alerts"] = [{**template, "fingerprint": f"{i:016x}"} for i in range(count)]
    return json.dumps(body).encode()


async def wait_ready(http: aiohttp.ClientSession, base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            async with http.get(f"{base}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("the receiver did not start within 30 s")


async def one_round(http: aiohttp.ClientSession, base: str, body: bytes, bodies: int) -> None:
    latencies: list[float] = []
    done = asyncio.Event()

    async def probe() -> None:
        while not done.is_set():
            started = time.perf_counter()
            async with http.get(f"{base}/healthz") as response:
                await response.read()
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(PROBE_EVERY_S)

    async def post() -> int:
        async with http.post(
            f"{base}/api/v1/alerts", data=body, headers={"Content-Type": "application/json"}
        ) as response:
            await response.read()
            return response.status

    prober = asyncio.create_task(probe())
    started = time.perf_counter()
    statuses = await asyncio.gather(*(post() for _ in range(bodies)))
    elapsed = time.perf_counter() - started
    done.set()
    await prober
    print(
        f"{bodies} bodies: {sorted(statuses)} in {elapsed * 1000:.0f} ms; /healthz "
        f"median {statistics.median(latencies) * 1000:.1f} ms, "
        f"slowest {max(latencies) * 1000:.1f} ms ({len(latencies)} probes)"
    )


async def measure(base: str, bodies: int, rounds: int) -> None:
    body = storm_body()
    print(f"each body: {len(body) / 1024 / 1024:.1f} MiB, {body.count(b'fingerprint')} alerts")
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        await wait_ready(http, base)
        for _ in range(rounds):
            await one_round(http, base, body, bodies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        env = {key: value for key, value in os.environ.items() if not key.startswith("RECEIVER_")}
        env.update(
            RECEIVER_LISTEN=f"127.0.0.1:{port}",
            RECEIVER_DATABASE_URL=f"sqlite:///{workdir}/receiver.db",
            RECEIVER_DRAFTS_DIR="",
            RECEIVER_RECONCILE_INTERVAL="0",
            RECEIVER_LOG_LEVEL="warning",
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "receiver", "serve"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            asyncio.run(measure(f"http://127.0.0.1:{port}", args.bodies, args.rounds))
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
