"""Browser tests: a real `timebank serve` process, driven by Debian's Chromium.

The server (`live_server`, tests/support/server.py) runs as a subprocess on a
fresh database from the `db` fixture, so pages are tested on both engines. One
Chromium serves the whole session (`chromium`, tests/support/fixtures.py); each
test gets contexts of its own, closed after it. Playwright's connection lives on
the session's event loop, so the tests here run on that loop.
"""

from __future__ import annotations

from pathlib import Path

import pytest

BROWSER_TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if BROWSER_TESTS in item.path.parents:
            item.add_marker(session_loop, append=False)
