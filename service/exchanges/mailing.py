"""Which event mails whom, and with what words: called inside each event's own transaction.

Each feature calls one function here from the write transaction that changes
its state, so the message commits (or rolls back) with the change itself:

    exchange proposed  -> every other party          (exchange_proposed)
    exchange accepted  -> every other party, once all have agreed (exchange_accepted)
    exchange completed -> the provider: hours received (exchange_completed)
    marked done        -> the recipients: please confirm by a date (exchange_marked_done)
    confirmed by itself-> the recipients (exchange_autoconfirmed) and the provider
                          (exchange_completed_by_itself)
    closure cancelled  -> the other parties (exchange_cancelled_closure)
    declined           -> the other parties, with the reason if given (exchange_declined)
    dispute opened     -> the other parties           (dispute_opened)
    dispute decided    -> every party                 (dispute_decided)

Reminders come from the sweep (service/exchanges/reminders.py); membership mail
is in service/members/mailing.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from ledger.transactions import WriteTransaction
from service.exchanges.tables import Exchange, ExchangeRecipient
from service.formatting import date_words
from service.i18n import N_
from service.members.mailing import mail_member
from service.members.tables import Member

# Phrases: the mail translates its `outcome_words` in the reader's language.
DISPUTE_OUTCOME_WORDS = {
    "upheld": N_("the exchange stands as it was"),
    "reversed": N_("the hours have gone back"),
    "adjusted": N_("some of the hours have gone back"),
}


async def _names(member_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    ids = list(member_ids)
    rows = await Member.select(Member.id, Member.display_name).where(Member.id.is_in(ids)).run()
    return {row["id"]: row["display_name"] for row in rows}


async def exchange_facts(exchange_id: uuid.UUID) -> dict[str, Any]:
    """Provider, recipients and what the exchange is, read inside the caller's transaction."""
    exchange = await Exchange.objects().where(Exchange.id == exchange_id).first().run()
    assert exchange is not None, "exchanges are never deleted"  # noqa: S101
    recipients = [
        row["member"]
        for row in await ExchangeRecipient.select(ExchangeRecipient.member)
        .where(ExchangeRecipient.exchange == exchange_id)
        .run()
    ]
    return facts_of(exchange, recipients)


def facts_of(exchange: Exchange, recipient_ids: Sequence[uuid.UUID]) -> dict[str, Any]:
    """`exchange_facts` from an exchange the caller holds (none of these fields ever change)."""
    exchange_id: uuid.UUID = exchange.id
    return {
        "provider": exchange.provider,
        "recipients": list(recipient_ids),
        "minutes": exchange.minutes,
        "description": exchange.description,
        "service_date": date_words(exchange.service_date),
        "service_on": exchange.service_date.isoformat(),
        "exchange_id": str(exchange_id),
    }


async def mail_parties(
    transaction: WriteTransaction,
    *,
    kind: str,
    facts: dict[str, Any],
    to: Iterable[uuid.UUID],
    other_id: uuid.UUID | None,
    **extra: Any,
) -> None:
    recipients = [member for member in to if member != other_id]
    names = await _names([*recipients, *([other_id] if other_id else [])])
    context = {key: value for key, value in facts.items() if key not in ("provider", "recipients")}
    for member in recipients:
        other_name = names.get(other_id) if other_id else None
        await mail_member(
            transaction,
            member_id=member,
            kind=kind,
            context={
                **context,
                "other_name": other_name or "A coordinator",
                **({} if other_name else {"other_unnamed": True}),
                **extra,
            },
        )


