"""A lease on background work, so that the sweeps run on one node at a time.

Every node runs the sweep loop; before each pass it takes (or renews) the lease. A
node that stops renewing (killed, hung, shut down) loses it when it expires, and the
next node to try takes it: no election, no extra service, the database decides. The
sweeps are idempotent anyway (ADR 0045): the lease keeps nodes from doing the same
work in parallel and racing each other to the same rows, not correctness.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any, Final

from piccolo.engine.base import Engine

from ledger import WriteTransaction, run_write
from service.nodes.tables import NodeLease

SWEEPS_LEASE: Final = "sweeps"  # the row the nodes migration seeds
HOLDER_CHARS_MAX: Final = 120

# This process, as the lease names it: host and pid say which node it is in logs; the
# random part keeps a restarted process with a reused pid from renewing its
# predecessor's lease.
NODE_ID: Final = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[-HOLDER_CHARS_MAX:]


async def lease_take(
    *,
    engine: Engine[Any],
    name: str,
    holder: str,
    now: datetime,
    lease_seconds: float,
) -> bool:
    """Take or renew the lease `name` for `holder` until now + lease_seconds.

    True when `holder` holds it now: it held it already, or its holder let it expire.
    One conditional UPDATE: two nodes asking at once cannot both win, on either engine
    (SQLite serialises writers; PostgreSQL re-checks the WHERE after the first commits).
    """
    until = now + timedelta(seconds=lease_seconds)

    async def work(_transaction: WriteTransaction) -> bool:
        taken = await (
            NodeLease.update({NodeLease.holder: holder, NodeLease.expires_at: until})
            .where(
                (NodeLease.name == name)
                & ((NodeLease.holder == holder) | (NodeLease.expires_at <= now))
            )
            .returning(NodeLease.name)
            .run()
        )
        return bool(taken)

    return await run_write(engine, work)


async def lease_release(*, engine: Engine[Any], name: str, holder: str, now: datetime) -> None:
    """Give the lease up at once (a node shutting down), so another node need not wait
    for it to expire. Nothing happens when `holder` does not hold it."""

    async def work(_transaction: WriteTransaction) -> None:
        await (
            NodeLease.update({NodeLease.expires_at: now})
            .where((NodeLease.name == name) & (NodeLease.holder == holder))
            .run()
        )

    await run_write(engine, work)


async def lease_holder(name: str) -> str | None:
    """Who holds the lease (for the admin's health page and tests); None if never taken."""
    row = await NodeLease.select(NodeLease.holder).where(NodeLease.name == name).first().run()
    return row["holder"] or None if row else None
