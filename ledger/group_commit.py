"""Group commit: concurrent writes share one database transaction.

Under load, each single transfer paying for its own BEGIN, lock round trip
and COMMIT caps throughput at what one connection can do per transaction.
Writers here queue their group (one operation or one chain) and a flusher
writes everything queued in one batch transaction, answering each writer
with its own outcome. Items stay isolated: each is planned against the locked
state on its own and a refused item writes nothing (ADR 0003), so grouping
changes no result, only how many commits carry them.

With little load a writer finds a free flusher slot and is written at once,
so grouping adds no latency; only when `flushers_max` transactions are
already in flight do writers wait, and then they leave together.

An unexpected exception (not a LedgerError: those are outcomes) rolls the
whole shared transaction back, and says nothing about which writer caused
it. The batch is then split in halves and each half written again, down to
single writers, so one poisoned item fails alone and the others commit
(ADR 0018). Re-writing is safe: every item carries its own transfer id, and
a half that had in fact committed answers idempotently.

A flusher takes its batch from the queue when its write may start, not before: a
write planned in Python first waits for its turn among all processes' flushers (ADR
0060), and every writer that queued meanwhile leaves with it. A batch of plain
transfers on PostgreSQL waits for the turn inside its own statement (ADR 0072), so it
is taken before: once every writer the process said was coming (`expecting`) has
queued, or `settled`'s bound has passed.

A writer may bring an `after` step (ADR 0037): the caller's own rows for a
new transfer (a keyed request's stored reply), written in the same shared
transaction, so they commit with the transfer or not at all. An `after` that
raises is an unexpected failure like any other: its batch is split and it
fails alone. A step may therefore run more than once (in rolled-back
attempts); only the run that commits counts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from ledger.limits import BATCH_ITEMS_MAX
from ledger.planning import Outcome
from ledger.posting import AfterWrite, Group

# Called by a write once it may start, it gives the batch's groups and after-steps: on
# PostgreSQL a write first waits for its turn (ADR 0060), and the batch it then takes
# holds every writer that queued meanwhile. Called again (a retried write) it gives the same.
TakeBatch = Callable[[], tuple[list[Group], list[AfterWrite | None]]]
WriteBatch = Callable[[TakeBatch], Awaitable[list[Outcome]]]


@dataclass(slots=True)
class _Settling:
    """A write waiting for the `remaining` writers said to be coming, numbered up to
    `last`, to queue or go."""

    last: int
    remaining: int
    settled: asyncio.Future[None]


@dataclass(slots=True)
class _Waiting:
    group: Group
    answer: asyncio.Future[Outcome]
    after: AfterWrite | None = None


class GroupCommitter:
    """Coalesces concurrent writes on one event loop into shared transactions."""

    def __init__(self, write_batch: WriteBatch, *, flushers_max: int) -> None:
        self._write_batch = write_batch
        self._flushers_max = flushers_max
        self._queue: list[_Waiting] = []
        self._flushers: set[asyncio.Task[None]] = set()  # strong refs for the running tasks
        # Counted by the flushers themselves: a done-callback would run a
        # loop iteration late, and a writer queued in between would wait forever.
        self._flushers_active = 0
        # Writers said to be coming (`expecting`) and not yet queued or gone, by number.
        self._expected: set[int] = set()
        self._expected_count = 0
        self._settling: list[_Settling] = []

    @contextlib.contextmanager
    def expecting(self) -> Iterator[None]:
        """Say that the current task is about to submit (a request that has begun to be a
        gift): a write that waits in `settled` waits for it to queue, or to leave this block.
        """
        number = self._expected_count
        self._expected_count += 1
        self._expected.add(number)
        token = _EXPECTED_WRITER.set((self, number))
        try:
            yield
        finally:
            _EXPECTED_WRITER.reset(token)
            self._arrived(number)

    async def settled(self, timeout_seconds: float) -> None:
        """Return once every writer said to be coming before this call has queued or gone,
        and then every one said to be coming in one more turn of the event loop; or once
        `timeout_seconds` have passed: one held up elsewhere (a slow read) must not hold
        the others' batch for longer.

        The extra turn is for requests whose bytes arrived while the others queued: in
        it they are read and say they are coming, and leave with the batch instead of
        starting the next one (docs/performance.md, 2026-12-07 night: batches fuller,
        less CPU a gift).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_seconds
        await self._expected_queued(timeout_seconds)
        await asyncio.sleep(0)
        await self._expected_queued(max(0.0, deadline - loop.time()))

    async def _expected_queued(self, timeout_seconds: float) -> None:
        if not self._expected:
            return
        waiting = _Settling(
            last=self._expected_count - 1,
            remaining=len(self._expected),
            settled=asyncio.get_running_loop().create_future(),
        )
        self._settling.append(waiting)
        try:
            await asyncio.wait_for(waiting.settled, timeout_seconds)
        except TimeoutError:
            pass  # take what has queued
        finally:
            self._settling.remove(waiting)

    def _arrived(self, number: int) -> None:
        if number not in self._expected:
            return  # queued already: this is its block ending
        self._expected.discard(number)
        for waiting in self._settling:
            if number <= waiting.last:
                waiting.remaining -= 1
                if waiting.remaining == 0 and not waiting.settled.done():
                    waiting.settled.set_result(None)

    async def submit(self, group: Group, after: AfterWrite | None = None) -> Outcome:
        """Write `group` in a shared transaction; `after` runs in it if the group is new."""
        answer: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        expected = _EXPECTED_WRITER.get()
        if expected is not None and expected[0] is self:
            self._arrived(expected[1])
        self._queue.append(_Waiting(group, answer, after))
        if self._flushers_active < self._flushers_max:
            self._flushers_active += 1
            task = asyncio.create_task(self._flush())
            self._flushers.add(task)
            task.add_done_callback(self._flushers.discard)
        return await answer

    def _take(self) -> list[_Waiting]:
        """The next batch: queued writers in order, no transfer id twice."""
        taken: list[_Waiting] = []
        left: list[_Waiting] = []
        ids: set[object] = set()
        for waiting in self._queue:
            group_ids = {operation.id for operation in waiting.group[0]}
            if len(taken) < BATCH_ITEMS_MAX and not group_ids & ids:
                taken.append(waiting)
                ids |= group_ids
            else:
                left.append(waiting)  # a re-send of a queued id waits for the next batch
        self._queue = left
        return taken

    async def _flush(self) -> None:
        try:
            while self._queue:
                await self._flush_one(None)
        finally:
            # No await between the empty-queue check and this line, so no
            # writer can be queued unseen.
            self._flushers_active -= 1

    async def _flush_one(self, given: list[_Waiting] | None) -> None:
        """Write `given`, or (None) the queue's next batch, taken when the write starts."""
        batch: list[_Waiting] = list(given or ())
        taken = given is not None

        def take() -> tuple[list[Group], list[AfterWrite | None]]:
            nonlocal taken
            if not taken:
                batch.extend(self._take())
                taken = True
            return [waiting.group for waiting in batch], [waiting.after for waiting in batch]

        try:
            outcomes = await self._write_batch(take)
        except Exception as error:  # noqa: BLE001 - unknown cause: isolate it, then report it
            take()  # a write that failed before taking its batch fails that batch all the same
            if not batch:
                return
            if len(batch) == 1:
                _answer_error(batch, error)
                return
            # Isolate the writer that caused it: each half is its own transaction.
            middle = len(batch) // 2
            await self._flush_one(batch[:middle])
            await self._flush_one(batch[middle:])
            return
        except BaseException as error:  # cancelled: every writer must hear of it
            take()
            _answer_error(batch, error)
            raise
        for waiting, outcome in zip(batch, outcomes, strict=True):
            if not waiting.answer.done():
                waiting.answer.set_result(outcome)


# The writer the current task said was coming (`GroupCommitter.expecting`): its committer
# and its number. `submit` in the same task marks it queued.
_EXPECTED_WRITER: ContextVar[tuple[GroupCommitter, int] | None] = ContextVar(
    "expected_writer", default=None
)


def _answer_error(batch: list[_Waiting], error: BaseException) -> None:
    for waiting in batch:
        if not waiting.answer.done():
            waiting.answer.set_exception(error)
