"""Writes: thanks after an exchange (issue 18 item 6), and what a closure erases.

Each party of a completed exchange may thank the other once: a short note, no stars.
A recipient thanks the helper; the helper thanks the one person they helped (in a
group, the one they name). A second note from the same party is 409
`thanks_already_given` (the table's unique key settles a race); an exchange not yet
completed is 409 `exchange_not_completed`; anyone not taking part gets 404, as if
the exchange did not exist. The receiver is told (a notice, and mail if they want
it) and may hide the note from their profile, or show it again.
"""

from __future__ import annotations

import uuid
from typing import Any

from piccolo.engine.base import Engine

from ledger import Ledger, run_write
from ledger.transactions import WriteTransaction
from service import clock
from service.checks.services import checks_erase
from service.errors import Conflict, invalid_field
from service.exchanges.panels import ThanksPanel
from service.exchanges.selectors import ExchangeView, visible_view
from service.i18n import _
from service.members.mailing import mail_member
from service.neighbours.schemas import ThanksIn, ThanksOut
from service.neighbours.selectors import thanks_out
from service.neighbours.tables import Thanks
from service.principal import Principal, not_found, require_active


def _already_thanked() -> Conflict:
    return Conflict(
        code="thanks_already_given",
        detail=_("You have already thanked them for this exchange."),
    )


def _receiver_of(view: ExchangeView, author_id: uuid.UUID, named: uuid.UUID | None) -> uuid.UUID:
    """Whom the author thanks: the helper, or (for the helper) the one they helped."""
    if author_id != view.provider_id:
        return view.provider_id
    recipients = view.recipient_ids
    if named is not None:
        if named not in recipients:
            raise invalid_field("to_member_id", _("is not someone you helped in this exchange"))
        return named
    if len(recipients) != 1:
        raise invalid_field("to_member_id", _("name the person you helped whom you thank"))
    return recipients[0]


async def party_view(actor: Principal, exchange_id: uuid.UUID) -> ExchangeView:
    """The exchange if the actor took part in it; 404 for everyone else (even coordinators)."""
    view = await visible_view(actor, exchange_id)
    if actor.member_id not in view.parties:
        raise not_found(_("That exchange"))
    return view


async def thanks_give(
    *, engine: Engine[Any], actor: Principal, exchange_id: uuid.UUID, data: ThanksIn
) -> ThanksOut:
    view = await party_view(actor, exchange_id)
    require_active(actor)
    if view.status != "completed":
        raise Conflict(
            code="exchange_not_completed",
            detail=_("You can thank them once the help has been confirmed."),
        )
    text = data.text.strip()
    if not text:
        raise invalid_field("text", _("cannot be blank"))
    receiver_id = _receiver_of(view, actor.member_id, data.to_member_id)
    thanks_id = uuid.uuid4()
    now = clock.utc_now()

    async def work(transaction: WriteTransaction) -> None:
        given = await Thanks.exists().where(
            (Thanks.exchange == exchange_id) & (Thanks.author == actor.member_id)
        )
        if given:
            raise _already_thanked()
        await Thanks.insert(
            Thanks(
                id=thanks_id,
                exchange=exchange_id,
                author=actor.member_id,
                receiver=receiver_id,
                text=text,
                created_at=now,
            )
        ).run()
        await mail_member(
            transaction,
            member_id=receiver_id,
            kind="thanks_received",
            context={
                "author_name": view.name_of(actor.member_id),
                "text": text,
                "receiver_id": str(receiver_id),
                "exchange_id": str(exchange_id),
            },
        )

    try:
        await run_write(engine, work)
    except Conflict:
        raise
    except Exception as error:
        # Two notes at once: the unique (exchange, author) key refused the second.
        if await Thanks.exists().where(
            (Thanks.exchange == exchange_id) & (Thanks.author == actor.member_id)
        ):
            raise _already_thanked() from error
        raise
    return ThanksOut(
        id=thanks_id,
        exchange_id=exchange_id,
        author_id=actor.member_id,
        author_name=view.name_of(actor.member_id),
        receiver_id=receiver_id,
        text=text,
        created_at=now,
        hidden=False,
    )


async def thanks_given_for(actor: Principal, exchange_id: uuid.UUID) -> Thanks | None:
    """The actor's note for this exchange, if they wrote one (the exchange page asks)."""
    found: Thanks | None = (
        await Thanks.objects()
        .where((Thanks.exchange == exchange_id) & (Thanks.author == actor.member_id))
        .first()
        .run()
    )
    return found


async def thanks_panel(*, actor: Principal, view: ExchangeView) -> ThanksPanel:
    """What the exchange page shows about thanks to this viewer (plugged in by the app)."""
    if view.status != "completed" or actor.member_id not in view.parties:
        return ThanksPanel(can_thank=False, given_text=None)
    given = await thanks_given_for(actor, view.id)
    if given is None:
        return ThanksPanel(can_thank=True, given_text=None)
    return ThanksPanel(can_thank=False, given_text=given.text)


async def thanks_set_hidden(
    *, engine: Engine[Any], actor: Principal, thanks_id: uuid.UUID, hidden: bool
) -> ThanksOut:
    """The receiver hides a note from their profile, or shows it again; others get 404."""
    row = await Thanks.select(Thanks.receiver).where(Thanks.id == thanks_id).first().run()
    if row is None or row["receiver"] != actor.member_id:
        raise not_found(_("That thank-you note"))

    async def work(_transaction: WriteTransaction) -> None:
        await (
            Thanks.update({Thanks.hidden_at: clock.utc_now() if hidden else None})
            .where(Thanks.id == thanks_id)
            .run()
        )

    await run_write(engine, work)
    rows = (
        await Thanks.select(
            Thanks.id,
            Thanks.exchange,
            Thanks.author,
            Thanks.author.display_name.as_alias("author_name"),
            Thanks.receiver,
            Thanks.text,
            Thanks.created_at,
            Thanks.hidden_at,
        )
        .where(Thanks.id == thanks_id)
        .run()
    )
    return thanks_out(rows[0])


async def neighbours_erase_for_closure(
    *, engine: Engine[Any], ledger: Ledger, principal: Principal
) -> None:
    """Closure step (inside the closure's transaction): the member's checks and the
    thank-you notes they wrote or received go with their personal data."""
    del engine, ledger  # the step's signature; nothing here touches hours
    member_id = principal.member_id
    await checks_erase([member_id])
    await Thanks.delete().where((Thanks.author == member_id) | (Thanks.receiver == member_id)).run()
