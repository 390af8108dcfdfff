"""A real `timebank serve` with several workers and Redis, on the test's database."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from service.cli import SERVE_LISTENING_LINE
from tests.conftest import FAST_PASSWORD_HASHING, TEST_SECRET_KEY, TestDatabase
from tests.support.redis_db import worker_redis_url

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = worker_redis_url()
PASSWORD = "a password for the worker tests"
SERVER_START_LINES_MAX = 200
SERVER_READY_SECONDS_MAX = 60
SERVER_POLL_SECONDS = 0.1
SERVER_STOP_SECONDS_MAX = 30


def random_loopback() -> str:
    """A client address of its own: rate limits count per address, across runs in Redis."""
    return f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"  # noqa: S311


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    base_url: str
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
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=TEST_SECRET_KEY,
        TIMEBANK_DATA_DIR=str(data_dir),
        LOG_LEVEL="WARNING",
        TIMEBANK_ADMIN_PASSWORD=PASSWORD,
        **FAST_PASSWORD_HASHING,
        **extra,
    )
    return env


@contextlib.contextmanager
def serving(db: TestDatabase, tmp_path: Path, *args: str, **env: str) -> Iterator[Served]:
    port = free_port()
    served = Served(f"http://127.0.0.1:{port}", server_env(db.url, tmp_path / "data", **env))
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port), *args],
        cwd=ROOT,
        env=served.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen: list[str] = []
    drain: threading.Thread | None = None
    try:
        drain = _wait_until_listening(process, port, seen)
        yield served
    finally:
        _stop(process)
        if drain is not None:
            drain.join(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def _wait_until_listening(
    process: subprocess.Popen[str], port: int, seen: list[str]
) -> threading.Thread:
    assert process.stdout is not None
    for _ in range(SERVER_START_LINES_MAX):
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if SERVE_LISTENING_LINE in line:
            drain = threading.Thread(target=lambda: seen.extend(process.stdout or ()), daemon=True)
            drain.start()
            _wait_for_port(process, port, seen)
            return drain
    raise RuntimeError("server did not start:\n" + "".join(seen))


def _wait_for_port(process: subprocess.Popen[str], port: int, seen: list[str]) -> None:
    # Workers bind after the line is printed: connect until one accepts.
    deadline = time.monotonic() + SERVER_READY_SECONDS_MAX
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            # Waiting on the process doubles as the pause, and notices a crash.
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=SERVER_POLL_SECONDS)
            if process.poll() is not None:
                break
    raise RuntimeError("server never accepted connections:\n" + "".join(seen))


def _stop(process: subprocess.Popen[str]) -> None:
    # SIGTERM to the whole group: the server's main process and its workers.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=SERVER_STOP_SECONDS_MAX)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def created(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()
