"""A member's hour account as they see it: the ledger's figures and how far a dispute
override left them below the floor they had agreed (ADR 0007)."""

from __future__ import annotations

from typing import Any

from ledger import Ledger
from service.disputes.floors import below_floor_minutes
from service.members import services as members
from service.principal import Principal


async def account_of(*, ledger: Ledger, principal: Principal) -> dict[str, Any]:
    summary = await members.account_of(ledger=ledger, principal=principal)
    member = await members.member_by_id(principal.member_id)
    summary["below_floor_minutes"] = await below_floor_minutes(
        member.hour_account_id, summary["balance_minutes"]
    )
    return summary