async def exchange_event_mail(
    transaction: WriteTransaction,
    *,
    exchange_id: uuid.UUID,
    event: str,
    actor_id: uuid.UUID | None,
    known: tuple[Exchange, Sequence[uuid.UUID]] | None = None,
    **extra: Any,
) -> None:
    """Mail for an exchange's `event` (proposed, accepted, completed, ...) by `actor_id`.

    `known`: the exchange and its recipients if the caller holds them (two reads fewer).
    """
    facts = await exchange_facts(exchange_id) if known is None else facts_of(*known)
    parties = [facts["provider"], *facts["recipients"]]
    if event in LATER_EVENTS:
        await LATER_EVENTS[event](transaction, facts, actor_id, **extra)
        return
    if event == "proposed":
        await mail_parties(
            transaction, kind="exchange_proposed", facts=facts, to=parties, other_id=actor_id
        )
    elif event == "accepted":
        await mail_parties(
            transaction, kind="exchange_accepted", facts=facts, to=parties, other_id=actor_id
        )
    elif event == "completed":
        # The provider receives the minutes from every recipient of a group.
        received = facts["minutes"] * len(facts["recipients"])
        await mail_parties(
            transaction,
            kind="exchange_completed",
            facts={**facts, "minutes": received},
            to=[facts["provider"]],
            other_id=actor_id,
        )
    else:
        raise ValueError(f"no mail for exchange event {event!r}")


async def dispute_opened_mail(
    transaction: WriteTransaction,
    *,
    exchange_id: uuid.UUID,
    dispute_id: uuid.UUID,
    opened_by: uuid.UUID,
) -> None:
    facts = await exchange_facts(exchange_id)
    await mail_parties(
        transaction,
        kind="dispute_opened",
        facts=facts,
        to=[facts["provider"], *facts["recipients"]],
        other_id=opened_by,
        dispute_id=str(dispute_id),
    )


async def dispute_decided_mail(
    transaction: WriteTransaction, *, exchange_id: uuid.UUID, dispute_id: uuid.UUID, outcome: str
) -> None:
    facts = await exchange_facts(exchange_id)
    await mail_parties(
        transaction,
        kind="dispute_decided",
        facts=facts,
        to=[facts["provider"], *facts["recipients"]],
        other_id=None,
        dispute_id=str(dispute_id),
        outcome_words=DISPUTE_OUTCOME_WORDS.get(outcome, outcome),
    )


async def _marked_done(
    transaction: WriteTransaction, facts: dict[str, Any], _actor_id: uuid.UUID | None, **extra: Any
) -> None:
    await mail_parties(
        transaction,
        kind="exchange_marked_done",
        facts=facts,
        to=facts["recipients"],
        other_id=facts["provider"],
        confirm_by=extra["confirm_by"],
    )


async def _autoconfirmed(
    transaction: WriteTransaction, facts: dict[str, Any], _actor_id: uuid.UUID | None, **_extra: Any
) -> None:
    await mail_parties(
        transaction,
        kind="exchange_autoconfirmed",
        facts=facts,
        to=facts["recipients"],
        other_id=facts["provider"],
    )
    received = facts["minutes"] * len(facts["recipients"])
    await mail_parties(
        transaction,
        kind="exchange_completed_by_itself",
        facts={**facts, "minutes": received},
        to=[facts["provider"]],
        other_id=None,
    )


async def _cancelled_for_closure(
    transaction: WriteTransaction, facts: dict[str, Any], actor_id: uuid.UUID | None, **_extra: Any
) -> None:
    """The member who left is not named: their name is erased with the closure."""
    await mail_parties(
        transaction,
        kind="exchange_cancelled_closure",
        facts=facts,
        to=[member for member in (facts["provider"], *facts["recipients"]) if member != actor_id],
        other_id=None,
    )


async def _declined(
    transaction: WriteTransaction, facts: dict[str, Any], actor_id: uuid.UUID | None, **extra: Any
) -> None:
    reason = str(extra.get("reason") or "").strip()
    await mail_parties(
        transaction,
        kind="exchange_declined",
        facts=facts,
        to=[facts["provider"], *facts["recipients"]],
        other_id=actor_id,
        reason_words=f"They said: {reason}" if reason else "They did not give a reason.",
        reason=reason,
    )


LaterEvent = Callable[..., Awaitable[None]]
LATER_EVENTS: dict[str, LaterEvent] = {
    "marked_done": _marked_done,
    "autoconfirmed": _autoconfirmed,
    "cancelled_closure": _cancelled_for_closure,
    "declined": _declined,
}
