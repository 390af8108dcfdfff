"""Access and privacy tests (issue 14): fixtures shared by this folder.

The live server is the browser tests' own (`timebank serve`, granian, on a fresh
database per engine), so the oversized-body tests meet the server the project
runs, not a test transport.
"""

from __future__ import annotations

from tests.browser.conftest import LiveServer, live_server

__all__ = ["LiveServer", "live_server"]
