"""The listings' HTML pages: browse and search, publish, read, edit, withdraw.

Thin like the members' pages (service/members/pages.py): read the form, check it
against the API's own schema types (service/listings/schemas.py), call one
service function from service/listings/services.py, then render or redirect
(POST-redirect-GET with a `done` flag that picks a fixed message). Signed-in
members only: anyone else is sent to sign in and brought back.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter, URLEncodedBody
from litestar.response import Template

from service.errors import Conflict, DomainError, Forbidden
from service.http.access import Access, access, on_object
from service.http.deps import EngineDep
from service.i18n import N_, _, known_word
from service.limits import (
    CATEGORY_SLUG_CHARS_MAX,
    CURSOR_CHARS_MAX,
    LISTING_AVAILABILITY_CHARS_MAX,
    LISTING_DESCRIPTION_CHARS_MAX,
    LISTING_TITLE_CHARS_MAX,
    LISTINGS_PER_PAGE,
    SEARCH_TEXT_CHARS_MAX,
    WARD_CHARS_MAX,
)
from service.listings import services as listings
from service.listings.schemas import ListingIn, ListingOut, ListingPatch
from service.members import services
from service.principal import Principal
from service.web.forms import ConfirmForm, confirmed
from service.web.kit import (
    FORM_INVALID_STATUS,
    Form,
    PageController,
    Reshow,
    Rule,
    Viewer,
    done_message,
    form_post,
    form_refused,
    render,
    schema_type,
    see_other,
    translated_options,
)

KIND_NAMES = {"offer": N_("Offer"), "request": N_("Request")}
KIND_OPTIONS = [("offer", N_("I can offer help")), ("request", N_("I would like some help"))]
KIND_FILTER_OPTIONS = [("offer", N_("Offers of help")), ("request", N_("Requests for help"))]

DONE_MESSAGES = {
    "created": N_("Your listing is published. Other members can find it now."),
    "saved": N_("Your changes have been saved."),
    "withdrawn": N_("Your listing has been withdrawn. Other members can no longer see it."),
}


class ListingForm(msgspec.Struct, kw_only=True):
    """A listing form as posted: every field a string, so a bad value is shown, never a 400."""

    kind: str = ""
    title: str = ""
    description: str = ""
    category: str = ""
    ward: str = ""
    availability: str = ""
    # A checkbox: absent when unticked.
    sensitive: str = ""
    in_home: str = ""


CHECKED = "yes"  # the value of the checkbox
LISTING_RULES = {
    "kind": Rule(
        schema_type(ListingIn, "kind"), N_("Choose whether you are offering help or asking for it")
    ),
    "title": Rule(
        schema_type(ListingIn, "title"),
        N_("Enter a short title, in %(chars)s characters or fewer"),
        values={"chars": LISTING_TITLE_CHARS_MAX},
    ),
    "description": Rule(
        schema_type(ListingIn, "description"),
        N_("Describe the help, in %(chars)s characters or fewer"),
        values={"chars": LISTING_DESCRIPTION_CHARS_MAX},
    ),
    "category": Rule(schema_type(ListingIn, "category"), N_("Choose a category from the list")),
    "ward": Rule(
        schema_type(ListingIn, "ward"),
        N_("Enter the neighbourhood or ward in %(chars)s characters or fewer"),
        values={"chars": WARD_CHARS_MAX},
    ),
    "availability": Rule(
        schema_type(ListingIn, "availability"),
        N_("Enter when you are free in %(chars)s characters or fewer"),
        values={"chars": LISTING_AVAILABILITY_CHARS_MAX},
    ),
}
LISTING_LABELS = {
    "kind": N_("Offer or request"),
    "title": N_("Title"),
    "description": N_("Description"),
    "category": N_("Category"),
    "ward": N_("Neighbourhood or ward"),
    "availability": N_("When"),
}
SEARCH_LABELS = {
    "category": N_("Category"),
    "community": N_("Time bank"),
    "ward": N_("Neighbourhood or ward"),
}
# The categories the market migration seeds, marked so that their names are translated
# where shown (`known_word`); a category a coordinator adds keeps its own words.
SEEDED_CATEGORY_NAMES = (
    N_("Companionship"),
    N_("Shopping and errands"),
    N_("Transport and lifts"),
    N_("Gardening"),
    N_("Household and DIY"),
    N_("Cooking and meals"),
    N_("Technology help"),
    N_("Admin and paperwork"),
    N_("Health and wellbeing (non-clinical)"),
    N_("Learning and skills"),
    N_("Pets"),
    N_("Childcare and family"),
    N_("Other"),
)


def _exchange_link(listing: ListingOut) -> tuple[str, str]:
    """Where "Ask for this" / "Offer this" goes (the exchanges pages), and its words."""
    words = _("Ask for this") if listing.kind == "offer" else _("Offer this")
    return f"/exchanges/new?{urlencode({'listing': str(listing.id)})}", words


async def _category_options() -> list[tuple[str, str]]:
    categories = await listings.categories_list()
    return [(category.slug, known_word(category.name)) for category in categories]


class ListingPages(PageController):
    opt = access(Access.MEMBER, acting=True)
    path = "/listings"

    @get("/")
    async def browse(
        self,
        *,
        viewer: Viewer,
        q: Annotated[str, QueryParameter(max_length=SEARCH_TEXT_CHARS_MAX)] = "",
        kind: Annotated[str, QueryParameter(max_length=10)] = "",
        category: Annotated[str, QueryParameter(max_length=CATEGORY_SLUG_CHARS_MAX)] = "",
        ward: Annotated[str, QueryParameter(max_length=WARD_CHARS_MAX)] = "",
        cursor: Annotated[str, QueryParameter(max_length=CURSOR_CHARS_MAX)] = "",
    ) -> Template:
        search = {"q": q.strip(), "kind": kind, "category": category, "ward": ward.strip()}
        form = Form(values=search)
        filters = listings.ListingFilters(
            kind="offer" if kind == "offer" else "request" if kind == "request" else None,
            category=category or None,
            ward=search["ward"] or None,
            text=search["q"] or None,
        )
        page = None
        status = 200
        try:
            page = await listings.listings_search(
                actor=viewer, filters=filters, limit=LISTINGS_PER_PAGE, cursor=cursor or None
            )
        except DomainError as problem:
            status = form_refused(form, problem, SEARCH_LABELS)["status"]
        query = {name: value for name, value in search.items() if value}
        next_url = None
        if page is not None and page.next_cursor:
            next_url = "/listings?" + urlencode({**query, "cursor": page.next_cursor})
        return render(
            "market/listings.html",
            viewer=viewer,
            title=_("Search results") if query else _("Offers and requests"),
            current="listings",
            status=status,
            form=form,
            searched=bool(query),
            later_page=bool(cursor),
            first_url="/listings" + (f"?{urlencode(query)}" if query else ""),
            items=page.items if page else [],
            next_url=next_url,
            kind_names=KIND_NAMES,
            kind_options=translated_options(KIND_FILTER_OPTIONS),
            category_options=await _category_options(),
        )

    @get("/new")
    async def new_page(self, viewer: Viewer) -> Template:
        member = await services.member_by_id(viewer.member_id)
        form = Form(values={"kind": "offer", "ward": member.ward})
        return await _listing_form_page(viewer, form, listing=None)

    @post("/new")
    async def create(
        self, viewer: Viewer, data: URLEncodedBody[ListingForm], engine: EngineDep
    ) -> Response[Any]:

        async def write(cleaned: dict[str, Any]) -> Response[Any]:
            listing = await listings.listing_create(
                engine=engine,
                actor=viewer,
                data=ListingIn(
                    **cleaned,
                    sensitive=data.sensitive == CHECKED,
                    in_home=data.in_home == CHECKED,
                ),
            )
            return see_other(f"/listings/{listing.id}", done="created")

        async def reshow(form: Form, refused: Reshow) -> Response[Any]:
            return await _listing_form_page(viewer, form, listing=None, **refused)

        return await form_post(
            Form.of(data), data, LISTING_RULES, LISTING_LABELS, write=write, reshow=reshow
        )

    @get("/{listing_id:uuid}")
    async def detail(
        self, viewer: Viewer, listing_id: FromPath[uuid.UUID], done: FromQuery[str | None] = None
    ) -> Template:
        return await _detail_page(viewer, listing_id, notice=done_message(DONE_MESSAGES, done))

    @get("/{listing_id:uuid}/edit")
    async def edit_page(self, viewer: Viewer, listing_id: FromPath[uuid.UUID]) -> Template:
        listing = await _editable(viewer, listing_id)
        form = Form(
            values={
                "kind": listing.kind,
                "title": listing.title,
                "description": listing.description or "",
                "category": listing.category.slug,
                "ward": listing.ward or "",
                "availability": listing.availability or "",
                "sensitive": CHECKED if listing.sensitive else "",
                "in_home": CHECKED if listing.in_home else "",
            }
        )
        return await _listing_form_page(viewer, form, listing=listing)

    @post("/{listing_id:uuid}/edit", opt=on_object("listing", "listing_id"))
    async def edit(
        self,
        viewer: Viewer,
        listing_id: FromPath[uuid.UUID],
        data: URLEncodedBody[ListingForm],
        engine: EngineDep,
    ) -> Response[Any]:
        listing = await _editable(viewer, listing_id)

        async def write(cleaned: dict[str, Any]) -> Response[Any]:
            await listings.listing_update(
                engine=engine,
                actor=viewer,
                listing_id=listing_id,
                patch=ListingPatch(
                    **cleaned,
                    sensitive=data.sensitive == CHECKED,
                    in_home=data.in_home == CHECKED,
                ),
            )
            return see_other(f"/listings/{listing_id}", done="saved")

        async def reshow(form: Form, refused: Reshow) -> Response[Any]:
            return await _listing_form_page(viewer, form, listing=listing, **refused)

        return await form_post(
            Form.of(data), data, LISTING_RULES, LISTING_LABELS, write=write, reshow=reshow
        )

    @post("/{listing_id:uuid}/withdraw")
    async def withdraw(
        self,
        viewer: Viewer,
        listing_id: FromPath[uuid.UUID],
        data: URLEncodedBody[ConfirmForm],
        engine: EngineDep,
    ) -> Response[Any]:
        await _editable(viewer, listing_id)  # only the owner, and only while open
        form = Form.of(data)
        if not confirmed(
            form, data.confirm, N_("Tick the box to confirm that you want to withdraw it")
        ):
            return await _detail_page(viewer, listing_id, form=form, status=FORM_INVALID_STATUS)
        await listings.listing_withdraw(engine=engine, actor=viewer, listing_id=listing_id)
        return see_other(f"/listings/{listing_id}", done="withdrawn")


async def _detail_page(
    viewer: Principal,
    listing_id: uuid.UUID,
    *,
    notice: str | None = None,
    form: Form | None = None,
    status: int = 200,
) -> Template:
    listing = await listings.listing_by_id(actor=viewer, listing_id=listing_id)
    exchange_url, exchange_words = _exchange_link(listing)
    return render(
        "market/listing_detail.html",
        viewer=viewer,
        title=listing.title,
        current="listings",
        status=status,
        listing=listing,
        kind_name=_(KIND_NAMES[listing.kind]),
        is_owner=listing.owner is not None and listing.owner.id == viewer.member_id,
        exchange_url=exchange_url,
        exchange_words=exchange_words,
        notice=notice,
        form=form or Form(),
    )


async def _editable(viewer: Principal, listing_id: uuid.UUID) -> ListingOut:
    """The viewer's own open listing; anything else is an error page (404, 403 or 409)."""
    listing = await listings.listing_by_id(actor=viewer, listing_id=listing_id)
    if listing.owner is None or listing.owner.id != viewer.member_id:
        raise Forbidden(
            code="forbidden",
            detail=_("Only the member who published this listing can change it."),
        )
    if listing.status != "open":
        raise Conflict(
            code="listing_withdrawn",
            detail=_("This listing has been withdrawn and can no longer be changed."),
        )
    return listing


async def _listing_form_page(
    viewer: Principal,
    form: Form,
    *,
    listing: ListingOut | None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    return render(
        "market/listing_form.html",
        viewer=viewer,
        title=_("Change your listing") if listing else _("Publish an offer or a request"),
        current="listings",
        status=status,
        headers=headers,
        form=form,
        listing=listing,
        action=f"/listings/{listing.id}/edit" if listing else "/listings/new",
        kind_options=translated_options(KIND_OPTIONS),
        category_options=await _category_options(),
        limits={
            "title": LISTING_TITLE_CHARS_MAX,
            "description": LISTING_DESCRIPTION_CHARS_MAX,
            "ward": WARD_CHARS_MAX,
            "availability": LISTING_AVAILABILITY_CHARS_MAX,
        },
    )


PAGE_ROUTERS = [ListingPages]
