"""PostgreSQL test databases copied ahead of need and dropped behind, off the test's path.

On PostgreSQL 15 `DROP DATABASE` forces an immediate checkpoint and `CREATE
DATABASE ... TEMPLATE` writes the whole copy to the WAL: together 0.3 to 3 s
a test on a busy machine, during which the test itself did nothing. Neither
needs to wait for the test: the next copy of a template can be made while
the current test runs, and a used database dropped while the next one runs.
One thread with its own event loop and one admin connection does both, one
statement at a time (ADR 0038). Every test still gets a database that no
other test has touched, copied from the same template as before.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

import asyncpg

T = TypeVar("T")
STOP_SECONDS_MAX = 300  # the drops still queued when the session ends


class PostgresCopies:
    """Fresh copies of template databases, one made ahead per template."""

    def __init__(self, admin_url: str, name_prefix: str) -> None:
        self._admin_url = admin_url
        self._name_prefix = name_prefix
        self._names = itertools.count()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="postgres-copies", daemon=True
        )
        self._thread.start()
        # Touched only on the worker's loop.
        self._connection: asyncpg.Connection[Any] | None = None
        self._one_at_a_time: asyncio.Lock | None = None
        # Touched only on the tests' side.
        self._ahead: dict[str, Future[str]] = {}
        self._drops: list[Future[None]] = []

    async def take(self, template: str) -> str:
        """The name of a fresh copy of `template`; the next copy is started at once."""
        ready = self._ahead.pop(template, None) or self._copy(template)
        self._ahead[template] = self._copy(template)
        return await asyncio.wrap_future(ready)

    def give_back(self, name: str) -> None:
        """Drop `name` in the background (failures are reported when the session ends)."""
        self._drops.append(self._submit(self._execute(_drop_sql(name))))

    def retire(self, template: str) -> None:
        """Stop copying `template`: its copy made ahead is dropped, so the template may go."""
        ready = self._ahead.pop(template, None)
        if ready is None:
            return
        try:
            self.give_back(ready.result(timeout=STOP_SECONDS_MAX))
        except Exception as error:
            self._drops.append(_failed(error))

    def close(self) -> None:
        """Drop the copies made ahead, wait for every drop, stop the thread."""
        for template in list(self._ahead):
            self.retire(template)
        failures = [error for drop in self._drops if (error := _error_of(drop)) is not None]
        self._submit(self._disconnect()).result(timeout=STOP_SECONDS_MAX)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=STOP_SECONDS_MAX)
        self._loop.close()
        if failures:
            raise RuntimeError(f"dropping test databases failed: {failures}")

    def _copy(self, template: str) -> Future[str]:
        name = f"{self._name_prefix}_{next(self._names)}"
        return self._submit(self._create(name, template))

    async def _create(self, name: str, template: str) -> str:
        await self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    async def _execute(self, sql: str) -> None:
        if self._one_at_a_time is None:
            self._one_at_a_time = asyncio.Lock()
        async with self._one_at_a_time:  # FIFO: a copy made ahead comes before the next one
            if self._connection is None or self._connection.is_closed():
                self._connection = await asyncpg.connect(self._admin_url)
            await self._connection.execute(sql)

    async def _disconnect(self) -> None:
        if self._connection is not None:
            await self._connection.close()

    def _submit(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)


def _drop_sql(name: str) -> str:
    return f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'


def _failed(error: BaseException) -> Future[None]:
    future: Future[None] = Future()
    future.set_exception(error)
    return future


def _error_of(drop: Future[None]) -> BaseException | None:
    try:
        drop.result(timeout=STOP_SECONDS_MAX)
    except Exception as error:  # collected, raised together by close()
        return error
    return None
