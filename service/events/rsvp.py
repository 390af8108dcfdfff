"""Going to a meeting, stopping going, the waiting list, and the reminder the day before.

A full meeting refuses another member (409 `event_full`) unless they ask to wait. When
a place frees (someone stops going), the first waiter moves up, in the same write, and
is told through the outbox (a notice, and mail as their choice allows). Every write on a
meeting's places first locks the meeting's row, so two members never both take the
last place.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from piccolo.engine.base import Engine

from ledger import Ledger, run_write
from ledger.transactions import WriteTransaction, write_transaction
from service import clock
from service.errors import Conflict
from service.events.common import (
    aware,
    going_only,
    lock_occurrence,
    refuse_if_not_open,
    visible_occurrence,
    waiting_only,
)
from service.events.schemas import RsvpOut
from service.events.tables import EventHostPermit, EventOccurrence, EventRsvp
from service.formatting import moment_words
from service.i18n import _
from service.limits import EVENT_REMINDER_BATCH_MAX, EVENT_REMINDER_HOURS_AHEAD
from service.members.mailing import mail_member
from service.principal import Principal, forbidden, require_active


def event_context(row: dict[str, Any]) -> dict[str, Any]:
    """What a message about a meeting says of it."""
    return {
        "event_id": str(row["id"]),
        "event_title": row["title"],
        "starts_words": moment_words(aware(row["starts_at"])),
        # The mail words the moment again in its reader's language (service/mail/messages.py).
        "starts_at": aware(row["starts_at"]).isoformat(),
        "place": row["place"],
    }


async def going_count(occurrence_id: uuid.UUID) -> int:
    return int(
        await EventRsvp.count().where((EventRsvp.occurrence == occurrence_id) & going_only()).run()
    )


async def _own_rsvp(occurrence_id: uuid.UUID, member_id: uuid.UUID) -> dict[str, Any] | None:
    row: dict[str, Any] | None = (
        await EventRsvp.select(EventRsvp.id, EventRsvp.waiting)
        .where((EventRsvp.occurrence == occurrence_id) & (EventRsvp.member == member_id))
        .first()
        .run()
    )
    return row


async def rsvp_go(
    *,
    engine: Engine[Any],
    actor: Principal,
    occurrence_id: uuid.UUID,
    wait: bool,
    now: datetime | None = None,
) -> RsvpOut:
    """Go to a meeting, or wait for a place when it is full and `wait` is asked for.

    Asking again answers with where the member already stands.
    """
    require_active(actor)
    row = await visible_occurrence(actor, occurrence_id)
    if actor.community_id != row["community"]:
        raise forbidden(_("Only members of this community can go to its events."))
    now = now or clock.utc_now()
    refuse_if_not_open(row, now)

    async def work(_transaction: WriteTransaction) -> RsvpOut:
        await lock_occurrence(occurrence_id)
        mine = await _own_rsvp(occurrence_id, actor.member_id)
        going = await going_count(occurrence_id)
        if mine is not None:
            return RsvpOut(
                event_id=occurrence_id,
                going=not mine["waiting"],
                waiting=mine["waiting"],
                attending_count=going,
            )
        full = row["capacity"] is not None and going >= row["capacity"]
        if full and not wait:
            raise Conflict(
                code="event_full",
                detail=_("This event is full. You can join its waiting list."),
                extra={"capacity": row["capacity"]},
            )
        await EventRsvp.insert(
            EventRsvp(
                id=uuid.uuid4(),
                occurrence=occurrence_id,
                member=actor.member_id,
                waiting=full,
                created_at=now,
            )
        ).run()
        return RsvpOut(
            event_id=occurrence_id,
            going=not full,
            waiting=full,
            attending_count=going if full else going + 1,
        )

    out: RsvpOut = await run_write(engine, work)
    return out


async def rsvp_stop(*, engine: Engine[Any], actor: Principal, occurrence_id: uuid.UUID) -> RsvpOut:
    """Stop going (or leave the waiting list); a freed place goes to the first waiter."""
    row = await visible_occurrence(actor, occurrence_id)
    now = clock.utc_now()
    refuse_if_not_open(row, now)

    async def work(transaction: WriteTransaction) -> RsvpOut:
        await lock_occurrence(occurrence_id)
        await (
            EventRsvp.delete()
            .where((EventRsvp.occurrence == occurrence_id) & (EventRsvp.member == actor.member_id))
            .run()
        )
        await move_up_waiters(transaction, row, now)
        return RsvpOut(
            event_id=occurrence_id,
            going=False,
            waiting=False,
            attending_count=await going_count(occurrence_id),
        )

    out: RsvpOut = await run_write(engine, work)
    return out


async def move_up_waiters(transaction: WriteTransaction, row: dict[str, Any], now: datetime) -> int:
    """Fill free places from the waiting list, first come first; each is told. Call with
    the meeting's row locked, inside the write that freed the place."""
    capacity = row["capacity"]
    free = None if capacity is None else capacity - await going_count(row["id"])
    waiters = (
        await EventRsvp.select(EventRsvp.id, EventRsvp.member)
        .where((EventRsvp.occurrence == row["id"]) & waiting_only())
        .order_by(EventRsvp.created_at)
        .order_by(EventRsvp.id)
        .run()
    )
    moving = waiters if free is None else waiters[: max(free, 0)]
    for waiter in moving:
        await (
            EventRsvp.update({EventRsvp.waiting: False, EventRsvp.moved_up_at: now})
            .where(EventRsvp.id == waiter["id"])
            .run()
        )
        await mail_member(
            transaction,
            member_id=waiter["member"],
            kind="event_place_free",
            context=event_context(row),
        )
    return len(moving)


