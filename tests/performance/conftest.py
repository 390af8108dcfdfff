"""A real `timebank serve` with several workers and Redis, on the test's database.

The server is started and stopped by tests/support/server.py (`running_server`); this
adds the environment the worker tests want, an HTTP client with an address of its own,
and what the kernel says about the server's sockets.
"""

from __future__ import annotations

import collections
import contextlib
import random
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import TestDatabase
from tests.support.redis_db import worker_redis_url
from tests.support.server import ROOT, running_server, timebank_env

REDIS_URL = worker_redis_url()
PASSWORD = "a password for the worker tests"
# /proc/net/tcp's socket states (include/net/tcp_states.h).
TCP_ESTABLISHED = "01"
TCP_LISTEN = "0A"
PROC_NET_TCP = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
LISTENERS_WAIT_SECONDS_MAX = 60
LISTENERS_POLL_SECONDS = 0.05


def random_loopback() -> str:
    """A client address of its own: rate limits count per address, across runs in Redis."""
    return f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"  # noqa: S311


@dataclass
class Served:
    base_url: str
    port: int
    env: dict[str, str]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "service.cli", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    @contextlib.asynccontextmanager
    async def client(self) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.AsyncHTTPTransport(local_address=random_loopback())
        async with httpx.AsyncClient(
            transport=transport, base_url=self.base_url, timeout=60
        ) as client:
            yield client


def server_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The server's environment: REDIS_URL only when the test gives one."""
    env = timebank_env(
        database_url, data_dir, LOG_LEVEL="WARNING", TIMEBANK_ADMIN_PASSWORD=PASSWORD
    )
    env.pop("REDIS_URL", None)
    return {**env, **extra}


@contextlib.contextmanager
def serving(db: TestDatabase, tmp_path: Path, *args: str, **env: str) -> Iterator[Served]:
    served_env = server_env(db.url, tmp_path / "data", **env)
    with running_server(served_env, *args) as port:
        yield Served(f"http://127.0.0.1:{port}", port, served_env)


def created(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _server_side_sockets(port: int, state: str) -> list[str]:
    """The inodes of sockets on local port `port` in `state`, from /proc/net/tcp{,6}."""
    inodes = []
    for table in PROC_NET_TCP:
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == state:
                inodes.append(fields[9])
    return inodes


def listening_sockets(port: int, *, at_least: int) -> int:
    """How many sockets listen on `port` (one per worker with SO_REUSEPORT, else one).

    The server's line and its first accepted connection say one worker listens; the
    others may still be starting, so this looks again until `at_least` listen or
    `LISTENERS_WAIT_SECONDS_MAX` has passed, and then answers what it sees.
    """
    deadline = time.monotonic() + LISTENERS_WAIT_SECONDS_MAX
    while True:
        found = len(_server_side_sockets(port, TCP_LISTEN))
        if found >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(LISTENERS_POLL_SECONDS)  # a poll of the kernel's table, bounded above


def connection_owners(port: int) -> collections.Counter[int]:
    """Accepted connections on `port`, counted by the process that holds each."""
    wanted = {f"socket:[{inode}]" for inode in _server_side_sockets(port, TCP_ESTABLISHED)}
    owners: collections.Counter[int] = collections.Counter()
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        with contextlib.suppress(OSError):  # a process that ended, or not ours to read
            for fd in fd_dir.iterdir():
                with contextlib.suppress(OSError):
                    if str(fd.readlink()) in wanted:
                        owners[int(fd_dir.parent.name)] += 1
    return owners
