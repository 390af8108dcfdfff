"""A member's hour account as they see it: the ledger's figures and how far a dispute
override left them below the floor they had agreed (ADR 0007).

Every signed-in page and client reads this, so it is one hand-written statement
(the account row and the highest agreed floor of its dispute corrections) on a
point read (on SQLite, on the loop's own thread: ADR 0053), with no ORM query
building on the way.
"""

from __future__ import annotations

from typing import Any

from ledger import Ledger
from ledger.rows import ACCOUNT_COLUMNS, account_state
from service import database
from service.members import services as members
from service.principal import Principal

_ACCOUNT_AND_AGREED_FLOOR_SQL = (
    f"SELECT {ACCOUNT_COLUMNS}, "
    "(SELECT MAX(agreed_floor_minutes) FROM dispute_correction "
    " WHERE provider_account_id = $1) AS agreed_floor_minutes "
    "FROM ledger_account WHERE id = $1"
)


async def account_of(*, ledger: Ledger, principal: Principal) -> dict[str, Any]:
    account_id = await members.hour_account_of(principal)
    async with database.point_read() as connection:
        row = await connection.fetchrow(_ACCOUNT_AND_AGREED_FLOOR_SQL, account_id)
    if row is None:  # the ledger's own read says which error it is
        await ledger.account(account_id=account_id)
        raise AssertionError("unreachable")  # pragma: no cover
    account = account_state(row).to_account()
    agreed_floor = row["agreed_floor_minutes"]
    below_floor = 0 if agreed_floor is None else max(0, int(agreed_floor) - account.balance_minor)
    return {
        "unit": account.unit.value,
        "balance_minutes": account.balance_minor,
        "pending_minutes": account.debits_pending_minor,
        "available_minutes": account.available_minor,
        "floor_minutes": account.floor_minor,
        "ceiling_minutes": account.ceiling_minor,
        "below_floor_minutes": below_floor,
    }
