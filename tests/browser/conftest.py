"""Browser tests: a real `timebank serve` process, driven by Debian's Chromium.

The server runs as a subprocess on a fresh database from the `db` fixture (so
pages are tested on both engines). Readiness is known from the server's own
"Listening at" log line, never from a sleep.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, async_playwright

from tests.conftest import FAST_PASSWORD_HASHING, TEST_SECRET_KEY, TestDatabase

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_START_LINES_MAX = 200
SERVER_READY_SECONDS_MAX = 30
SERVER_POLL_SECONDS = 0.05
ARTIFACTS_DIR = Path(__file__).resolve().parents[2] / "test-artifacts"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    base_url: str
    db: TestDatabase
    data_dir: Path

    def run_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a `timebank` sub-command against the same database as the server."""
        return subprocess.run(
            [sys.executable, "-m", "service.cli", *args],
            env=_server_env(self.db.url, self.data_dir),
            capture_output=True,
            text=True,
            check=True,
        )


def _server_env(database_url: str, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": TEST_SECRET_KEY,
            **FAST_PASSWORD_HASHING,
            "TIMEBANK_DATA_DIR": str(data_dir),
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def _wait_until_listening(process: subprocess.Popen[str], port: int) -> threading.Thread:
    """Wait for the "Listening at" line, then until the port accepts connections.

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
        if "Listening at" in line:
            drain = threading.Thread(target=_drain, args=(process, seen), daemon=True)
            drain.start()
            _wait_for_port(process, port, seen)
            return drain
    process.kill()
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
    process.kill()
    raise RuntimeError("server never accepted connections:\n" + "".join(seen))


@pytest.fixture
def live_server(db: TestDatabase, tmp_path: Path) -> Iterator[LiveServer]:
    port = _free_port()
    data_dir = tmp_path / "server-data"
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        env=_server_env(db.url, data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    drain: threading.Thread | None = None
    try:
        drain = _wait_until_listening(process, port)
        yield LiveServer(base_url=f"http://127.0.0.1:{port}", db=db, data_dir=data_dir)
    finally:
        process.terminate()
        process.wait(timeout=30)
        if drain is not None:
            drain.join(timeout=30)  # the pipe reaches EOF once the server has exited
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(java_script_enabled=True)
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def assert_no_axe_violations(page: Page) -> None:
    """Run axe-core (served from the installed package, no network) on the page."""
    results = await Axe().run(page)
    violations = results.response.get("violations", [])
    summary = [
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:3]}"
        for v in violations
    ]
    assert not violations, "axe violations:\n" + "\n".join(summary)


async def save_screenshot(page: Page, name: str) -> Path:
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    path = ARTIFACTS_DIR / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
