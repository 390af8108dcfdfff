"""How far an account stands below its agreed floor after a dispute override.

Kept apart from the dispute rules so the members' account summary can read it
without importing the exchange and dispute services (which import members).
"""

from __future__ import annotations

import uuid

from service.disputes.tables import DisputeCorrection


async def below_floor_minutes(account_id: uuid.UUID, balance_minutes: int) -> int:
    """How far an account stands below the floor it had before a dispute override moved it."""
    row = (
        await DisputeCorrection.select(DisputeCorrection.agreed_floor_minutes)
        .where(
            (DisputeCorrection.provider_account_id == account_id)
            & DisputeCorrection.agreed_floor_minutes.is_not_null()
        )
        .order_by(DisputeCorrection.agreed_floor_minutes, ascending=False)
        .first()
        .run()
    )
    if row is None:
        return 0
    return max(0, int(row["agreed_floor_minutes"]) - balance_minutes)
