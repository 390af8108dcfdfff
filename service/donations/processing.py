"""Stripe events, from delivery to resolution: record once, keep the unresolved, replay.

An event's life:

    delivered --(handler: donation, refund, fee, chargeback, ... )--> resolved
        |
        +--(matched nothing: `unmatched`)----------------+
        +--(its payment is not recorded yet: `waiting`)--+--> kept (the verified object)
                                                          |
    kept --(its payment is recorded: replayed by Stripe's actor, same transaction)--> resolved
    kept --(an admin presses Reprocess: replayed by the admin)--> resolved, or kept again

The event row (`donation_event`, keyed by Stripe's event id) is written once, with
the first outcome, and never changes; every replay appends a `donation_event_replay`
row, and at most one replay per event may resolve it (a partial unique index). The
replay, its ledger postings and the removal of the kept object are one transaction,
so an event is applied exactly once however its replays race. A repeat delivery of
a recorded event is acknowledged and changes nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from piccolo.engine.base import Engine

from ledger import Ledger, WriteTransaction, run_write
from service.donations import disputes, events
from service.donations.events import Context, Handled, Handler, Result, StripeEventIn
from service.donations.gateway import StripeGateway
from service.donations.postings import ACTOR
from service.donations.tables import StripeEvent, StripeEventPayload, StripeEventReplay
from service.errors import Conflict, DomainError, NotFound
from service.i18n import _
from service.limits import WAITING_EVENTS_REPLAYED_MAX
from service.members.audit import audit_record
from service.principal import Principal, require_admin

logger = logging.getLogger("timebank.donations.events")

HANDLERS: Mapping[str, Handler] = {**events.HANDLERS, **disputes.HANDLERS}
REPROCESS_ACTION = "donation.event_reprocess"


async def event_handle(
    *, engine: Engine[Any], ledger: Ledger, gateway: StripeGateway | None, event: StripeEventIn
) -> Handled:
    """Record `event` once and post what it means; a repeat is acknowledged and ignored."""
    if await _recorded(event.id):
        await _keep_resent(engine, event)
        return Handled(outcome="duplicate", duplicate=True)
    # The one network call happens before the transaction, so no lock waits on Stripe.
    fee_pence = await events.fee_hint(gateway, event)

    async def write(_transaction: WriteTransaction) -> Handled:
        if await _recorded(event.id):
            return Handled(outcome="duplicate", duplicate=True)
        result = await _dispatch(ledger, event, fee_pence)
        await _insert_event(event, result)
        if not result.resolved:
            await _keep(event, result)
        return Handled(outcome=result.outcome, duplicate=False)

    handled = await run_write(engine, write)
    if handled.outcome == "unmatched":
        logger.warning("Stripe event %s (%s) matched nothing", event.id, event.type)
    return handled


async def _dispatch(ledger: Ledger, event: StripeEventIn, fee_pence: int | None) -> Result:
    handler = HANDLERS.get(event.type)
    if handler is None:
        return events.ignored()

    async def after_payment(payment_intent_id: str) -> str:
        return await _replay_waiting(ledger, payment_intent_id)

    context = Context(ledger=ledger, event=event, fee_pence=fee_pence, after_payment=after_payment)
    return await handler(context)


async def _recorded(event_id: str) -> bool:
    found: bool = await StripeEvent.exists().where(StripeEvent.id == event_id).run()
    return found


async def _insert_event(event: StripeEventIn, result: Result) -> None:
    await StripeEvent.insert(
        StripeEvent(
            id=event.id,
            type=event.type,
            object_id=event.object_id,
            outcome=result.outcome,
            community=result.community_id,
            amount_pence=result.amount_pence,
            detail=result.detail[: events.DETAIL_CHARS_MAX],
            received_at=datetime.now(UTC),
        )
    ).run()


# Keeping unresolved events ---------------------------------------------------------------


async def _keep(event: StripeEventIn, result: Result) -> None:
    """Keep the verified object of an unresolved event, so it can be replayed."""
    await StripeEventPayload.insert(
        StripeEventPayload(
            event_id=event.id,
            type=event.type,
            payment_intent_id=result.waiting_for,
            object_json=msgspec.json.encode(event.object).decode(),
            created_at=event.created_at,
            kept_at=datetime.now(UTC),
        )
    ).run()


async def _keep_resent(engine: Engine[Any], event: StripeEventIn) -> None:
    """A resent event recorded unresolved before objects were kept: keep it now.

    Stripe's dashboard resends an event under its own id, so this is how an admin
    makes such an event reprocessable; nothing is applied here.
    """
    if not await _unresolved_unkept(event.id):
        return

    async def write(_transaction: WriteTransaction) -> None:
        if await _unresolved_unkept(event.id):
            await _keep(event, Result(outcome="unmatched"))

    await run_write(engine, write)


async def _unresolved_unkept(event_id: str) -> bool:
    recorded = await StripeEvent.objects().where(StripeEvent.id == event_id).first().run()
    if recorded is None or recorded.outcome not in events.UNRESOLVED_OUTCOMES:
        return False
    kept: bool = (
        await StripeEventPayload.exists().where(StripeEventPayload.event_id == event_id).run()
    )
    return not kept and not await _resolved_by_replay(event_id)


def _kept_event(kept: StripeEventPayload) -> StripeEventIn:
    return StripeEventIn(
        id=kept.event_id,
        type=kept.type,
        object=msgspec.json.decode(kept.object_json),
        created_at=kept.created_at,
    )


async def _replay(
    ledger: Ledger, kept: StripeEventPayload, *, fee_pence: int | None, actor: str
) -> Result:
    """Run a kept event's handler again, log the attempt, and forget it once resolved."""
    result = await _dispatch(ledger, _kept_event(kept), fee_pence)
    await StripeEventReplay.insert(
        StripeEventReplay(
            id=uuid.uuid4(),
            event_id=kept.event_id,
            outcome=result.outcome,
            community=result.community_id,
            amount_pence=result.amount_pence,
            detail=result.detail[: events.DETAIL_CHARS_MAX],
            actor=actor,
            replayed_at=datetime.now(UTC),
        )
    ).run()
    if result.resolved:
        await StripeEventPayload.delete().where(StripeEventPayload.event_id == kept.event_id).run()
    else:
        await (
            StripeEventPayload.update({StripeEventPayload.payment_intent_id: result.waiting_for})
            .where(StripeEventPayload.event_id == kept.event_id)
            .run()
        )
    return result


