"""The council dashboard pages (server-rendered, charts as inline SVG)."""

from __future__ import annotations

PAGE_ROUTERS: list[type] = []
