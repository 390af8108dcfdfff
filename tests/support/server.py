"""A real `timebank serve` subprocess, and `timebank` commands run beside it.

Readiness is known from the line `timebank serve` prints as it starts the server, then
from the port accepting a connection, never from a sleep.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from service.cli import SERVE_LISTENING_LINE
from tests.conftest import FAST_PASSWORD_HASHING, TEST_SECRET_KEY, TestDatabase

ROOT = Path(__file__).resolve().parents[2]
SERVER_START_LINES_MAX = 200
SERVER_READY_SECONDS_MAX = 60  # two workers start on a busy two-core machine
SERVER_STOP_SECONDS_MAX = 30
SERVER_POLL_SECONDS = 0.05
COMMAND_TIMEOUT_SECONDS = 300  # the demo loads a whole town
# Settings a developer's shell may hold that would change what a command does.
UNSET_FOR_COMMANDS = (
    "TIMEBANK_ADMIN_PASSWORD",
    "TIMEBANK_DEMO_PASSWORD",
    "TIMEBANK_ENV",
    "EXCHANGE_HOLD_DAYS",  # the demo's holds last the default 14 days
)


def timebank_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a `timebank` process on the test's database."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET_KEY,
        **FAST_PASSWORD_HASHING,
        "TIMEBANK_DATA_DIR": str(data_dir),
        **extra,
    }


def run_timebank(
    db: TestDatabase, tmp_path: Path, *args: str, admin_password: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `timebank <args>` as a real process against the test database (never raises)."""
    env = timebank_env(db.url, tmp_path / "data")
    for name in UNSET_FOR_COMMANDS:
        env.pop(name, None)
    if admin_password is not None:
        env["TIMEBANK_ADMIN_PASSWORD"] = admin_password
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,  # no terminal: a prompt for a password would fail
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
        check=False,
    )


@dataclass
class LiveServer:
    base_url: str
    db: TestDatabase
    data_dir: Path

    def run_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a `timebank` sub-command against the same database as the server."""
        return subprocess.run(
            [sys.executable, "-m", "service.cli", *args],
            env=timebank_env(self.db.url, self.data_dir, LOG_LEVEL="WARNING"),
            capture_output=True,
            text=True,
            check=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_server(env: dict[str, str], *args: str) -> Iterator[int]:
    """`timebank serve --port PORT [args]` with `env` until the block ends; yields the port.

    The server runs in a session of its own and is stopped as a group (SIGTERM, then
    SIGKILL past `SERVER_STOP_SECONDS_MAX`), so a worker can never outlive its test.
    """
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    drain: threading.Thread | None = None
    try:
        drain = _wait_until_listening(process, port)
        yield port
    finally:
        _stop(process)
        if drain is not None:
            drain.join(timeout=SERVER_STOP_SECONDS_MAX)  # EOF once the server has exited
        if process.stdout is not None:
            process.stdout.close()


@contextlib.contextmanager
def live_server_on(db: TestDatabase, data_dir: Path, **extra_env: str) -> Iterator[LiveServer]:
    """`timebank serve` on the test's database until the block ends."""
    env = timebank_env(db.url, data_dir, LOG_LEVEL="WARNING", **extra_env)
    with running_server(env) as port:
        yield LiveServer(base_url=f"http://127.0.0.1:{port}", db=db, data_dir=data_dir)


def _stop(process: subprocess.Popen[str]) -> None:
    # SIGTERM to the whole group: the server's main process and its workers.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=SERVER_STOP_SECONDS_MAX)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _wait_until_listening(process: subprocess.Popen[str], port: int) -> threading.Thread:
    """Wait for `timebank serve`'s listening line, then until the port accepts connections.

    The server's output keeps being read by a thread afterwards, so a full
    pipe can never stall it; the lines are kept for error messages.
    """
    assert process.stdout is not None
    seen: list[str] = []
    for _ in range(SERVER_START_LINES_MAX):
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if SERVE_LISTENING_LINE in line:
            drain = threading.Thread(target=_drain, args=(process, seen), daemon=True)
            drain.start()
            _wait_for_port(process, port, seen)
            return drain
    raise RuntimeError("server did not start:\n" + "".join(seen))


def _drain(process: subprocess.Popen[str], seen: list[str]) -> None:
    assert process.stdout is not None
    seen.extend(process.stdout)


def _wait_for_port(process: subprocess.Popen[str], port: int, seen: list[str]) -> None:
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
