"""Mail to a member: their address, name and time bank's name, for the outbox (ADR 0022).

Features call `mail_member` inside the write transaction of the event that
causes the message; the outbox (service/mail/) applies the member's preference.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from piccolo.engine.base import Engine

from ledger import run_write
from ledger.transactions import WriteTransaction
from service.i18n import DEFAULT_LANGUAGE
from service.mail.notices import notice_add
from service.mail.outbox import mail_to_member
from service.members.tables import Member


async def mail_member(
    transaction: WriteTransaction,
    *,
    member_id: uuid.UUID,
    kind: str,
    context: Mapping[str, Any],
    account_mail: bool = False,
) -> uuid.UUID | None:
    """Queue `kind` for the member; None when they have no address (closed) or chose `off`.

    Event mail (not `account_mail`) is also an in-app notice, written whether or not
    the mail goes: a member without email or with mail off still sees it.
    """
    row = (
        await Member.select(
            Member.email,
            Member.display_name,
            Member.status,
            Member.language,
            Member.community.name.as_alias("community_name"),
        )
        .where(Member.id == member_id)
        .first()
        .run()
    )
    if row is None or row["status"] == "closed":
        return None
    names = {
        "display_name": row["display_name"],
        "community_name": row["community_name"],
        # The mail is written in the reader's language (service/mail/compose.py); none chosen:
        # English, as a mail has no browser to ask.
        "language": row["language"] or DEFAULT_LANGUAGE,
    }
    if not account_mail:
        await notice_add(transaction, member_id=member_id, kind=kind, context={**names, **context})
    if not row["email"]:
        return None
    return await mail_to_member(
        transaction,
        member_id=member_id,
        to_address=row["email"],
        names=names,
        kind=kind,
        context=context,
        account_mail=account_mail,
    )


async def membership_mail(
    transaction: WriteTransaction, *, member_id: uuid.UUID, approved: bool, reason: str = ""
) -> None:
    await mail_member(
        transaction,
        member_id=member_id,
        kind="membership_approved" if approved else "membership_declined",
        context={"reason": reason},
    )


async def register_taken_mail(*, engine: Engine[Any], email: str) -> None:
    """Someone tried to join with a member's address: tell that member.

    In a transaction of its own, because the refused registration wrote nothing.
    """
    owner = await Member.select(Member.id).where(Member.email == email).first().run()
    if owner is None:
        return

    async def work(transaction: WriteTransaction) -> None:
        await mail_member(
            transaction,
            member_id=owner["id"],
            kind="register_taken",
            context={},
            account_mail=True,
        )

    await run_write(engine, work)