async def _replay_waiting(ledger: Ledger, payment_intent_id: str) -> str:
    """Replay, in Stripe's order, the events that waited for this payment (just recorded)."""
    waiting = (
        await StripeEventPayload.objects()
        .where(StripeEventPayload.payment_intent_id == payment_intent_id)
        .order_by(StripeEventPayload.created_at, StripeEventPayload.event_id)
        .limit(WAITING_EVENTS_REPLAYED_MAX)
        .run()
    )
    for kept in waiting:
        result = await _replay(ledger, kept, fee_pence=None, actor=ACTOR)
        logger.info("replayed Stripe event %s: %s", kept.event_id, result.outcome)
    return f"Applied {len(waiting)} event(s) that waited for this payment." if waiting else ""


# Admins reprocess --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reprocessed:
    event_id: str
    outcome: str
    detail: str
    resolved: bool


def event_not_found() -> DomainError:
    return NotFound(code="event_not_found", detail=_("No Stripe event with this id."))


def event_already_resolved() -> DomainError:
    return Conflict(
        code="event_already_resolved",
        detail=_("This event has been applied already; reprocessing it would change nothing."),
    )


def event_not_kept() -> DomainError:
    return Conflict(
        code="event_not_kept",
        detail=_(
            "This event was recorded before events were kept for replay. "
            "Resend it from Stripe's dashboard, then reprocess it here."
        ),
    )


async def event_reprocess(
    *,
    engine: Engine[Any],
    ledger: Ledger,
    gateway: StripeGateway | None,
    actor: Principal,
    event_id: str,
) -> Reprocessed:
    """An admin replays an unmatched or waiting event; audited, applied at most once."""
    require_admin(actor)
    kept = await _unresolved_kept(event_id)
    # The one network call happens before the transaction, so no lock waits on Stripe.
    fee_pence = await events.fee_hint(gateway, _kept_event(kept))

    async def write(_transaction: WriteTransaction) -> Reprocessed:
        again = await _unresolved_kept(event_id)  # a racing replay may have resolved it
        result = await _replay(ledger, again, fee_pence=fee_pence, actor=actor.label)
        await audit_record(
            actor_id=actor.member_id,
            actor_label=actor.label,
            action=REPROCESS_ACTION,
            target_type="stripe_event",
            target_id=event_id,
            after={"outcome": result.outcome, "detail": result.detail},
            community_id=result.community_id,
        )
        return Reprocessed(event_id, result.outcome, result.detail, result.resolved)

    return await run_write(engine, write)


async def _unresolved_kept(event_id: str) -> StripeEventPayload:
    recorded = await StripeEvent.objects().where(StripeEvent.id == event_id).first().run()
    if recorded is None:
        raise event_not_found()
    if recorded.outcome not in events.UNRESOLVED_OUTCOMES or await _resolved_by_replay(event_id):
        raise event_already_resolved()
    kept = (
        await StripeEventPayload.objects()
        .where(StripeEventPayload.event_id == event_id)
        .first()
        .run()
    )
    if kept is None:
        raise event_not_kept()
    return kept


async def _resolved_by_replay(event_id: str) -> bool:
    found: bool = await (
        StripeEventReplay.exists()
        .where(
            (StripeEventReplay.event_id == event_id)
            & StripeEventReplay.outcome.not_in(list(events.UNRESOLVED_OUTCOMES))
        )
        .run()
    )
    return found
