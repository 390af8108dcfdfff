"""The load generator in C: Debian's `wrk`, driven by a generated Lua script.

The asyncio client in bench/loadclient.py is Python on the same two cores as the
server it measures: at several thousand requests a second it took close to a core
for itself, so every figure measured the client as much as the service (pgbench,
the reference, is C). `wrk` sends the same requests at a small fraction of that
CPU. Each request names a member in turn, round the 100 provisioned ones: reads
carry that member's bearer token; a gift goes from that member to the next with a
fresh Idempotency-Key (the run's nonce, the thread and a counter), as the Python
client's gifts do. An exchange cycle (three requests, each needing the last one's
answer) stays on the Python client.

Latency is wrk's (per request, closed loop, like the Python client's); requests
answered with a status of 400 or more are counted as errors, not as throughput.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench.loadclient import World

WRK_THREADS = 1  # one thread drives 32 connections easily and leaves the cores to the server
WRK_WORKLOADS = frozenset({"health", "balance", "statement", "search", "gift"})
_RESULT = re.compile(r"^WRK_RESULT (\{.*\})$", re.MULTILINE)

# What each read workload asks for, whichever client sends it (bench/http.py too).
READ_PATHS = {
    "health": "/health",
    "balance": "/api/v1/accounts/me",
    "statement": "/api/v1/accounts/me/statement",
    "search": "/api/v1/listings?q=garden",
}

_COMMON = """
local threads_made = 0
function setup(thread)
  threads_made = threads_made + 1
  thread:set("thread_number", threads_made)
end

function done(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "errors": %d, "seconds": %f, "p50_ms": %f, "p99_ms": %f}\\n',
    summary.requests, bad, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""

_READ = """
local tokens = {%(tokens)s}
local path = "%(path)s"
local authorised = %(authorised)s
local turn = %(offset)d
function request()
  turn = turn + 1
  local headers = {}
  if authorised then
    headers["Authorization"] = "Bearer " .. tokens[(turn %% #tokens) + 1]
  end
  return wrk.format("GET", path, headers)
end
"""

_GIFT = """
local tokens = {%(tokens)s}
local ids = {%(ids)s}
local nonce = "%(nonce)s"
local turn = %(offset)d
local sent = 0
function request()
  turn = turn + 1
  sent = sent + 1
  local giver = (turn %% #tokens) + 1
  local receiver = ((turn + 1) %% #tokens) + 1
  local body = '{"to_member_id": "' .. ids[receiver] .. '", "minutes": 1}'
  local headers = {
    ["Authorization"] = "Bearer " .. tokens[giver],
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = nonce .. "-" .. thread_number .. "-" .. sent,
  }
  return wrk.format("POST", "/api/v1/transfers", headers, body)
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests_ok: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float


def available() -> str | None:
    return shutil.which("wrk")


def run(  # noqa: PLR0917 - one call site, all positional like bench/http.py's measure
    binary: str,
    port: int,
    workload: str,
    world: World,
    clients: int,
    seconds: float,
    offset: int,
    scratch: Path,
) -> WrkResult:
    script = scratch / f"wrk-{workload}-{uuid.uuid4().hex[:8]}.lua"
    script.write_text(_script(workload, world, offset))
    out = subprocess.run(
        [
            binary,
            "-t",
            str(min(WRK_THREADS, clients)),
            "-c",
            str(clients),
            "-d",
            f"{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found = _RESULT.search(out.stdout)
    if found is None:
        raise RuntimeError(f"wrk printed no result:\n{out.stdout}\n{out.stderr}")
    data = json.loads(found.group(1))
    return WrkResult(
        requests_ok=int(data["requests"]) - int(data["errors"]),
        errors=int(data["errors"]),
        seconds=float(data["seconds"]),
        p50_ms=float(data["p50_ms"]),
        p99_ms=float(data["p99_ms"]),
    )


def _script(workload: str, world: World, offset: int) -> str:
    tokens = ", ".join(f'"{member.token}"' for member in world.members)
    if workload == "gift":
        ids = ", ".join(f'"{member.id}"' for member in world.members)
        body = _GIFT % {
            "tokens": tokens,
            "ids": ids,
            "nonce": uuid.uuid4().hex,
            "offset": offset,
        }
    else:
        body = _READ % {
            "tokens": tokens,
            "path": READ_PATHS[workload],
            "authorised": "false" if workload == "health" else "true",
            "offset": offset,
        }
    return body + _COMMON
