"""Pages of events: upcoming events, an event's page (go, stop going, join the waiting
list; all plain forms), making an event (with repeats), the register with big tick
boxes for a tablet at the door, and cancelling one meeting. Thin: the rules are in the
services."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template

from service import clock
from service.errors import DomainError
from service.events import register, rsvp, selectors, services
from service.events.common import require_event_coordinator, visible_occurrence
from service.events.schemas import (
    REPEAT_WORDS,
    AttendanceIn,
    EventIn,
    EventOut,
    MayHostIn,
    OccurrenceChangeIn,
)
from service.formatting import clock_words, iso_day
from service.http.access import Access, access, on_object
from service.http.deps import EngineDep, LedgerDep
from service.i18n import N_, _
from service.limits import (
    EVENT_ATTENDEES_MAX,
    EVENT_SERIES_OCCURRENCES_DEFAULT,
    EVENT_SERIES_OCCURRENCES_MAX,
)
from service.listings.services import categories_list
from service.principal import Principal
from service.web.forms import ConfirmForm, confirmed, uuid_or_none, whole_number
from service.web.kit import (
    Form,
    PageController,
    Viewer,
    done_message,
    form_refused,
    render,
    see_other,
)

EVENT = on_object("event", "occurrence_id")
DONE = {
    "created": N_("Your event is made. Members of the community can now say they are going."),
    "going": N_("You are going. We will remind you the day before."),
    "waiting": N_(
        "The event is full, so you are on its waiting list. We will tell you if a place comes free."
    ),
    "stopped": N_("You are no longer going."),
    "register": N_("The register is saved, and the hosts have their hours (once)."),
    "cancelled": N_("That meeting is cancelled, and everyone going has been told."),
    "moved": N_("This meeting is moved. The other meetings of the event stay as they were."),
}
LABELS = {
    "community": N_("Community"),
    "title": N_("Title"),
    "description": N_("What happens"),
    "category": N_("Kind of activity"),
    "day": N_("Date"),
    "starts": N_("Starts at"),
    "ends": N_("Ends at"),
    "starts_at": N_("Starts at"),
    "ends_at": N_("Ends at"),
    "place": N_("Place"),
    "access_notes": N_("Access notes"),
    "capacity": N_("Places"),
    "host": N_("Host"),
    "host_ids": N_("Host"),
    "cohost": N_("Second host"),
    "host_minutes": N_("Minutes for the host"),
    "repeat": N_("Repeats"),
    "occurrences": N_("Number of meetings"),
    "attended_ids": N_("Who came"),
}
MOVES = {"starts_at": "starts", "ends_at": "ends", "host_ids": "host"}


def _translated(words: Mapping[str, str]) -> dict[str, str]:
    """A table of marked English words in the reader's language (at request time)."""
    return {key: _(text) for key, text in words.items()}


async def _category_options() -> list[tuple[str, str]]:
    return [(category.slug, category.name) for category in await categories_list()]


class EventForm(msgspec.Struct, kw_only=True):
    community: str = ""
    title: str = ""
    description: str = ""
    category: str = ""
    day: str = ""
    starts: str = ""
    ends: str = ""
    place: str = ""
    step_free: str = ""
    hearing_loop: str = ""
    access_notes: str = ""
    capacity: str = ""
    host: str = ""
    cohost: str = ""  # optional: a second host, credited like the first
    host_minutes: str = ""
    repeat: str = "none"
    occurrences: str = ""


class GoForm(msgspec.Struct, kw_only=True):
    wait: str = ""


class MoveForm(msgspec.Struct, kw_only=True):
    day: str = ""
    starts: str = ""
    ends: str = ""
    place: str = ""


def _change_in(form: Form, data: MoveForm) -> OccurrenceChangeIn | None:
    try:
        day: date | None = date.fromisoformat(data.day.strip())
    except ValueError:
        form.errors["day"] = _("Enter the date, like 2026-05-14")
        day = None
    starts_at = _instant(form, day, data.starts, "starts")
    ends_at = _instant(form, day, data.ends, "ends")
    place = data.place.strip()
    if not place:
        form.errors["place"] = _("Say where it is held")
    if form.failed or starts_at is None or ends_at is None:
        return None
    return OccurrenceChangeIn(starts_at=starts_at, ends_at=ends_at, place=place)


