"""Access and privacy tests (issue 14) use the shared fixtures (tests/support/fixtures.py:
`town`, `live_server`, `page`) and helpers; `serving` starts one more `timebank serve` on
the test's database with extra environment, e.g. REDIS_URL (tests/support/server.py)."""

from __future__ import annotations

from tests.support.server import live_server_on as serving

__all__ = ["serving"]
