"""Statements counted on the wire: every asyncpg call, the ledger's and Piccolo's."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

RECORDED_METHODS = ("execute", "executemany", "fetch", "fetchrow", "fetchval")


def _recording(
    original: Callable[..., Awaitable[Any]], log: list[str], task: asyncio.Task[Any] | None
) -> Callable[..., Awaitable[Any]]:
    async def recorded(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        if task is None or asyncio.current_task() is task:
            log.append(query.strip())
        return await original(self, query, *args, **kwargs)

    return recorded


def recorded_statements(
    monkeypatch: pytest.MonkeyPatch, *, task: asyncio.Task[Any] | None = None
) -> list[str]:
    """The list the statements run from now on are added to: those `task` runs, or (None)
    every task's, the group-commit flusher's among them."""
    log: list[str] = []
    for name in RECORDED_METHODS:
        original = getattr(asyncpg.connection.Connection, name)
        monkeypatch.setattr(asyncpg.connection.Connection, name, _recording(original, log, task))
    return log
