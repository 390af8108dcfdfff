"""The JSON API of events (api.md, "Operations added in the second wave"). Thin: the
rules are in services.py, rsvp.py and register.py."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from service.events import register, rsvp, selectors, services
from service.events.schemas import (
    AttendanceIn,
    AttendanceOut,
    EventIn,
    EventOut,
    MayHostIn,
    MayHostOut,
    OccurrenceChangeIn,
    RsvpIn,
    RsvpOut,
)
from service.http.access import Access, access, on_object
from service.http.deps import CurrentMember, EngineDep, LedgerDep

EVENT = on_object("event", "occurrence_id")


class EventController(Controller):
    opt = access(Access.MEMBER)
    path = "/api/v1/events"
    tags = ("events",)

    @post("/", status_code=HTTP_201_CREATED)
    async def create(
        self, member: CurrentMember, engine: EngineDep, data: JSONBody[EventIn]
    ) -> EventOut:
        """Make an event (a one-off, or a weekly, fortnightly or monthly series): a
        coordinator, or a member they let host. Answers with its first meeting."""
        occurrence_id = await services.event_create(engine=engine, actor=member, data=data)
        return await selectors.event_get(actor=member, occurrence_id=occurrence_id)

    @get("/")
    async def upcoming(self, member: CurrentMember) -> list[EventOut]:
        """Meetings of your communities that are not over yet, soonest first."""
        return await selectors.upcoming_events(actor=member)

    @get("/{occurrence_id:uuid}")
    async def one(self, member: CurrentMember, occurrence_id: FromPath[uuid.UUID]) -> EventOut:
        """One meeting: how many are going, and whether you are going or waiting."""
        return await selectors.event_get(actor=member, occurrence_id=occurrence_id)

    @patch("/{occurrence_id:uuid}", opt=EVENT)
    async def change(
        self,
        member: CurrentMember,
        engine: EngineDep,
        occurrence_id: FromPath[uuid.UUID],
        data: JSONBody[OccurrenceChangeIn],
    ) -> EventOut:
        """Move one meeting or hold it elsewhere (a coordinator of its community)."""
        await services.occurrence_change(
            engine=engine, actor=member, occurrence_id=occurrence_id, data=data
        )
        return await selectors.event_get(actor=member, occurrence_id=occurrence_id)

    @post("/{occurrence_id:uuid}/cancel", status_code=200, opt=EVENT)
    async def cancel(
        self, member: CurrentMember, engine: EngineDep, occurrence_id: FromPath[uuid.UUID]
    ) -> EventOut:
        """Cancel one meeting; everyone going or waiting is told."""
        await services.occurrence_cancel(engine=engine, actor=member, occurrence_id=occurrence_id)
        return await selectors.event_get(actor=member, occurrence_id=occurrence_id)

    @post("/{occurrence_id:uuid}/rsvp", status_code=HTTP_201_CREATED, opt=EVENT)
    async def go(
        self,
        member: CurrentMember,
        engine: EngineDep,
        occurrence_id: FromPath[uuid.UUID],
        data: JSONBody[RsvpIn],
    ) -> RsvpOut:
        """Go (body `{}`); when it is full, 409 `event_full`, unless `{"wait": true}` puts
        you on its waiting list (moved up, and told, when a place frees)."""
        return await rsvp.rsvp_go(
            engine=engine, actor=member, occurrence_id=occurrence_id, wait=data.wait
        )

    @delete("/{occurrence_id:uuid}/rsvp", status_code=200, opt=EVENT)
    async def stop(
        self, member: CurrentMember, engine: EngineDep, occurrence_id: FromPath[uuid.UUID]
    ) -> RsvpOut:
        """Stop going, or leave the waiting list."""
        return await rsvp.rsvp_stop(engine=engine, actor=member, occurrence_id=occurrence_id)

    @post(
        "/{occurrence_id:uuid}/attendance",
        status_code=200,
        opt=EVENT,
    )
    async def attendance(
        self,
        member: CurrentMember,
        engine: EngineDep,
        ledger: LedgerDep,
        occurrence_id: FromPath[uuid.UUID],
        data: JSONBody[AttendanceIn],
    ) -> AttendanceOut:
        """The register, from the meeting's start on (a coordinator of the event's community):
        credits each host once, from the pool."""
        return await register.attendance_record(
            engine=engine, ledger=ledger, actor=member, occurrence_id=occurrence_id, data=data
        )


class MayHostController(Controller):
    opt = access(Access.COORDINATOR)
    path = "/api/v1/coordinator/members/{member_id:uuid}/may-host"
    tags = ("coordinator",)

    @put("/", opt=on_object("member", "member_id"))
    async def set_may_host(
        self,
        member: CurrentMember,
        engine: EngineDep,
        member_id: FromPath[uuid.UUID],
        data: JSONBody[MayHostIn],
    ) -> MayHostOut:
        """Let a member of your community make events, or stop it."""
        return await services.may_host_set(
            engine=engine, actor=member, member_id=member_id, data=data
        )


ROUTERS = (EventController, MayHostController)
