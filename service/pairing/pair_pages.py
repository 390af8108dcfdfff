"""The coordinator's "Pairs" page: each introduced pair, its regular visits and their
recent visit days, a form to set the visits up and one to record a visit (ADR 0040)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import msgspec
from litestar import Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template

from service import clock
from service.http.access import Access, access, on_object
from service.http.deps import EngineDep, LedgerDep
from service.i18n import N_, _
from service.pairing import services
from service.pairing.pairs import pairs_listed
from service.pairing.schemas import (
    CADENCE_NAMES,
    WEEKDAY_NAMES,
    ArrangementIn,
    Cadence,
    PairOut,
    VisitMinutes,
    Weekday,
)
from service.principal import Principal
from service.web.kit import (
    Form,
    PageController,
    Reshow,
    Rule,
    Viewer,
    done_message,
    form_post,
    render,
    see_other,
)

CHECKED = "yes"
PAGE_PATH = "/coordinator/pairs"
DONE_MESSAGES = {
    "introduced": N_("You have introduced them: each has a message from you in their inbox."),
    "arranged": N_("The regular visits are saved."),
    "recorded": N_("The visit is recorded: the hours have moved."),
}
ARRANGEMENT_RULES = {
    "minutes": Rule(VisitMinutes, N_("Enter the minutes of one visit, from 15 to 480")),
    "cadence": Rule(Cadence, N_("Choose how often they meet")),
    "weekday": Rule(Weekday, N_("Choose the day of the week")),
    "starts_on": Rule(date, N_("Enter the first date, like 2026-05-14")),
}
ARRANGEMENT_LABELS = {
    "minutes": N_("Minutes each visit"),
    "cadence": N_("How often"),
    "weekday": N_("Day of the week"),
    "starts_on": N_("From"),
    "provider_id": N_("Who gives the time"),
}
VISIT_RULES = {"visit_on": Rule(date, N_("Enter the date of the visit, like 2026-05-14"))}
VISIT_LABELS = {"visit_on": N_("Date of the visit")}


class ArrangementForm(msgspec.Struct, kw_only=True):
    minutes: str = ""
    cadence: str = ""
    weekday: str = ""
    starts_on: str = ""
    giver: str = "younger"
    in_home: str = ""
    ended: str = ""


class VisitForm(msgspec.Struct, kw_only=True):
    visit_on: str = ""


def _arrangement_values(pair: PairOut) -> dict[str, str]:
    plan = pair.arrangement
    if plan is None:
        return {"cadence": "weekly", "giver": "younger", "in_home": CHECKED}
    return {
        "minutes": str(plan.minutes),
        "cadence": plan.cadence,
        "weekday": str(plan.weekday),
        "starts_on": plan.starts_on.isoformat(),
        "giver": "younger" if plan.provider_id == pair.younger_id else "older",
        "in_home": CHECKED if plan.in_home else "",
        "ended": CHECKED if plan.status == "ended" else "",
    }


def _forms_of(pairs: list[PairOut]) -> dict[uuid.UUID, dict[str, Form]]:
    return {
        pair.id: {
            "arrangement": Form(values=_arrangement_values(pair), prefix=f"pair{index}-"),
            "visit": Form(prefix=f"visit{index}-"),
        }
        for index, pair in enumerate(pairs)
    }


async def _page(
    viewer: Principal,
    *,
    refused: tuple[uuid.UUID, str, Form] | None = None,
    done: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    pairs = await pairs_listed(viewer)
    forms = _forms_of(pairs)
    if refused is not None and refused[0] in forms:
        pair_id, kind, form = refused
        form.prefix = forms[pair_id][kind].prefix
        forms[pair_id][kind] = form
    return render(
        "pairing/pair_list.html",
        viewer=viewer,
        title=_("Pairs"),
        current="coordinator",
        status=status,
        headers=headers,
        notice=done_message(DONE_MESSAGES, done),
        pairs=pairs,
        pair_forms=forms,
        refused_form=None if refused is None else refused[2],
        cadences=[(key, _(name)) for key, name in CADENCE_NAMES.items()],
        cadence_names={key: _(name) for key, name in CADENCE_NAMES.items()},
        weekdays=[(str(index), _(name)) for index, name in enumerate(WEEKDAY_NAMES)],
        today=clock.local_today(),
    )


def _provider_of(pair: PairOut | None, giver: str) -> uuid.UUID | None:
    if pair is None:
        return None
    return pair.older_id if giver == "older" else pair.younger_id


class PairPages(PageController):
    opt = access(Access.COORDINATOR)
    path = PAGE_PATH

    @get("/")
    async def pairs(self, viewer: Viewer, done: FromQuery[str | None] = None) -> Template:
        return await _page(viewer, done=done)

    @post("/{pair_id:uuid}/arrangement", opt=on_object("pair", "pair_id"))
    async def arrange(
        self,
        viewer: Viewer,
        engine: EngineDep,
        pair_id: FromPath[uuid.UUID],
        data: URLEncodedBody[ArrangementForm],
    ) -> Response[Any]:
        known = {pair.id: pair for pair in await pairs_listed(viewer)}

        async def write(cleaned: dict[str, Any]) -> Response[Any]:
            await services.arrangement_set(
                engine=engine,
                actor=viewer,
                pair_id=pair_id,
                data=ArrangementIn(
                    minutes=cleaned["minutes"],
                    cadence=cleaned["cadence"],
                    weekday=cleaned["weekday"],
                    starts_on=cleaned["starts_on"],
                    provider_id=_provider_of(known.get(pair_id), data.giver),
                    in_home=data.in_home == CHECKED,
                    active=data.ended != CHECKED,
                ),
            )
            return see_other(PAGE_PATH, done="arranged")

        async def reshow(form: Form, refused: Reshow) -> Response[Any]:
            return await _page(viewer, refused=(pair_id, "arrangement", form), **refused)

        return await form_post(
            Form.of(data), data, ARRANGEMENT_RULES, ARRANGEMENT_LABELS, write=write, reshow=reshow
        )

    @post("/{pair_id:uuid}/visits", opt=on_object("pair", "pair_id"))
    async def record_visit(
        self,
        viewer: Viewer,
        engine: EngineDep,
        ledger: LedgerDep,
        pair_id: FromPath[uuid.UUID],
        data: URLEncodedBody[VisitForm],
    ) -> Response[Any]:
        async def write(cleaned: dict[str, Any]) -> Response[Any]:
            # A repeat (a second click, the back button) records nothing again.
            await services.visit_record(
                engine=engine,
                ledger=ledger,
                actor=viewer,
                pair_id=pair_id,
                visit_on=cleaned["visit_on"],
            )
            return see_other(PAGE_PATH, done="recorded")

        async def reshow(form: Form, refused: Reshow) -> Response[Any]:
            return await _page(viewer, refused=(pair_id, "visit", form), **refused)

        return await form_post(
            Form.of(data), data, VISIT_RULES, VISIT_LABELS, write=write, reshow=reshow
        )


PAGE_ROUTERS = [PairPages]

__all__ = ["PAGE_ROUTERS"]
