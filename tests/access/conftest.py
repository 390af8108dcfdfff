"""Access and privacy tests (issue 14): fixtures shared by this folder.

The live server is the browser tests' own (`timebank serve`, granian, on a fresh
database per engine), so the oversized-body and shared-limit tests meet the
server the project runs, not a test transport.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.browser.conftest import (
    LiveServer,
    _free_port,
    _server_env,
    _wait_until_listening,
    browser,
    live_server,
    page,
)
from tests.conftest import TestDatabase

__all__ = ["LiveServer", "browser", "live_server", "page", "serving"]


@contextmanager
def serving(db: TestDatabase, data_dir: Path, **env: str) -> Iterator[LiveServer]:
    """One more `timebank serve` process on `db`, with extra environment (e.g. REDIS_URL)."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        env={**_server_env(db.url, data_dir), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    drain = None
    try:
        drain = _wait_until_listening(process, port)
        yield LiveServer(base_url=f"http://127.0.0.1:{port}", db=db, data_dir=data_dir)
    finally:
        process.terminate()
        process.wait(timeout=30)
        if drain is not None:
            drain.join(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