async def events_reminder_sweep(*, engine: Engine[Any], now: datetime) -> int:
    """Queue one reminder per member going, per meeting starting within a day; a meeting
    reminded once is never reminded again (each RSVP is claimed before its mail)."""
    horizon = now + timedelta(hours=EVENT_REMINDER_HOURS_AHEAD)
    due = (
        await EventRsvp.select(
            EventRsvp.id,
            EventRsvp.member,
            EventRsvp.occurrence.as_alias("occurrence_id"),
            EventRsvp.occurrence.starts_at.as_alias("starts_at"),
            EventRsvp.occurrence.place.as_alias("place"),
            EventRsvp.occurrence._.series._.title.as_alias("title"),
        )
        .where(
            going_only()
            & EventRsvp.reminded_at.is_null()
            & EventRsvp.occurrence.cancelled_at.is_null()
            & (EventRsvp.occurrence.starts_at > now)
            & (EventRsvp.occurrence.starts_at <= horizon)
        )
        .limit(EVENT_REMINDER_BATCH_MAX)
        .run()
    )
    told = 0
    for rsvp in due:

        async def work(transaction: WriteTransaction, rsvp: dict[str, Any] = rsvp) -> bool:
            claimed = (
                await EventRsvp.update({EventRsvp.reminded_at: now})
                .where((EventRsvp.id == rsvp["id"]) & EventRsvp.reminded_at.is_null())
                .returning(EventRsvp.id)
                .run()
            )
            if not claimed:
                return False  # another worker reminded them
            context = event_context({**rsvp, "id": rsvp["occurrence_id"]})
            await mail_member(
                transaction, member_id=rsvp["member"], kind="event_reminder", context=context
            )
            return True

        if await run_write(engine, work):
            told += 1
    return told


async def events_erase_for_closure(
    *, engine: Engine[Any], ledger: Ledger, principal: Principal
) -> None:
    """Closure step (inside the closure's transaction, which this joins): the leaving
    member's places in meetings to come go and the first waiters move up; they may no
    longer host. Past RSVPs and the register's record of them stay: they are counted in
    the figures and never show the member's name."""
    del ledger  # the step's signature; nothing here moves hours
    member_id = principal.member_id
    async with write_transaction(engine) as transaction:
        await EventHostPermit.delete().where(EventHostPermit.member == member_id).run()
        await _leave_upcoming(transaction, member_id)


async def _leave_upcoming(transaction: WriteTransaction, member_id: uuid.UUID) -> None:
    now = clock.utc_now()
    upcoming = (
        await EventRsvp.select(EventRsvp.id, EventRsvp.occurrence)
        .where((EventRsvp.member == member_id) & (EventRsvp.occurrence.starts_at > now))
        .run()
    )
    for rsvp in upcoming:
        await lock_occurrence(rsvp["occurrence"])
        await EventRsvp.delete().where(EventRsvp.id == rsvp["id"]).run()
        row = (
            await EventOccurrence.select(
                *EventOccurrence.all_columns(),
                EventOccurrence.series.title.as_alias("title"),
                EventOccurrence.series.capacity.as_alias("capacity"),
            )
            .where(EventOccurrence.id == rsvp["occurrence"])
            .first()
            .run()
        )
        if row is not None and row["cancelled_at"] is None:
            await move_up_waiters(transaction, row, now)
