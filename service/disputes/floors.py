"""How far an account stands below its agreed floor after a dispute override, and
raising the lowered floor back as the member earns hours again (ADR 0007).

Kept apart from the dispute rules so the members' account summary can read it
without importing the exchange and dispute services (which import members).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from piccolo.engine.base import Engine

from ledger import Ledger, LedgerError, WriteTransaction, run_write
from service.disputes.tables import DisputeCorrection
from service.members.audit import audit_record
from service.members.tables import AuditEntry


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


# Ratcheting the floor back up --------------------------------------------------

FLOOR_OVERRIDE_ACTION = "account.floor_override"  # written when a dispute moves the floor
ADMIN_LIMITS_ACTION = "account.limits"  # written when an admin sets limits in the console
FLOOR_RESTORED_ACTION = "account.floor_restored"
RESTORER_LABEL = "system:floor-restore"


@dataclass(frozen=True, slots=True)
class _Override:
    """An override still in force: the floor to climb back to, and whose account it is."""

    account_id: uuid.UUID
    agreed_floor_minutes: int
    community_id: uuid.UUID | None


async def restore_overridden_floors(*, engine: Engine[Any], ledger: Ledger) -> int:
    """Raise lowered floors as overridden accounts earn hours back; how many moved.

    For each override in force the ledger floor becomes min(agreed floor,
    available balance) when that is above the current floor, so the member can
    never spend back down into the room the correction made. Once the floor is
    back at the agreed floor the override is over. An admin's limits change made
    after an override ends it: the admin's figure stands (see `_overrides_in_force`).
    """
    restored = 0
    for override in await _overrides_in_force():
        if await _restore_one(engine, ledger, override):
            restored += 1
    return restored


async def _overrides_in_force() -> list[_Override]:
    """Accounts with a dispute override not since superseded by an admin's limits change.

    The rule reads the audit log of each account, newest first: the override
    entries before the first admin limits entry are in force, and the agreed
    floor is the highest floor any of them started from (a second override
    starts from the first one's lowered floor). Audit lines share one clock,
    so the order is the order the changes were made in.
    """
    rows = (
        await DisputeCorrection.select(DisputeCorrection.provider_account_id)
        .where(DisputeCorrection.agreed_floor_minutes.is_not_null())
        .distinct()
        .run()
    )
    account_ids = [str(row["provider_account_id"]) for row in rows]
    if not account_ids:
        return []
    entries = (
        await AuditEntry.select(
            AuditEntry.target_id, AuditEntry.action, AuditEntry.before_json, AuditEntry.community
        )
        .where(
            (AuditEntry.target_type == "account")
            & AuditEntry.target_id.is_in(account_ids)
            & AuditEntry.action.is_in([FLOOR_OVERRIDE_ACTION, ADMIN_LIMITS_ACTION])
        )
        .order_by(AuditEntry.at, ascending=False)
        .run()
    )
    by_account: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_account.setdefault(entry["target_id"], []).append(entry)
    found = (
        _override_of(account_id, newest_first) for account_id, newest_first in by_account.items()
    )
    return [override for override in found if override is not None]


def _override_of(account_id: str, newest_first: list[dict[str, Any]]) -> _Override | None:
    floors: list[int] = []
    community_id = None
    for entry in newest_first:
        if entry["action"] == ADMIN_LIMITS_ACTION:
            break
        floor = json.loads(entry["before_json"]).get("floor_minutes")
        if floor is not None:
            floors.append(int(floor))
            community_id = community_id or entry["community"]
    if not floors:
        return None
    return _Override(uuid.UUID(account_id), max(floors), community_id)


async def _restore_one(engine: Engine[Any], ledger: Ledger, override: _Override) -> bool:
    """Raise one account's floor as far as its available balance allows, with its audit line."""

    async def work(_transaction: WriteTransaction) -> bool:
        account = await ledger.account(account_id=override.account_id)
        floor = account.floor_minor
        if floor is None or account.closed_at is not None:
            return False
        new_floor = min(override.agreed_floor_minutes, account.available_minor)
        if new_floor <= floor:
            return False
        await ledger.set_limits(
            account_id=account.id, floor_minor=new_floor, ceiling_minor=account.ceiling_minor
        )
        await audit_record(
            actor_id=None,
            actor_label=RESTORER_LABEL,
            action=FLOOR_RESTORED_ACTION,
            target_type="account",
            target_id=str(account.id),
            community_id=override.community_id,
            reason="The member earned hours back after a dispute correction.",
            before={"floor_minutes": floor, "agreed_floor_minutes": override.agreed_floor_minutes},
            after={
                "floor_minutes": new_floor,
                "override_over": new_floor == override.agreed_floor_minutes,
            },
        )
        return True

    try:
        restored: bool = await run_write(engine, work)
    except LedgerError as error:
        # Spent in the meantime (the floor check runs under the account lock): next sweep.
        if error.code != "limits_below_position":
            raise
        return False
    return restored
