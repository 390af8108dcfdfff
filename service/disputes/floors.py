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

from ledger import Account, Ledger, LedgerError, LimitsBelowPosition, WriteTransaction, run_write
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


# Ratcheting the floor back up, and a raised ceiling back down ------------------

FLOOR_OVERRIDE_ACTION = "account.floor_override"  # written when a dispute moves the floor
CEILING_OVERRIDE_ACTION = "account.ceiling_override"  # written when a dispute raises a ceiling
ADMIN_LIMITS_ACTION = "account.limits"  # written when an admin sets limits in the console
FLOOR_RESTORED_ACTION = "account.floor_restored"
CEILING_RESTORED_ACTION = "account.ceiling_restored"
RESTORER_LABEL = "system:floor-restore"
_OVERRIDE_ACTIONS = [FLOOR_OVERRIDE_ACTION, CEILING_OVERRIDE_ACTION]


@dataclass(frozen=True, slots=True)
class _Override:
    """The limits an account's overrides in force started from, and whose account it is."""

    account_id: uuid.UUID
    agreed_floor_minutes: int | None
    agreed_ceiling_minutes: int | None
    community_id: uuid.UUID | None


async def restore_overridden_floors(*, engine: Engine[Any], ledger: Ledger) -> int:
    """Move limits a dispute override moved back as the member's position allows; how many.

    For each override in force the ledger floor becomes min(agreed floor,
    available balance) when that is above the current floor, so the member can
    never spend back down into the room the correction made; a raised ceiling
    becomes max(agreed ceiling, balance and incoming holds) when that is below
    the current one. Once a limit is back where it was agreed the override is
    over. An admin's limits change made after an override ends it: the admin's
    figure stands. Each account is re-read under its row lock, and its overrides
    re-read after the lock is held, so an admin change made meanwhile is never
    overwritten (see `_overrides_of`).
    """
    restored = 0
    for account_id in await _overridden_account_ids():
        if await _restore_one(engine, ledger, account_id):
            restored += 1
    return restored


async def _overridden_account_ids() -> list[uuid.UUID]:
    rows = (
        await AuditEntry.select(AuditEntry.target_id)
        .where((AuditEntry.target_type == "account") & AuditEntry.action.is_in(_OVERRIDE_ACTIONS))
        .distinct()
        .run()
    )
    return sorted(uuid.UUID(row["target_id"]) for row in rows)


async def _overrides_of(account_id: uuid.UUID) -> _Override | None:
    """The account's overrides not since superseded by an admin's limits change.

    The rule reads the account's audit log, newest first: the override entries
    before the first admin limits entry are in force; the agreed floor is the
    highest floor any of them started from (a second override starts from the
    first one's lowered floor), the agreed ceiling the lowest. Audit lines share
    one clock, so the order is the order the changes were made in.
    """
    entries = (
        await AuditEntry.select(AuditEntry.action, AuditEntry.before_json, AuditEntry.community)
        .where(
            (AuditEntry.target_type == "account")
            & (AuditEntry.target_id == str(account_id))
            & AuditEntry.action.is_in([*_OVERRIDE_ACTIONS, ADMIN_LIMITS_ACTION])
        )
        .order_by(AuditEntry.at, ascending=False)
        .run()
    )
    floors: list[int] = []
    ceilings: list[int] = []
    community_id = None
    for entry in entries:
        if entry["action"] == ADMIN_LIMITS_ACTION:
            break
        before = json.loads(entry["before_json"])
        if before.get("floor_minutes") is not None:
            floors.append(int(before["floor_minutes"]))
        if before.get("ceiling_minutes") is not None:
            ceilings.append(int(before["ceiling_minutes"]))
        community_id = community_id or entry["community"]
    if not floors and not ceilings:
        return None
    return _Override(
        account_id,
        max(floors) if floors else None,
        min(ceilings) if ceilings else None,
        community_id,
    )


def _restored_floor(override: _Override, account: Account) -> int | None:
    """The floor to raise to, or None when it stays."""
    floor, agreed = account.floor_minor, override.agreed_floor_minutes
    if floor is None or agreed is None:
        return None
    new_floor = min(agreed, account.available_minor)
    return new_floor if new_floor > floor else None


def _restored_ceiling(override: _Override, account: Account) -> int | None:
    """The ceiling to lower to, or None when it stays."""
    ceiling, agreed = account.ceiling_minor, override.agreed_ceiling_minutes
    if ceiling is None or agreed is None:
        return None
    position = account.balance_minor + account.credits_pending_minor
    new_ceiling = max(agreed, position)
    return new_ceiling if new_ceiling < ceiling else None


async def _restore_one(engine: Engine[Any], ledger: Ledger, account_id: uuid.UUID) -> bool:
    """Move one account's overridden limits back as far as its position allows, audited."""

    async def work(_transaction: WriteTransaction) -> bool:
        account = await ledger.account(account_id=account_id, lock=True)
        # Read after the lock: an admin's change committed meanwhile is seen here.
        override = await _overrides_of(account_id)
        if override is None or account.closed_at is not None:
            return False
        new_floor = _restored_floor(override, account)
        new_ceiling = _restored_ceiling(override, account)
        if new_floor is None and new_ceiling is None:
            return False
        await ledger.set_limits(
            account_id=account_id,
            floor_minor=account.floor_minor if new_floor is None else new_floor,
            ceiling_minor=account.ceiling_minor if new_ceiling is None else new_ceiling,
        )
        moved = (
            (_FLOOR, account.floor_minor, override.agreed_floor_minutes, new_floor),
            (_CEILING, account.ceiling_minor, override.agreed_ceiling_minutes, new_ceiling),
        )
        for restoring, was, agreed, now in moved:
            if now is not None:
                await _audit_restored(restoring, override, was=was, agreed=agreed, now=now)
        return True

    try:
        restored: bool = await run_write(engine, work)
    except LedgerError as error:
        # Spent in the meantime (the limits check runs under the account lock): next sweep.
        if not isinstance(error, LimitsBelowPosition):
            raise
        return False
    return restored


@dataclass(frozen=True, slots=True)
class _Restoring:
    """What one restored limit is called in the audit log, and why it moved."""

    limit: str  # "floor" or "ceiling"
    action: str
    reason: str


_FLOOR = _Restoring(
    "floor", FLOOR_RESTORED_ACTION, "The member earned hours back after a dispute correction."
)
_CEILING = _Restoring(
    "ceiling",
    CEILING_RESTORED_ACTION,
    "The member spent hours after a dispute correction raised their ceiling.",
)


async def _audit_restored(
    restoring: _Restoring, override: _Override, *, was: int | None, agreed: int | None, now: int
) -> None:
    await audit_record(
        actor_id=None,
        actor_label=RESTORER_LABEL,
        action=restoring.action,
        target_type="account",
        target_id=str(override.account_id),
        community_id=override.community_id,
        reason=restoring.reason,
        before={
            f"{restoring.limit}_minutes": was,
            f"agreed_{restoring.limit}_minutes": agreed,
        },
        after={f"{restoring.limit}_minutes": now, "override_over": now == agreed},
    )
