"""Ledger accounts of communities and members, with ids derived from their owners.

Deriving ids (UUIDv5) makes opening an account idempotent: a retried
registration or community creation opens the same account, never a second.
"""

from __future__ import annotations

import uuid

from ledger import LEDGER_NAMESPACE, Ledger, Unit

SYSTEM_ACCOUNTS: tuple[tuple[str, Unit, int | None], ...] = (
    # (purpose, unit, floor in minor units; None = no floor)
    ("issuance", Unit.HOUR, None),  # source of welcome credit: goes negative
    ("pool", Unit.HOUR, 0),  # donated hours: grants never overdraw it
    ("stripe_clearing", Unit.GBP, None),  # money in flight from Stripe
    ("donations", Unit.GBP, None),  # donation income
    ("fees", Unit.GBP, None),  # Stripe fees
)


def system_account_id(community_id: uuid.UUID, purpose: str) -> uuid.UUID:
    return uuid.uuid5(LEDGER_NAMESPACE, f"community:{community_id}:{purpose}")


def member_account_id(member_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(LEDGER_NAMESPACE, f"member:{member_id}:hours")


def welcome_transfer_id(member_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(LEDGER_NAMESPACE, f"member:{member_id}:welcome")


def closure_transfer_id(member_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(LEDGER_NAMESPACE, f"member:{member_id}:closure")


async def open_system_accounts(ledger: Ledger, community_id: uuid.UUID) -> dict[str, uuid.UUID]:
    opened: dict[str, uuid.UUID] = {}
    for purpose, unit, floor_minor in SYSTEM_ACCOUNTS:
        account = await ledger.open_account(
            unit=unit,
            owner=f"community:{community_id}:{purpose}",
            floor_minor=floor_minor,
            account_id=system_account_id(community_id, purpose),
        )
        opened[purpose] = account.id
    return opened
