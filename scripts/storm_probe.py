"""The storm's accept latency, a few times over: `python scripts/storm_probe.py`.

bench.py sends one storm (100 groups x 100 alerts fired, then resolved, 32 at a time)
after its throughput runs, so its accept p99 is one figure (the second-worst of 200
answers) from a database those runs filled. This sends the same storm `--rounds` times
to a fresh receiver (SQLite unless `--backend postgresql`; `--backend bare` sends it to
bench.py's bare handler, to show what the client and HTTP alone take), pinned to CPU 0 as
bench.py pins it, and prints each round's p50/p90/p99, the seconds each half took to be accepted
and then drained, and the server's CPU for the firing half and for the whole round.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # the script beside this one: its server, bodies and drain

GROUPS = 100
CONCURRENCY = 32


async def storm_round(
    session: aiohttp.ClientSession, receiver: bench.Running, first: int, applies: bool
) -> str:
    semaphore = asyncio.Semaphore(CONCURRENCY)
    latencies: list[float] = []

    async def send(body: bytes) -> None:
        async with semaphore:
            latencies.append(1000 * await bench.post_timed(session, receiver.base, body))

    started, cpu_started = time.perf_counter(), receiver.cpu_seconds()
    await asyncio.gather(*(send(bench.big_group(first + g, 100, "firing")) for g in range(GROUPS)))
    fired, cpu_fired = time.perf_counter(), receiver.cpu_seconds()
    await asyncio.gather(
        *(send(bench.big_group(first + g, 100, "resolved")) for g in range(GROUPS))
    )
    resolved = time.perf_counter()
    if applies:
        await bench.drain(receiver.base, "the storm")
    drained, cpu_drained = time.perf_counter(), receiver.cpu_seconds()
    latencies.sort()

    def at(fraction: float) -> float:
        return latencies[int(fraction * (len(latencies) - 1))]

    return (
        f"p50 {at(0.5):.1f} p90 {at(0.9):.1f} p99 {at(0.99):.1f} ms; "
        f"fired {fired - started:.2f} s, resolved {resolved - fired:.2f} s, "
        f"drained {drained - resolved:.2f} s; "
        f"CPU {cpu_fired - cpu_started:.2f} s firing, {cpu_drained - cpu_started:.2f} s in all"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--backend",
        choices=["sqlite", "postgresql", "bare"],
        default="sqlite",
        help="bare: bench.py's bare aiohttp handler, what the client and HTTP alone take",
    )
    args = parser.parse_args()
    if (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {1})
    with tempfile.TemporaryDirectory(prefix="pmr-storm-") as scratch_dir:
        scratch = Path(scratch_dir)
        port = bench.free_port()
        applies = args.backend != "bare"  # the bare handler stores and applies nothing
        url = ""
        if not applies:
            argv = [*bench.pin(0), sys.executable, "-c", bench.BARE_SERVER, str(port)]
            env = dict(os.environ)
        else:
            if args.backend == "sqlite":
                url = f"sqlite:///{scratch / 'storm.db'}"
            else:
                url = await bench.postgres_database()
            argv = [*bench.pin(0), sys.executable, "-m", "receiver", "serve"]
            env = bench.receiver_env(url, port, scratch)
        try:
            with bench.server(argv, env, port, scratch / "receiver.log") as receiver:
                connector = aiohttp.TCPConnector(limit=CONCURRENCY)
                async with aiohttp.ClientSession(connector=connector) as session:
                    for body in bench.bodies(1)[0]:  # warm up: imports, the first pages
                        await bench.post_timed(session, receiver.base, body)
                    if applies:
                        await bench.drain(receiver.base, "the warm-up")
                    for number in range(args.rounds):
                        figures = await storm_round(session, receiver, 1000 * number, applies)
                        print(f"round {number}: {figures}", flush=True)
        finally:
            if args.backend == "postgresql":
                await bench.drop_postgres_database(url)


if __name__ == "__main__":
    asyncio.run(main())
