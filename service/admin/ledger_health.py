"""Ledger health for admins: the full verification, the trial balances, and the
ledger's owner labels in words (a member's name, a community account's purpose).

Reads only: nothing changes, so nothing is written to the audit log.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from ledger import Ledger, TrialBalance, Unit, VerifyReport
from service.admin.services import SYSTEM_PURPOSE_NAMES, member_names, owner_parts
from service.i18n import _
from service.members.tables import Community
from service.principal import Principal, require_admin


async def ledger_verify(*, actor: Principal, ledger: Ledger) -> VerifyReport:
    """Recompute every hash chain, running balance, account row and per-unit sum.

    A read: nothing changes, so nothing is written to the audit log.
    """
    require_admin(actor)
    return await ledger.verify()


async def trial_balances(*, actor: Principal, ledger: Ledger) -> list[TrialBalance]:
    """Every account's posted balance, one trial balance per unit."""
    require_admin(actor)
    return [await ledger.trial_balance(unit=unit) for unit in Unit]


@dataclass(frozen=True, slots=True)
class OwnerName:
    text: str
    member_id: uuid.UUID | None


async def owner_names(owners: Sequence[str]) -> dict[str, OwnerName]:
    """Ledger owner labels in words: a member's name, or a community's account by purpose."""
    parsed = {owner: owner_parts(owner) for owner in owners}
    members = await member_names(
        owner_id for kind, owner_id, _unused in parsed.values() if kind == "member"
    )
    communities = {c.id: c.name for c in await Community.objects().run()}
    names = {}
    for owner, (kind, owner_id, purpose) in parsed.items():
        if kind == "member" and owner_id is not None:
            names[owner] = OwnerName(members.get(owner_id) or _("Unknown member"), owner_id)
        elif kind == "community" and owner_id is not None:
            community = communities.get(owner_id) or _("Unknown community")
            purpose_words = (
                _(SYSTEM_PURPOSE_NAMES[purpose]) if purpose in SYSTEM_PURPOSE_NAMES else purpose
            )
            names[owner] = OwnerName(f"{community}: {purpose_words}", None)
        else:
            names[owner] = OwnerName(owner, None)
    return names
