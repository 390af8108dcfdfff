"""The background sweeps, started from the app's lifespan: complete exchanges marked done
that nobody answered (before their holds can expire), expire exchange holds that ran
out, then raise floors that dispute overrides lowered (ADR 0007) as members earn hours.

One task per running app; one node at a time sweeps, the one holding the sweeps lease
(service/nodes/lease.py), and each sweep is idempotent besides, so a node that took
over from a dead one only finds less to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from litestar import Litestar
from piccolo.engine.base import Engine

from ledger import Ledger
from service.checks.services import checks_expiry_sweep
from service.clock import utc_now
from service.disputes.floors import restore_overridden_floors
from service.events.rsvp import events_reminder_sweep
from service.exchanges.done import autoconfirm_sweep
from service.exchanges.expiry import expire_exchange_holds
from service.exchanges.reminders import reminders_sweep
from service.limits import (
    SWEEPS_LEASE_PASSES,
    SWEEPS_LEASE_RELEASE_SECONDS,
    SWEEPS_LEASE_SECONDS,
)
from service.listings.digest import listing_digest_sweep
from service.listings.expiry import listing_expiry_sweep
from service.nodes.lease import NODE_ID, SWEEPS_LEASE, lease_release, lease_take
from service.nodes.passes import sweep_pass_begin, sweep_pass_end

logger = logging.getLogger("timebank.sweeps")


async def expiry_sweeps_forever(
    *, engine: Engine[Any], ledger: Ledger, interval_seconds: float
) -> None:
    """The lifespan task: every `interval_seconds`, until cancelled, sweep for expired holds,
    queue due exchange reminders (ADR 0022), then raise floors lowered by dispute overrides
    as far as the members' hours allow."""
    lease_seconds = SWEEPS_LEASE_PASSES * interval_seconds
    while True:
        await asyncio.sleep(interval_seconds)
        await sweeps_pass(engine=engine, ledger=ledger, lease_seconds=lease_seconds)


async def sweeps_pass(
    *, engine: Engine[Any], ledger: Ledger, lease_seconds: float = SWEEPS_LEASE_SECONDS
) -> bool:
    """One pass of every sweep, if this node holds the sweeps lease (else False: another
    node sweeps this time). Each pass is recorded (service/nodes/passes.py)."""
    taken_at = utc_now()
    if not await _sweeps_lease_taken(engine, taken_at, lease_seconds):
        return False
    try:
        pass_id = await sweep_pass_begin(
            engine=engine,
            holder=NODE_ID,
            now=utc_now(),
            lease_expires_at=taken_at + timedelta(seconds=lease_seconds),
        )
    except Exception:
        logger.exception("could not record the sweeps pass; skipping it")
        return False
    try:
        await _every_sweep(engine, ledger)
    finally:
        # Also when the task is cancelled mid-pass (shutdown): the pass stopped here,
        # and the lease is released next, so another node may start one at once.
        with contextlib.suppress(Exception):
            await sweep_pass_end(engine=engine, pass_id=pass_id, now=utc_now())
    return True


async def _every_sweep(engine: Engine[Any], ledger: Ledger) -> None:
    # Before expiry: an exchange marked done completes rather than lose its hold.
    await _sweep(
        "exchange(s) confirmed by themselves",
        lambda: autoconfirm_sweep(engine=engine, ledger=ledger, now=utc_now()),
    )
    await _sweep("expired exchange(s)", lambda: expire_exchange_holds(engine=engine, ledger=ledger))
    await _sweep("exchange reminder(s)", lambda: reminders_sweep(engine=engine, now=utc_now()))
    await _sweep(
        "weekly listing digest(s)", lambda: listing_digest_sweep(engine=engine, now=utc_now())
    )
    await _sweep(
        "listing renewal reminder(s)",
        lambda: listing_expiry_sweep(engine=engine, now=utc_now()),
    )
    await _sweep(
        "safeguarding check warning(s)",
        lambda: checks_expiry_sweep(engine=engine, now=utc_now()),
    )
    await _sweep("event reminder(s)", lambda: events_reminder_sweep(engine=engine, now=utc_now()))
    await _sweep(
        "overridden floor(s) raised",
        lambda: restore_overridden_floors(engine=engine, ledger=ledger),
    )


async def _sweeps_lease_taken(engine: Engine[Any], now: datetime, lease_seconds: float) -> bool:
    """Whether this node sweeps this pass; a database that cannot answer means no."""
    try:
        return await lease_take(
            engine=engine,
            name=SWEEPS_LEASE,
            holder=NODE_ID,
            now=now,
            lease_seconds=lease_seconds,
        )
    except Exception:
        logger.exception("could not take the sweeps lease")
        return False


async def _sweep(name: str, run: Callable[[], Awaitable[int]]) -> None:
    """One sweep; a failure is logged and retried next time, and never stops the others."""
    try:
        done = await run()
    except Exception:
        logger.exception("sweep failed: %s", name)
    else:
        if done:
            logger.info("%d %s", done, name)


@contextlib.asynccontextmanager
async def exchange_expiry_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Run the sweeps every `sweeps_interval_seconds` (a setting) while the app runs."""
    task = asyncio.create_task(
        expiry_sweeps_forever(
            engine=app.state.engine,
            ledger=app.state.ledger,
            interval_seconds=app.state.settings.sweeps_interval_seconds,
        ),
        name="exchange-expiry-sweep",
    )
    app.state.exchange_expiry_task = task
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # Another node need not wait for the lease to run out; a database that does
        # not answer in time must not hold the shutdown up (the lease runs out anyway).
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                lease_release(
                    engine=app.state.engine, name=SWEEPS_LEASE, holder=NODE_ID, now=utc_now()
                ),
                SWEEPS_LEASE_RELEASE_SECONDS,
            )