class MayHostForm(msgspec.Struct, kw_only=True):
    may_host: str = ""


def _instant(form: Form, day: date | None, text: str, name: str) -> datetime | None:
    try:
        moment = time.fromisoformat(text.strip())
    except ValueError:
        form.errors[name] = _("Enter a time like 14:30")
        return None
    if day is None:
        return None
    # What the coordinator types is the time bank's clock, not UTC (ADR 0064).
    if not clock.wall_clock_exists(day, moment):
        form.errors[name] = _("The clocks go forward at that time that day: choose another time")
        return None
    return clock.instant_at(day, moment)


def _number(form: Form, name: str, text: str, message: str) -> int | None:
    value = text.strip()
    if not value:
        return None
    if not whole_number(value):
        form.errors[name] = message
        return None
    return int(value)


def _event_in(form: Form, data: EventForm) -> EventIn | None:
    """The form as the service's request; None (errors on `form`) if it cannot be read."""
    try:
        day: date | None = date.fromisoformat(data.day.strip())
    except ValueError:
        form.errors["day"] = _("Enter the date, like 2026-05-14")
        day = None
    starts_at = _instant(form, day, data.starts, "starts")
    ends_at = _instant(form, day, data.ends, "ends")
    capacity = _number(form, "capacity", data.capacity, _("Enter the places as a number"))
    minutes = _number(form, "host_minutes", data.host_minutes, _("Enter minutes as a number"))
    count = _number(form, "occurrences", data.occurrences, _("Enter a number of meetings"))
    host = uuid_or_none(data.host)
    if host is None:
        form.errors["host"] = _("Choose who hosts it")
    cohost = uuid_or_none(data.cohost) if data.cohost.strip() else None
    if data.cohost.strip() and cohost is None:
        form.errors["cohost"] = _("Choose a second host from the list, or none")
    if form.failed or starts_at is None or ends_at is None or host is None:
        return None
    hosts = [host] if cohost in (None, host) else [host, cohost]
    raw = {
        "community": data.community.strip(),
        "title": data.title.strip(),
        "description": data.description.strip(),
        "category": data.category.strip() or None,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "place": data.place.strip(),
        "step_free": data.step_free == "yes",
        "hearing_loop": data.hearing_loop == "yes",
        "access_notes": data.access_notes.strip(),
        "capacity": capacity,
        "host_ids": hosts,
        "host_minutes": minutes or 0,
        "repeat": data.repeat,
        "occurrences": count if data.repeat != "none" else None,
    }
    try:
        return msgspec.convert(raw, EventIn)
    except msgspec.ValidationError as error:
        field = str(error).rpartition("$.")[2].rstrip("`").split("[")[0]
        target = MOVES.get(field, field)
        form.errors[target if target in LABELS else "title"] = _(
            "%(label)s: is missing or not valid"
        ) % {"label": _(LABELS.get(field, N_("This")))}
        return None


def _occurrence_words(event: EventOut) -> str:
    if event.repeat == "none":
        return _("Once")
    return _("%(repeat)s: meeting %(position)s of %(count)s") % {
        "repeat": _(REPEAT_WORDS[event.repeat]),
        "position": event.position,
        "count": event.occurrences,
    }


