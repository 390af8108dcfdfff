"""Pages of neighbours: the directory, a profile with its thanks, the thank-you form of a
completed exchange, and "my listings" (pause, resume, renew; editing is the listing's
own edit page). Thin: every rule is in the services and selectors."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template
from litestar.status_codes import HTTP_409_CONFLICT

from service.errors import Conflict, DomainError
from service.exchanges.selectors import ExchangeView
from service.http.access import Access, access, on_object
from service.http.deps import EngineDep
from service.i18n import N_, _
from service.limits import (
    PAGE_SIZE_MAX,
    THANKS_CHARS_MAX,
)
from service.listings import lifecycle
from service.listings import services as listings
from service.neighbours import selectors, services
from service.neighbours.schemas import DirectoryPageQuery, SearchQuery, ThanksIn, WardQuery
from service.principal import Principal
from service.web.kit import (
    Form,
    PageController,
    Rule,
    Viewer,
    done_message,
    form_refused,
    render,
    schema_type,
    see_other,
    validate,
)

LISTING_DONE = {
    "paused": N_("Your listing is paused: nobody finds it until you resume it."),
    "resumed": N_("Your listing is back in the search."),
    "renewed": N_("Your listing has been renewed."),
}
PROFILE_DONE = {
    "hidden": N_("That note is hidden from your profile. You can show it again."),
    "shown": N_("That note is on your profile again."),
}
THANKS_RULES = {
    "text": Rule(
        schema_type(ThanksIn, "text"),
        N_("Write your thank-you note, in %(chars)s characters or fewer"),
        values={"chars": THANKS_CHARS_MAX},
    )
}


class ThanksForm(msgspec.Struct, kw_only=True):
    text: str = ""


class NeighbourPages(PageController):
    opt = access(Access.MEMBER)
    path = "/"

    @get("/members")
    async def directory(
        self,
        viewer: Viewer,
        q: SearchQuery = "",
        skill: SearchQuery = "",
        ward: WardQuery = "",
        page: DirectoryPageQuery = 1,
    ) -> Template:
        filters = selectors.DirectoryFilters(q=q, skill=skill, ward=ward)
        items, next_page = await selectors.directory_page(actor=viewer, filters=filters, page=page)
        query = {"q": q, "skill": skill, "ward": ward}
        return render(
            "neighbours/directory.html",
            viewer=viewer,
            title=_("Neighbours"),
            current="neighbours",
            form=Form(values=query),
            items=items,
            page=page,
            next_page=next_page,
            query={key: value for key, value in query.items() if value},
            searched=any(value.strip() for value in query.values()),
            wards=[(ward_name, ward_name) for ward_name in await selectors.wards_in_reach(viewer)],
        )

    @get("/members/{member_id:uuid}")
    async def profile(
        self, viewer: Viewer, member_id: FromPath[uuid.UUID], done: FromQuery[str | None] = None
    ) -> Template:
        profile = await selectors.profile_of(actor=viewer, member_id=member_id)
        return render(
            "neighbours/profile.html",
            viewer=viewer,
            title=profile.display_name,
            current="neighbours",
            profile=profile,
            is_me=member_id == viewer.member_id,
            notice=done_message(PROFILE_DONE, done),
        )

    @post("/thanks/{thanks_id:uuid}/hide")
    async def hide(
        self, viewer: Viewer, engine: EngineDep, thanks_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        await services.thanks_set_hidden(
            engine=engine, actor=viewer, thanks_id=thanks_id, hidden=True
        )
        return see_other(f"/members/{viewer.member_id}", done="hidden")

    @post("/thanks/{thanks_id:uuid}/show")
    async def show(
        self, viewer: Viewer, engine: EngineDep, thanks_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        await services.thanks_set_hidden(
            engine=engine, actor=viewer, thanks_id=thanks_id, hidden=False
        )
        return see_other(f"/members/{viewer.member_id}", done="shown")

    @get("/exchanges/{exchange_id:uuid}/thanks")
    async def thanks_page(self, viewer: Viewer, exchange_id: FromPath[uuid.UUID]) -> Template:
        view = await services.party_view(viewer, exchange_id)
        return _thanks_page(viewer, view, Form())

    @post("/exchanges/{exchange_id:uuid}/thanks", opt=on_object("exchange", "exchange_id"))
    async def thank(
        self,
        viewer: Viewer,
        engine: EngineDep,
        exchange_id: FromPath[uuid.UUID],
        data: URLEncodedBody[ThanksForm],
    ) -> Response[Any]:
        view = await services.party_view(viewer, exchange_id)
        form = Form.of(data)
        cleaned = validate(form, data, THANKS_RULES)
        if form.failed:
            return _thanks_page(viewer, view, form, status=422)
        try:
            await services.thanks_give(
                engine=engine, actor=viewer, exchange_id=exchange_id, data=ThanksIn(**cleaned)
            )
        except DomainError as problem:
            reshow = form_refused(
                form,
                problem,
                {"text": _("Your note")},
                code_fields={"thanks_already_given": "text", "exchange_not_completed": "text"},
            )
            if isinstance(problem, Conflict):
                reshow["status"] = HTTP_409_CONFLICT
            return _thanks_page(viewer, view, form, **reshow)
        return see_other(f"/exchanges/{exchange_id}", done="thanked")

    @get("/my-listings")
    async def my_listings(self, viewer: Viewer, done: FromQuery[str | None] = None) -> Template:
        items = await listings.listings_of_member(actor=viewer, limit=PAGE_SIZE_MAX)
        return render(
            "neighbours/my_listings.html",
            viewer=viewer,
            title=_("My listings"),
            current="listings",
            items=[item for item in items if item.status == "open"],
            withdrawn=[item for item in items if item.status != "open"],
            notice=done_message(LISTING_DONE, done),
        )

    @post("/my-listings/{listing_id:uuid}/pause")
    async def pause(
        self, viewer: Viewer, engine: EngineDep, listing_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        await lifecycle.listing_pause(engine=engine, actor=viewer, listing_id=listing_id)
        return see_other("/my-listings", done="paused")

    @post("/my-listings/{listing_id:uuid}/resume")
    async def resume(
        self, viewer: Viewer, engine: EngineDep, listing_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        await lifecycle.listing_resume(engine=engine, actor=viewer, listing_id=listing_id)
        return see_other("/my-listings", done="resumed")

    @post("/my-listings/{listing_id:uuid}/renew")
    async def renew(
        self, viewer: Viewer, engine: EngineDep, listing_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        await lifecycle.listing_renew(engine=engine, actor=viewer, listing_id=listing_id)
        return see_other("/my-listings", done="renewed")


def _thanks_page(
    viewer: Principal,
    view: ExchangeView,
    form: Form,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    others = [member for member in view.parties if member != viewer.member_id]
    return render(
        "neighbours/thanks.html",
        viewer=viewer,
        title=_("Say thank you"),
        current="exchanges",
        status=status,
        headers=headers,
        form=form,
        exchange=view.exchange,
        other_names=", ".join(view.name_of(member) for member in others),
        text_max=THANKS_CHARS_MAX,
    )


PAGE_ROUTERS = [NeighbourPages]
