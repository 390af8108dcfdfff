"""The demo's weekly club (issue 19): a year of Tuesday meetings in riverside, with RSVPs
and a register after each past meeting, so events and attendance have figures.

Everything goes through the events services with the clock set to the day it
happened (`now=`), so the host is credited from the pool by the same path as a real
register. The pool is topped up from the community's issuance for the year of hosting.
Like the rest of the demo, it looks before it writes: a second run changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from piccolo.engine.base import Engine

from ledger import LEDGER_NAMESPACE, Ledger, Unit
from ledger.transactions import write_transaction
from service.events import register, rsvp, services
from service.events.schemas import AttendanceIn, EventIn
from service.events.tables import EventOccurrence, EventSeries
from service.i18n import N_, _
from service.limits import EVENT_SERIES_OCCURRENCES_MAX
from service.members.tables import Community
from service.principal import Principal

CLUB_TITLE = N_("Tuesday tea and chat")
CLUB_HOST_MINUTES = 30
CLUB_WEEKS = EVENT_SERIES_OCCURRENCES_MAX  # a year of Tuesdays and the next one
COORDINATOR = "coordinator@demo.example"
HOST = "bethan@demo.example"
# Who goes, by week: everyone on the list most weeks; the register marks a few absent.
REGULARS = (
    "margaret@demo.example",
    "george@demo.example",
    "doreen@demo.example",
    "tom@demo.example",
    "oliver@demo.example",
    "aisha@demo.example",
)


def _first_tuesday(now: datetime) -> datetime:
    """A Tuesday at 2 pm about a year ago."""
    start = (now - timedelta(weeks=CLUB_WEEKS - 1)).replace(
        hour=14, minute=0, second=0, microsecond=0
    )
    return start + timedelta(days=(1 - start.weekday()) % 7)


async def _top_up_pool(ledger: Ledger, engine: Engine[Any], community_id: uuid.UUID) -> None:
    community = await Community.objects().where(Community.id == community_id).first().run()
    assert community is not None  # noqa: S101 - the demo made it
    async with write_transaction(engine):
        await ledger.transfer(
            id=uuid.uuid5(LEDGER_NAMESPACE, f"demo:club-pool:{community_id}"),
            debit_account_id=community.issuance_account_id,
            credit_account_id=community.pool_account_id,
            amount_minor=CLUB_WEEKS * CLUB_HOST_MINUTES,
            unit=Unit.HOUR,
            code="issuance",
            actor="demo",
            memo=_("Hours set aside for hosting the weekly club"),
        )


async def load_events_demo(
    *, engine: Engine[Any], ledger: Ledger, people: Mapping[str, Principal]
) -> list[str]:
    """Make the club and its year of meetings, once."""
    if await EventSeries.exists().where(EventSeries.title == _(CLUB_TITLE)).run():
        return []
    coordinator, host = people[COORDINATOR], people[HOST]
    now = datetime.now(UTC)
    first = _first_tuesday(now)
    await _top_up_pool(ledger, engine, coordinator.community_id)
    club = EventIn(
        community="riverside",
        title=_(CLUB_TITLE),
        description=_("Tea, cake and a chat in the church hall. Everyone is welcome."),
        category=None,
        starts_at=first,
        ends_at=first + timedelta(hours=2),
        place=_("St Mary's church hall, Mill Lane"),
        step_free=True,
        hearing_loop=True,
        access_notes=_("Chairs with arms; the toilet is step-free."),
        capacity=20,
        host_ids=[host.member_id],
        host_minutes=CLUB_HOST_MINUTES,
        repeat="weekly",
        occurrences=CLUB_WEEKS,
    )
    first_id = await services.event_create(
        engine=engine, actor=coordinator, data=club, now=first - timedelta(days=7)
    )
    series = (
        await EventOccurrence.select(EventOccurrence.series)
        .where(EventOccurrence.id == first_id)
        .first()
        .run()
    )
    assert series is not None  # noqa: S101 - just made
    meetings = (
        await EventOccurrence.select(EventOccurrence.id, EventOccurrence.starts_at)
        .where(EventOccurrence.series == series["series"])
        .order_by(EventOccurrence.position)
        .run()
    )
    held = 0
    for week, meeting in enumerate(meetings):
        starts_at = meeting["starts_at"]
        starts_at = starts_at if starts_at.tzinfo else starts_at.replace(tzinfo=UTC)
        going = [people[email] for email in REGULARS]
        for member in going:
            await rsvp.rsvp_go(
                engine=engine,
                actor=member,
                occurrence_id=meeting["id"],
                wait=False,
                now=min(starts_at - timedelta(days=2), now),
            )
        if starts_at + timedelta(hours=2) > now:
            continue  # still to come: RSVPs, no register yet
        came = [member.member_id for index, member in enumerate(going) if (week + index) % 5]
        await register.attendance_record(
            engine=engine,
            ledger=ledger,
            actor=coordinator,
            occurrence_id=meeting["id"],
            data=AttendanceIn(attended_ids=[host.member_id, *came]),
            now=starts_at + timedelta(hours=2),
        )
        held += 1
    return [f"the weekly club {CLUB_TITLE!r}: {len(meetings)} meetings, {held} registers"]
