"""The helper closes the loop: the provider marks the help done, and if nobody answers
the exchange completes by itself (issue 16 item 4, ADR 0028).

- Mark done (`exchange_mark_done`): the provider of an accepted exchange whose
  service date has come says the help happened. The recipients are asked to
  confirm (mail and in-app notice) and the exchange gets `autoconfirm_at`: the
  community's autoconfirm days from now (EXCHANGE_AUTOCONFIRM_DAYS by default),
  clamped to AUTOCONFIRM_BEFORE_HOLD_SECONDS before the hold expires, so the
  helper's hours are never lost for want of an answer. Marking again changes
  nothing and answers the same (idempotent), like the other exchange steps.
- A recipient who agrees confirms as usual; one who does not calls it off
  (cancel, holds voided). Disputes are for completed exchanges: after it
  completes by itself, the dispute window runs as for any other.
- Confirm by itself (`autoconfirm_sweep`, from service/sweeps.py, run BEFORE the
  expiry sweep): every accepted exchange past its `autoconfirm_at` is completed
  with the system as the actor ("system:autoconfirm"), both sides are told.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from piccolo.engine.base import Engine

from ledger import Ledger, WriteTransaction, run_write
from service import clock
from service.exchanges.expiry import expire_one
from service.exchanges.mailing import exchange_event_mail
from service.exchanges.selectors import ExchangeView, view_of, visible_view
from service.exchanges.services import exchange_history_event, post_every_hold
from service.exchanges.steps import (
    AUTOCONFIRM_ACTOR,
    claim_status,
    history_event,
    service_date_in_future,
    state_refusal,
)
from service.exchanges.tables import Exchange
from service.formatting import date_words
from service.i18n import ENGLISH, N_, use_language
from service.limits import AUTOCONFIRM_BEFORE_HOLD_SECONDS, EXCHANGE_EXPIRY_BATCH_MAX
from service.members.tables import Community
from service.principal import Principal, forbidden, require_active

logger = logging.getLogger("timebank.exchanges")


def autoconfirm_deadline(now: datetime, *, days: int, hold_expires_at: datetime) -> datetime:
    """`days` from now, but never later than the margin before the hold expires (nor before now).

    A hold that is already inside the margin confirms at the sweep's next pass: the
    recipient can still dispute it afterwards, within the dispute window.
    """
    wanted = now + timedelta(days=days)
    latest = hold_expires_at - timedelta(seconds=AUTOCONFIRM_BEFORE_HOLD_SECONDS)
    return max(now, min(wanted, latest))


async def autoconfirm_days_of(community_id: uuid.UUID, default_days: int) -> int:
    row = (
        await Community.select(Community.autoconfirm_days)
        .where(Community.id == community_id)
        .first()
        .run()
    )
    days = row["autoconfirm_days"] if row is not None else None
    return int(days) if days is not None else default_days


async def exchange_mark_done(
    *,
    engine: Engine[Any],
    ledger: Ledger,
    actor: Principal,
    exchange_id: uuid.UUID,
    default_days: int,
) -> None:
    """The provider says the help happened; the recipients are asked to confirm."""
    require_active(actor)

    async def work(transaction: WriteTransaction) -> bool:
        now = clock.utc_now()
        view = await visible_view(actor, exchange_id)
        if actor.member_id != view.provider_id:
            raise forbidden(N_("Only the member who gave the help can mark it done."))
        if view.status != "accepted":
            raise state_refusal(view.status, "mark_done")
        marked_done_at: datetime | None = view.exchange.marked_done_at
        if marked_done_at is not None:
            return True  # marked already: the same answer, nothing sent twice
        if view.exchange.service_date > now:
            raise service_date_in_future(view.exchange.service_date)
        if view.exchange.hold_expires_at <= now:
            return False  # the hold ran out: expire it, as the other steps do
        days = await autoconfirm_days_of(view.exchange.community, default_days)
        deadline = autoconfirm_deadline(
            now, days=days, hold_expires_at=view.exchange.hold_expires_at
        )
        if not await _claim_mark(exchange_id, now, deadline):
            return await _after_lost_mark(exchange_id, now)
        with use_language(ENGLISH):  # notes are stored in English, translated when shown
            note = f"confirms by itself on {date_words(deadline)} unless answered"
        await history_event(exchange_id, actor, "mark_done", now, note=note)
        await exchange_event_mail(
            transaction,
            exchange_id=exchange_id,
            event="marked_done",
            actor_id=actor.member_id,
            confirm_by=date_words(deadline),
            confirm_day=deadline.isoformat(),
        )
        return True

    if await run_write(engine, work):
        return
    await expire_one(engine, ledger, exchange_id, clock.utc_now())
    raise state_refusal("expired", "mark_done")


async def _claim_mark(exchange_id: uuid.UUID, now: datetime, deadline: datetime) -> bool:
    """The conditional UPDATE: of two marks at once, one wins and mails."""
    rows = (
        await Exchange.update(
            {
                Exchange.marked_done_at: now,
                Exchange.autoconfirm_at: deadline,
                Exchange.updated_at: now,
            }
        )
        .where(
            (Exchange.id == exchange_id)
            & (Exchange.status == "accepted")
            & Exchange.marked_done_at.is_null()
            & (Exchange.hold_expires_at > now)
        )
        .returning(Exchange.id)
        .run()
    )
    return bool(rows)


async def _after_lost_mark(exchange_id: uuid.UUID, now: datetime) -> bool:
    view = await view_of(exchange_id)
    assert view is not None  # noqa: S101 - exchanges are never deleted
    if view.status == "accepted" and view.exchange.marked_done_at is not None:
        return True  # a concurrent mark won: same answer
    if view.status == "accepted" and view.exchange.hold_expires_at <= now:
        return False
    raise state_refusal(view.status, "mark_done")


# Confirming by itself -------------------------------------------------------------


async def autoconfirm_sweep(*, engine: Engine[Any], ledger: Ledger, now: datetime) -> int:
    """Complete every accepted exchange whose `autoconfirm_at` has come; returns how many."""
    instant = now.astimezone(UTC)
    due = (
        await Exchange.select(Exchange.id)
        .where(
            (Exchange.status == "accepted")
            & (Exchange.autoconfirm_at <= instant)
            & (Exchange.hold_expires_at > instant)
        )
        .order_by(Exchange.autoconfirm_at)
        .limit(EXCHANGE_EXPIRY_BATCH_MAX)
        .run()
    )
    done = 0
    for row in due:
        try:
            done += await autoconfirm_one(engine, ledger, row["id"], instant)
        except Exception:
            # One broken exchange must not stop the others; it is retried next pass.
            logger.exception("could not confirm exchange %s by itself", row["id"])
    return done


async def autoconfirm_one(
    engine: Engine[Any], ledger: Ledger, exchange_id: uuid.UUID, now: datetime
) -> bool:
    async def work(transaction: WriteTransaction) -> bool:
        view = await view_of(exchange_id)
        if view is None or not _due(view, now):
            return False
        changes = {Exchange.status: "completed", Exchange.hold_expires_at: None}
        if not await claim_status(exchange_id, source="accepted", changes=changes, now=now):
            return False  # confirmed, cancelled or expired meanwhile
        await post_every_hold(ledger, view, label=AUTOCONFIRM_ACTOR)
        await exchange_history_event(
            exchange_id,
            None,
            "autoconfirm",
            now,
            note="no answer in time, so the hours moved",
            system_label=AUTOCONFIRM_ACTOR,
        )
        await exchange_event_mail(
            transaction, exchange_id=exchange_id, event="autoconfirmed", actor_id=None
        )
        return True

    return await run_write(engine, work)


def _due(view: ExchangeView, now: datetime) -> bool:
    exchange = view.exchange
    return (
        view.status == "accepted"
        and exchange.autoconfirm_at is not None
        and exchange.autoconfirm_at <= now
        and exchange.service_date <= now
    )
