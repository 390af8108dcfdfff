"""A record of every sweeps pass: which node ran it, when it started and finished.

The lease (lease.py) is what keeps passes apart; this record is how anyone can check
afterwards that it did (the cluster fault test, ADR 0049): passes by different nodes
never overlap, and a pass that never finished (its node was killed) is followed by
another node's only after its lease ran out.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from piccolo.engine.base import Engine

from ledger import WriteTransaction, run_write
from service.limits import SWEEP_PASSES_KEPT_DAYS
from service.nodes.tables import SweepPass


async def sweep_pass_begin(
    *, engine: Engine[Any], holder: str, now: datetime, lease_expires_at: datetime
) -> uuid.UUID:
    """Record a pass starting now under a lease until `lease_expires_at` (and drop
    records older than SWEEP_PASSES_KEPT_DAYS)."""
    pass_id = uuid.uuid4()

    async def work(_transaction: WriteTransaction) -> None:
        await SweepPass.delete().where(
            SweepPass.started_at < now - timedelta(days=SWEEP_PASSES_KEPT_DAYS)
        )
        await SweepPass.insert(
            SweepPass(
                id=pass_id,
                holder=holder,
                started_at=now,
                lease_expires_at=lease_expires_at,
                finished_at=None,
            )
        )

    await run_write(engine, work)
    return pass_id


async def sweep_pass_end(*, engine: Engine[Any], pass_id: uuid.UUID, now: datetime) -> None:
    async def work(_transaction: WriteTransaction) -> None:
        await SweepPass.update({SweepPass.finished_at: now}).where(SweepPass.id == pass_id)

    await run_write(engine, work)
