"""Browser tests: a real `timebank serve` process, driven by Debian's Chromium.

The server (`live_server`, tests/support/server.py) runs as a subprocess on a
fresh database from the `db` fixture, so pages are tested on both engines. One
Chromium serves the whole session (`chromium`, tests/support/fixtures.py); each
test gets contexts of its own, closed after it. Playwright's connection lives on
the session's event loop, so the tests here run on that loop.
"""

from __future__ import annotations

# The hook that puts every browser-driving test on the session's loop lives in
# tests/conftest.py, so journeys kept beside their feature (tests/mail, tests/recovery,
# tests/access) get it too.
