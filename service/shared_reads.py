"""Concurrent point reads of one kind share one statement (ADR 0056).

On PostgreSQL every read is a round trip, and a round trip on loopback costs both
sides a write, a wake-up and a read: under load, gifts arriving together each asked
for their recipient alone. Here a read joins the next statement of its kind. When
none is in flight it is sent at once, so a quiet server adds no wait; while one is,
the reads that arrive queue and leave together in the next. A read is always answered
by a statement sent after it was asked, so it sees every commit that finished before
it was asked, as a read of its own would.

Group commit (ledger/group_commit.py) does the same for writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from service.limits import SHARED_READ_KEYS_MAX

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

ReadMany = Callable[[list[K]], Awaitable[dict[K, V]]]


@dataclass(slots=True)
class _Queue(Generic[K, V]):
    """The reads waiting on one event loop, and whether a statement is in flight."""

    loop: asyncio.AbstractEventLoop
    waiting: list[tuple[K, asyncio.Future[V | None]]] = field(default_factory=list)
    reading: asyncio.Task[None] | None = None


class SharedReads(Generic[K, V]):
    """Reads by key, answered by `read_many` for every key asked meanwhile."""

    def __init__(self, read_many: ReadMany[K, V]) -> None:
        self._read_many = read_many
        self._queue: _Queue[K, V] | None = None

    async def read(self, key: K) -> V | None:
        """What `read_many` found for `key`, or None when it found nothing."""
        queue = self._queue_of(asyncio.get_running_loop())
        answer: asyncio.Future[V | None] = queue.loop.create_future()
        queue.waiting.append((key, answer))
        if queue.reading is None:
            queue.reading = queue.loop.create_task(self._read_queued(queue))
        return await answer

    def _queue_of(self, loop: asyncio.AbstractEventLoop) -> _Queue[K, V]:
        # One queue per event loop: a closed loop's queue (a test's) is forgotten.
        if self._queue is None or self._queue.loop is not loop:
            self._queue = _Queue(loop)
        return self._queue

    async def _read_queued(self, queue: _Queue[K, V]) -> None:
        try:
            while queue.waiting:
                batch = queue.waiting[:SHARED_READ_KEYS_MAX]
                del queue.waiting[:SHARED_READ_KEYS_MAX]
                await self._answer(batch)
        finally:
            # No await between the empty-queue check and this line, so no read can
            # be queued unseen.
            queue.reading = None

    async def _answer(self, batch: list[tuple[K, asyncio.Future[V | None]]]) -> None:
        keys = list(dict.fromkeys(key for key, _answer in batch))
        try:
            found = await self._read_many(keys)
        except Exception as error:  # noqa: BLE001 - every reader of the batch hears of it
            for _key, answer in batch:
                if not answer.done():
                    answer.set_exception(error)
            return
        except BaseException:  # cancelled: no reader may wait for ever
            for _key, answer in batch:
                answer.cancel()
            raise
        for key, answer in batch:
            if not answer.done():  # a reader that went away (a client that hung up)
                answer.set_result(found.get(key))
