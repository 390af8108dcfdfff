"""Issue 21 item 1: the sweeps run on one node at a time, under a lease in the database
that moves to another node when its holder stops renewing it; on both engines."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from ledger import Ledger
from service.limits import SWEEPS_LEASE_SECONDS
from service.listings.tables import Listing
from service.nodes.lease import NODE_ID, SWEEPS_LEASE, lease_holder, lease_release, lease_take
from service.nodes.tables import SweepPass
from service.sweeps import sweeps_pass
from tests.conftest import TestDatabase
from tests.support.listings import create
from tests.support.people import Town

NOON = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
LEASE_SECONDS = 180.0


async def take(db: TestDatabase, holder: str, now: datetime) -> bool:
    return await lease_take(
        engine=db.engine, name=SWEEPS_LEASE, holder=holder, now=now, lease_seconds=LEASE_SECONDS
    )


async def test_one_holder_at_a_time_and_the_holder_renews(db: TestDatabase) -> None:
    assert await take(db, "node-a", NOON)
    assert not await take(db, "node-b", NOON + timedelta(seconds=10))
    assert await take(db, "node-a", NOON + timedelta(seconds=60))  # renewed to 12:04
    assert not await take(db, "node-b", NOON + timedelta(seconds=200))
    assert await lease_holder(SWEEPS_LEASE) == "node-a"


async def test_the_lease_moves_when_its_holder_stops_renewing(db: TestDatabase) -> None:
    assert await take(db, "node-a", NOON)
    after_expiry = NOON + timedelta(seconds=LEASE_SECONDS)
    assert await take(db, "node-b", after_expiry)
    assert not await take(db, "node-a", after_expiry + timedelta(seconds=1))
    assert await lease_holder(SWEEPS_LEASE) == "node-b"


async def test_a_released_lease_is_taken_at_once(db: TestDatabase) -> None:
    assert await take(db, "node-a", NOON)
    await lease_release(engine=db.engine, name=SWEEPS_LEASE, holder="node-b", now=NOON)
    assert not await take(db, "node-b", NOON)  # only the holder can give it up
    await lease_release(engine=db.engine, name=SWEEPS_LEASE, holder="node-a", now=NOON)
    assert await take(db, "node-b", NOON)


async def test_nodes_asking_at_once_give_one_holder(db: TestDatabase) -> None:
    holders = [f"node-{index}" for index in range(8)]
    taken = await asyncio.gather(*(take(db, holder, NOON) for holder in holders))
    assert sum(taken) == 1
    assert await lease_holder(SWEEPS_LEASE) == holders[taken.index(True)]


async def test_a_sweep_pass_runs_only_on_the_node_holding_the_lease(town: Town) -> None:
    engine = town.app.state.engine
    listing = await create(town, town.bob, title="Lifts to the surgery")
    listing_id = uuid.UUID(str(listing["id"]))
    # A listing from before expiry existed: only a sweep starts its clock.
    await Listing.update({Listing.expires_at: None}).where(Listing.id == listing_id).run()
    now = datetime.now(UTC)
    other_node_until = SWEEPS_LEASE_SECONDS + 60
    assert await lease_take(
        engine=engine,
        name=SWEEPS_LEASE,
        holder="another-node",
        now=now,
        lease_seconds=other_node_until,
    )

    assert not await sweeps_pass(engine=engine, ledger=town.app.state.ledger)
    assert await expires_at(listing_id) is None

    await lease_release(engine=engine, name=SWEEPS_LEASE, holder="another-node", now=now)
    assert await sweeps_pass(engine=engine, ledger=town.app.state.ledger)
    assert await expires_at(listing_id) is not None
    assert await lease_holder(SWEEPS_LEASE) == NODE_ID


async def expires_at(listing_id: uuid.UUID) -> datetime | None:
    row = await Listing.select(Listing.expires_at).where(Listing.id == listing_id).first().run()
    assert row is not None
    value: datetime | None = row["expires_at"]
    return value


async def test_each_pass_is_recorded_with_its_lease_and_finish(db: TestDatabase) -> None:
    ledger = Ledger(db.engine)
    assert await sweeps_pass(engine=db.engine, ledger=ledger, lease_seconds=LEASE_SECONDS)
    rows = await SweepPass.select().run()
    assert len(rows) == 1
    (row,) = rows
    assert row["holder"] == NODE_ID
    assert row["finished_at"] is not None
    assert row["started_at"] <= row["finished_at"]
    # The lease was taken just before the pass started, for LEASE_SECONDS.
    lease = row["lease_expires_at"] - row["started_at"]
    assert timedelta(seconds=LEASE_SECONDS - 5) < lease <= timedelta(seconds=LEASE_SECONDS)


async def test_a_node_without_the_lease_records_no_pass(db: TestDatabase) -> None:
    assert await take(db, "another-node", datetime.now(UTC))
    assert not await sweeps_pass(engine=db.engine, ledger=Ledger(db.engine))
    assert await SweepPass.count().run() == 0
