"""Load from `wrk` (Debian package): a Python client caps far below aiohttp's own
ceiling, so ratios to a bare handler are only meaningful with a native load generator.

`run_wrk` posts the given bodies in turn over `connections` connections for `seconds`,
pinned to CPU 1 when the machine has two cores (the server is pinned to CPU 0), and
returns what wrk measured, read from a Lua `done` hook as JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SCRIPT = """
local bodies = {%s}
local numbered = %s
local first = %d
local counter = 0
local threads = 0
local headers = {["Content-Type"] = "application/json"}
setup = function(thread)
  thread:set("id", threads)
  threads = threads + 1
end
request = function()
  local n = counter
  counter = counter + 1
  local body = bodies[(n %% #bodies) + 1]
  if numbered then
    -- each group its own: the threads' numbers far apart, the bodies of one group in turn
    local group = first + id * 100000000 + math.floor(n / #bodies)
    body = body:gsub("@GROUP@", tostring(group))
    body = body:gsub("@FINGERPRINT@", string.format("%%016x", group))
  end
  return wrk.format("POST", "/api/v1/alerts", headers, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nWRK {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, '
    .. '"socket_errors": %%d, "non_2xx": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors and answers other than 2xx/3xx

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds


def available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    base: str,
    bodies: Sequence[bytes],
    *,
    seconds: float,
    connections: int,
    threads: int = 2,
    first_group: int | None = None,
) -> WrkResult:
    """`first_group`: the bodies are one group's, in turn, with `@GROUP@` (a number) and
    `@FINGERPRINT@` (16 hex digits) in them; each turn through them is a new group,
    numbered from `first_group`, so no body is ever sent twice. Else they are sent as
    they are, over and over."""
    numbered = first_group is not None
    lua = SCRIPT % (
        ",".join(f"[==[{body.decode()}]==]" for body in bodies),
        "true" if numbered else "false",
        first_group or 0,
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(lua)
        script = Path(handle.name)
    pin = ["taskset", "-c", "1"] if (os.cpu_count() or 1) >= 2 and shutil.which("taskset") else []
    argv = [
        *pin,
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        f"{base}/api/v1/alerts",
    ]
    try:
        run = subprocess.run(
            argv, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
    finally:
        script.unlink()
    line = next((x for x in run.stdout.splitlines() if x.startswith("WRK ")), None)
    if run.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({run.returncode}): {run.stdout[-500:]} {run.stderr}")
    data = json.loads(line[4:])
    return WrkResult(
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=int(data["socket_errors"]) + int(data["non_2xx"]),
    )
