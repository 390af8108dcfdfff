"""Closing an account: settle the balance with the pool, erase personal data."""

from __future__ import annotations

import uuid
from typing import Any

from piccolo.engine.base import Engine

from ledger import (
    ExpirePending,
    Ledger,
    LedgerError,
    PendingAlreadyResolved,
    PendingExpired,
    Unit,
    WriteTransaction,
    expire_id,
    run_write,
)
from service import clock
from service.http.principal_cache import principals_changed
from service.i18n import _, use_language
from service.mail.notices import notices_erase
from service.members.accounts import (
    closure_transfer_id,
)
from service.members.audit import audit_record
from service.members.closure_steps import run_closure_steps
from service.members.communities import community_by_id
from service.members.services import member_by_id
from service.members.tables import (
    AdminNote,
    ApiToken,
    Community,
    Member,
    RoleGrant,
    WebSession,
)
from service.principal import (
    Principal,
)

FORMER_MEMBER_NAME = "Former member"


async def member_close(*, engine: Engine[Any], ledger: Ledger, principal: Principal) -> None:
    """Close the account: settle the balance with the pool, erase personal data.

    A positive balance is donated to the community pool; a debt is written
    off from the pool if it can cover it, else from the issuance account. The
    ledger account is then closed, so the history stays balanced and
    verifiable while the person behind it is gone from the database.
    """
    member = await member_by_id(principal.member_id)
    community = await community_by_id(member.community)

    async def work(_transaction: WriteTransaction) -> None:
        # Open exchanges are called off first (their holds voided through them).
        await run_closure_steps(engine=engine, ledger=ledger, principal=principal)
        await settle_for_closure(ledger, community, member)
        await notices_erase(member.id)
        # Admins' private notes are personal data about the member (ADR 0033).
        await AdminNote.delete().where(AdminNote.member == member.id).run()
        await ledger.close_account(account_id=member.hour_account_id)
        now = clock.utc_now()
        principals_changed()  # the version moves once this commits (ADR 0043)
        await (
            Member.update(
                {
                    Member.email: None,
                    Member.password_hash: None,
                    Member.display_name: FORMER_MEMBER_NAME,
                    Member.ward: "",
                    Member.phone: "",
                    Member.skills: "",
                    Member.help_wanted: "",
                    Member.status: "closed",
                    Member.closed_at: now,
                }
            )
            .where(Member.id == member.id)
            .run()
        )
        await (
            WebSession.update({WebSession.ended_at: now})
            .where((WebSession.member == member.id) & WebSession.ended_at.is_null())
            .run()
        )
        await (
            ApiToken.update({ApiToken.revoked_at: now})
            .where((ApiToken.member == member.id) & ApiToken.revoked_at.is_null())
            .run()
        )
        await (
            RoleGrant.update({RoleGrant.revoked_at: now, RoleGrant.revoke_reason: "account closed"})
            .where((RoleGrant.member == member.id) & RoleGrant.revoked_at.is_null())
            .run()
        )
        await audit_record(
            actor_id=member.id,
            actor_label=principal.label,
            action="member.close",
            target_type="member",
            target_id=str(member.id),
            community_id=member.community,
            reason="closed by the member",
        )

    # A deadlock with a concurrent exchange retries the whole closure (ADR 0003).
    await run_write(engine, work)


async def settle_for_closure(ledger: Ledger, community: Community, member: Member) -> None:
    await void_open_holds(ledger, member)
    balance = (await ledger.balance(account_id=member.hour_account_id)).balance_minor
    if balance == 0:
        return
    pool = community.pool_account_id
    if balance > 0:
        debit, credit = member.hour_account_id, pool
    else:
        pool_available = (await ledger.balance(account_id=pool)).available_minor
        debit = pool if pool_available >= -balance else community.issuance_account_id
        credit = member.hour_account_id
    with use_language(member.language):  # the statement it stays on is theirs
        memo = _("Balance settled when the account was closed")
    await ledger.transfer(
        id=closure_transfer_id(member.id),
        debit_account_id=debit,
        credit_account_id=credit,
        amount_minor=abs(balance),
        unit=Unit.HOUR,
        code="closure",
        actor=f"member:{member.id}",
        memo=memo,
    )


async def void_open_holds(ledger: Ledger, member: Member) -> None:
    """Holds on the member's hours end with the account (exchanges cancel them first)."""
    for pending_id in await ledger.open_pending_ids(account_id=member.hour_account_id):
        try:
            await ledger.void_pending(
                id=uuid.uuid5(pending_id, "closure-void"),
                pending_id=pending_id,
                actor=f"member:{member.id}",
                memo="account closed",
            )
        except LedgerError as error:
            if isinstance(error, PendingExpired):
                # Its expiry passed before the sweeper ran: expire it as the sweeper
                # would (same derived id), or the account could never be closed.
                await ledger.execute(
                    operation=ExpirePending(
                        id=expire_id(pending_id),
                        pending_id=pending_id,
                    )
                )
            elif not isinstance(error, PendingAlreadyResolved):
                raise
