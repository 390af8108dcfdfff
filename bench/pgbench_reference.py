"""The reference every PostgreSQL benchmark is compared with: pgbench's TPC-B.

pgbench's built-in "tpcb-like" transaction (three UPDATEs, one SELECT, one
INSERT in a transaction) is run against the same PostgreSQL server, in the
same run, at the same client count, so the ratio survives a busy or slow
machine where absolute numbers would not.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from urllib.parse import urlsplit

PGBENCH_SCALE = 16  # rows in pgbench_branches; >= clients keeps branch contention realistic
TPS_PATTERN = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")


@dataclass(frozen=True)
class PgbenchResult:
    clients: int
    seconds: int
    tps: float


def _connection_args(admin_url: str, database: str) -> list[str]:
    parts = urlsplit(admin_url)
    args = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
    if parts.username:
        args += ["-U", parts.username]
    return [*args, database]


def pgbench_binary() -> str:
    found = shutil.which("pgbench")
    if found is None:
        raise RuntimeError("pgbench not found: install PostgreSQL's client tools")
    return found


def initialise(admin_url: str, database: str) -> None:
    subprocess.run(
        [
            pgbench_binary(),
            "-i",
            "-q",
            "-s",
            str(PGBENCH_SCALE),
            *_connection_args(admin_url, database),
        ],
        check=True,
        capture_output=True,
        text=True,
    )


def run_tpcb(admin_url: str, database: str, *, clients: int, seconds: int) -> PgbenchResult:
    return run_builtin(admin_url, database, script="tpcb-like", clients=clients, seconds=seconds)


def run_builtin(
    admin_url: str, database: str, *, script: str, clients: int, seconds: int
) -> PgbenchResult:
    """Run one of pgbench's built-in scripts ("tpcb-like", "select-only", ...)."""
    threads = min(clients, 2)
    result = subprocess.run(
        [
            pgbench_binary(),
            "-b",
            script,
            "-c",
            str(clients),
            "-j",
            str(threads),
            "-T",
            str(seconds),
            "-n",
            *_connection_args(admin_url, database),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    match = TPS_PATTERN.search(result.stdout)
    if match is None:
        raise RuntimeError("could not read tps from pgbench output:\n" + result.stdout)
    return PgbenchResult(clients=clients, seconds=seconds, tps=float(match.group(1)))
