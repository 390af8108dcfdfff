"""Point reads asked together share one statement (service/shared_reads.py, ADR 0056)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from service.shared_reads import SharedReads
from tests.safety.support import assert_blocked, block
from tests.support.people import Town


class _ReadError(Exception):
    pass


async def test_reads_asked_together_leave_in_one_statement() -> None:
    statements: list[list[int]] = []

    async def read_many(keys: list[int]) -> dict[int, str]:
        statements.append(keys)
        return {key: f"row {key}" for key in keys if key != 7}

    reads = SharedReads(read_many)
    answers = await asyncio.gather(*(reads.read(key % 10) for key in range(20)))
    assert statements == [list(range(10))]  # each key asked once, however often it was wanted
    assert answers == [None if key % 10 == 7 else f"row {key % 10}" for key in range(20)]


async def test_a_read_asked_during_a_statement_waits_for_the_next_one() -> None:
    """A statement already sent may miss a commit that ended before a later read was
    asked: that read must be answered by a statement of its own time."""
    statements: list[list[str]] = []
    first_sent = asyncio.Event()
    release = asyncio.Event()

    async def read_many(keys: list[str]) -> dict[str, str]:
        statements.append(keys)
        first_sent.set()
        await release.wait()
        return {key: key.upper() for key in keys}

    reads = SharedReads(read_many)
    early = asyncio.create_task(reads.read("early"))
    await first_sent.wait()
    late = asyncio.create_task(reads.read("late"))
    also_late = asyncio.create_task(reads.read("also late"))
    await asyncio.sleep(0)  # the late reads are queued, not sent
    assert statements == [["early"]]
    release.set()
    assert (await early, await late, await also_late) == ("EARLY", "LATE", "ALSO LATE")
    assert statements == [["early"], ["late", "also late"]]


async def test_a_failed_statement_reaches_its_readers_and_the_next_reads_afresh() -> None:
    failing = True

    async def read_many(keys: list[int]) -> dict[int, int]:
        if failing:
            raise _ReadError
        return {key: key * 2 for key in keys}

    reads = SharedReads(read_many)
    results = await asyncio.gather(reads.read(1), reads.read(2), return_exceptions=True)
    assert all(isinstance(result, _ReadError) for result in results)
    failing = False
    assert await reads.read(3) == 6


async def test_a_reader_that_goes_away_leaves_the_others_answered() -> None:
    release = asyncio.Event()

    async def read_many(keys: list[int]) -> dict[int, int]:
        await release.wait()
        return {key: key for key in keys}

    reads = SharedReads(read_many)
    gone = asyncio.create_task(reads.read(1))
    kept = asyncio.create_task(reads.read(2))
    await asyncio.sleep(0)
    gone.cancel()
    release.set()
    assert await kept == 2
    with pytest.raises(asyncio.CancelledError):
        await gone


async def test_gifts_asked_at_once_each_judge_their_own_recipient(town: Town) -> None:
    """On PostgreSQL these recipients are read in shared statements: each gift still gets
    its own answer (a block holds between its own two members only)."""
    await block(town, town.alice, town.bob)

    async def give(giver_headers: dict[str, str], to_member_id: uuid.UUID) -> int:
        response = await town.client.post(
            "/api/v1/transfers",
            headers=giver_headers,
            json={"to_member_id": str(to_member_id), "minutes": 1},
        )
        if response.status_code == 403:
            assert_blocked(response)
        return response.status_code

    statuses = await asyncio.gather(
        give(town.alice.headers, town.bob.id),  # blocked, by the giver
        give(town.bob.headers, town.alice.id),  # blocked, by the recipient
        give(town.alice.headers, town.coordinator.id),
        give(town.bob.headers, town.coordinator.id),
        give(town.alice.headers, uuid.uuid4()),  # nobody
        give(town.alice.headers, town.pending.id),  # not active
        give(town.coordinator.headers, town.alice.id),
    )
    assert statuses == [403, 403, 201, 201, 404, 404, 201]