class EventPages(PageController):
    opt = access(Access.MEMBER)
    path = "/events"

    @get("/")
    async def upcoming(self, viewer: Viewer, done: FromQuery[str | None] = None) -> Template:
        events = await selectors.upcoming_events(actor=viewer)
        return render(
            "events/list.html",
            viewer=viewer,
            title=_("Events"),
            current="events",
            events=events,
            can_host=bool(await selectors.hostable_communities(viewer)),
            notice=done_message(_translated(DONE), done),
        )

    @get("/new")
    async def new(self, viewer: Viewer) -> Template:
        communities = await selectors.hostable_communities(viewer)
        form = Form(
            values={
                "community": communities[0][0] if communities else "",
                "host": str(viewer.member_id),
                "host_minutes": "60",
                "repeat": "none",
                "occurrences": str(EVENT_SERIES_OCCURRENCES_DEFAULT),
            }
        )
        return await _new_page(viewer, form)

    @post("/new")
    async def create(
        self, viewer: Viewer, engine: EngineDep, data: URLEncodedBody[EventForm]
    ) -> Response[Any]:
        form = Form.of(data)
        event_in = None if form.failed else _event_in(form, data)
        if event_in is None:
            return await _new_page(viewer, form, status=422)
        try:
            occurrence_id = await services.event_create(engine=engine, actor=viewer, data=event_in)
        except DomainError as problem:
            return await _new_page(
                viewer, form, **form_refused(form, problem, _translated(LABELS), moves=MOVES)
            )
        return see_other(f"/events/{occurrence_id}", done="created")

    @get("/{occurrence_id:uuid}")
    async def detail(
        self, viewer: Viewer, occurrence_id: FromPath[uuid.UUID], done: FromQuery[str | None] = None
    ) -> Template:
        return await _event_page(
            viewer, occurrence_id, Form(), notice=done_message(_translated(DONE), done)
        )

    @post("/{occurrence_id:uuid}/go", opt=EVENT)
    async def go(
        self,
        viewer: Viewer,
        engine: EngineDep,
        occurrence_id: FromPath[uuid.UUID],
        data: URLEncodedBody[GoForm],
    ) -> Response[Any]:
        form = Form()
        try:
            out = await rsvp.rsvp_go(
                engine=engine, actor=viewer, occurrence_id=occurrence_id, wait=data.wait == "yes"
            )
        except DomainError as problem:
            return await _event_page(viewer, occurrence_id, form, **form_refused(form, problem, {}))
        return see_other(f"/events/{occurrence_id}", done="waiting" if out.waiting else "going")

    @post("/{occurrence_id:uuid}/stop", opt=EVENT)
    async def stop(
        self, viewer: Viewer, engine: EngineDep, occurrence_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        form = Form()
        try:
            await rsvp.rsvp_stop(engine=engine, actor=viewer, occurrence_id=occurrence_id)
        except DomainError as problem:
            return await _event_page(viewer, occurrence_id, form, **form_refused(form, problem, {}))
        return see_other(f"/events/{occurrence_id}", done="stopped")

    @post("/{occurrence_id:uuid}/cancel", opt=EVENT)
    async def cancel(
        self,
        viewer: Viewer,
        engine: EngineDep,
        occurrence_id: FromPath[uuid.UUID],
        data: URLEncodedBody[ConfirmForm],
    ) -> Response[Any]:
        form = Form.of(data, prefix="cancel-")
        if not confirmed(form, data.confirm, _("Tick the box to cancel this meeting")):
            return await _event_page(viewer, occurrence_id, Form(), cancel_form=form, status=422)
        try:
            await services.occurrence_cancel(
                engine=engine, actor=viewer, occurrence_id=occurrence_id
            )
        except DomainError as problem:
            reshow = form_refused(form, problem, {})
            return await _event_page(viewer, occurrence_id, Form(), cancel_form=form, **reshow)
        return see_other(f"/events/{occurrence_id}", done="cancelled")

    @post("/may-host/{member_id:uuid}", opt=on_object("member", "member_id"))
    async def may_host(
        self,
        viewer: Viewer,
        engine: EngineDep,
        member_id: FromPath[uuid.UUID],
        data: URLEncodedBody[MayHostForm],
    ) -> Response[Any]:
        """The desk's button: let a member make events, or stop it."""
        await services.may_host_set(
            engine=engine,
            actor=viewer,
            member_id=member_id,
            data=MayHostIn(may_host=data.may_host == "yes"),
        )
        return see_other(f"/coordinator/members/{member_id}", done="may_host")

    @post("/{occurrence_id:uuid}/change", opt=EVENT)
    async def move(
        self,
        viewer: Viewer,
        engine: EngineDep,
        occurrence_id: FromPath[uuid.UUID],
        data: URLEncodedBody[MoveForm],
    ) -> Response[Any]:
        """Move this one meeting, or hold it elsewhere; the rest of the series stays."""
        form = Form.of(data, prefix="move-")
        change = None if form.failed else _change_in(form, data)
        if change is None:
            return await _event_page(viewer, occurrence_id, Form(), move_form=form, status=422)
        try:
            await services.occurrence_change(
                engine=engine, actor=viewer, occurrence_id=occurrence_id, data=change
            )
        except DomainError as problem:
            reshow = form_refused(form, problem, _translated(LABELS), moves=MOVES)
            return await _event_page(viewer, occurrence_id, Form(), move_form=form, **reshow)
        return see_other(f"/events/{occurrence_id}", done="moved")

    @get("/{occurrence_id:uuid}/register")
    async def register_page(self, viewer: Viewer, occurrence_id: FromPath[uuid.UUID]) -> Template:
        return await _register_page(viewer, occurrence_id, Form())

    @post("/{occurrence_id:uuid}/register", opt=EVENT)
    async def take_register(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        engine: EngineDep,
        ledger: LedgerDep,
        occurrence_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        posted = await request.form()
        chosen = [str(value) for value in posted.getall("attended", [])][:EVENT_ATTENDEES_MAX]
        form = Form()
        ids = [uuid_or_none(value) for value in chosen]
        attended = [member_id for member_id in ids if member_id is not None]
        try:
            await register.attendance_record(
                engine=engine,
                ledger=ledger,
                actor=viewer,
                occurrence_id=occurrence_id,
                data=AttendanceIn(attended_ids=attended),
            )
        except DomainError as problem:
            reshow = form_refused(form, problem, _translated(LABELS))
            return await _register_page(viewer, occurrence_id, form, ticked=set(chosen), **reshow)
        return see_other(f"/events/{occurrence_id}", done="register")


async def _new_page(viewer: Principal, form: Form, *, status: int = 200, **extra: Any) -> Template:
    return render(
        "events/new.html",
        viewer=viewer,
        title=_("Make an event"),
        current="events",
        status=status,
        form=form,
        communities=await selectors.hostable_communities(viewer),
        categories=await _category_options(),
        hosts=await selectors.host_choices(viewer),
        repeats=list(_translated(REPEAT_WORDS).items()),
        occurrences_max=EVENT_SERIES_OCCURRENCES_MAX,
        **extra,
    )


async def _event_page(
    viewer: Principal,
    occurrence_id: uuid.UUID,
    form: Form,
    *,
    status: int = 200,
    cancel_form: Form | None = None,
    move_form: Form | None = None,
    notice: str | None = None,
    headers: dict[str, str] | None = None,
) -> Template:
    event = await selectors.event_get(actor=viewer, occurrence_id=occurrence_id)
    row = await visible_occurrence(viewer, occurrence_id)
    coordinates = viewer.is_admin or viewer.coordinates(row["community"])
    return render(
        "events/event.html",
        viewer=viewer,
        title=event.title,
        current="events",
        status=status,
        headers=headers,
        event=event,
        how_often=_occurrence_words(event),
        is_member=viewer.community_id == row["community"],
        coordinates=coordinates,
        form=form,
        cancel_form=cancel_form or Form(prefix="cancel-"),
        move_form=move_form
        or Form(
            prefix="move-",
            values={
                "day": iso_day(event.starts_at),
                "starts": clock_words(event.starts_at),
                "ends": clock_words(event.ends_at),
                "place": event.place,
            },
        ),
        notice=notice,
    )


async def _register_page(
    viewer: Principal,
    occurrence_id: uuid.UUID,
    form: Form,
    *,
    ticked: set[str] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    event = await selectors.event_get(actor=viewer, occurrence_id=occurrence_id)
    row = await visible_occurrence(viewer, occurrence_id)
    require_event_coordinator(viewer, row["community"])
    lines = await selectors.register_lines(occurrence_id)
    listed = {line.member_id for line in lines}
    others = [
        (member_id, name)
        for member_id, name in await selectors.community_members(row["community"])
        if member_id not in listed
    ]
    return render(
        "events/register.html",
        viewer=viewer,
        title=_("Register: %(title)s") % {"title": event.title},
        current="events",
        status=status,
        headers=headers,
        event=event,
        form=form,
        lines=lines,
        others=others,
        ticked=ticked,
    )


PAGE_ROUTERS = (EventPages,)
