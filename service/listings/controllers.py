"""The categories and listings JSON API: thin handlers over service/listings/services.py."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from service.http.access import Access, access, on_object
from service.http.deps import CurrentMember, EngineDep
from service.limits import (
    CATEGORY_SLUG_CHARS_MAX,
    CURSOR_CHARS_MAX,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    SEARCH_TEXT_CHARS_MAX,
    SLUG_CHARS_MAX,
    WARD_CHARS_MAX,
)
from service.listings import lifecycle
from service.listings import services as listings
from service.listings.schemas import (
    CATEGORY_SLUG_PATTERN,
    SINGLE_LINE_PATTERN,
    CategoryOut,
    ListingIn,
    ListingKind,
    ListingOut,
    ListingPage,
    ListingPatch,
)

CURSOR_PATTERN = r"^[A-Za-z0-9_-]*$"


class CategoryController(Controller):
    opt = access(Access.PUBLIC)
    path = "/api/v1/categories"
    tags = ("listings",)

    @get("/")
    async def categories(self) -> list[CategoryOut]:
        return [
            CategoryOut(id=category.id, slug=category.slug, name=category.name)
            for category in await listings.categories_list()
        ]


class ListingController(Controller):
    opt = access(Access.MEMBER, acting=True)
    path = "/api/v1/listings"
    tags = ("listings",)

    @post("/", status_code=HTTP_201_CREATED)
    async def create(
        self, member: CurrentMember, data: JSONBody[ListingIn], engine: EngineDep
    ) -> ListingOut:
        return await listings.listing_create(engine=engine, actor=member, data=data)

    @get("/")
    async def search(
        self,
        *,
        member: CurrentMember,
        kind: Annotated[ListingKind | None, QueryParameter()] = None,
        category: Annotated[
            str | None,
            QueryParameter(max_length=CATEGORY_SLUG_CHARS_MAX, pattern=CATEGORY_SLUG_PATTERN),
        ] = None,
        ward: Annotated[
            str | None, QueryParameter(max_length=WARD_CHARS_MAX, pattern=SINGLE_LINE_PATTERN)
        ] = None,
        community: Annotated[
            str | None, QueryParameter(max_length=SLUG_CHARS_MAX, pattern=CATEGORY_SLUG_PATTERN)
        ] = None,
        q: Annotated[
            str | None,
            QueryParameter(
                max_length=SEARCH_TEXT_CHARS_MAX,
                description="Free text, ranked (PostgreSQL web-search syntax on PostgreSQL).",
            ),
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=PAGE_SIZE_MAX)] = PAGE_SIZE_DEFAULT,
        cursor: Annotated[
            str | None, QueryParameter(max_length=CURSOR_CHARS_MAX, pattern=CURSOR_PATTERN)
        ] = None,
    ) -> ListingPage:
        filters = listings.ListingFilters(
            kind=kind, category=category, ward=ward, community=community, text=q
        )
        return await listings.listings_search(
            actor=member, filters=filters, limit=limit, cursor=cursor or None
        )

    @get("/{listing_id:uuid}")
    async def one(self, member: CurrentMember, listing_id: FromPath[uuid.UUID]) -> ListingOut:
        return await listings.listing_by_id(actor=member, listing_id=listing_id)

    @patch("/{listing_id:uuid}", opt=on_object("listing", "listing_id"))
    async def update(
        self,
        member: CurrentMember,
        listing_id: FromPath[uuid.UUID],
        data: JSONBody[ListingPatch],
        engine: EngineDep,
    ) -> ListingOut:
        return await listings.listing_update(
            engine=engine, actor=member, listing_id=listing_id, patch=data
        )

    @delete("/{listing_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def withdraw(
        self, member: CurrentMember, listing_id: FromPath[uuid.UUID], engine: EngineDep
    ) -> None:
        await listings.listing_withdraw(engine=engine, actor=member, listing_id=listing_id)

    @post("/{listing_id:uuid}/pause", status_code=200)
    async def pause(
        self, member: CurrentMember, listing_id: FromPath[uuid.UUID], engine: EngineDep
    ) -> ListingOut:
        """Take your listing out of search for now."""
        return await lifecycle.listing_pause(engine=engine, actor=member, listing_id=listing_id)

    @post("/{listing_id:uuid}/resume", status_code=200)
    async def resume(
        self, member: CurrentMember, listing_id: FromPath[uuid.UUID], engine: EngineDep
    ) -> ListingOut:
        """Put a paused listing back in search."""
        return await lifecycle.listing_resume(engine=engine, actor=member, listing_id=listing_id)

    @post("/{listing_id:uuid}/renew", status_code=200)
    async def renew(
        self, member: CurrentMember, listing_id: FromPath[uuid.UUID], engine: EngineDep
    ) -> ListingOut:
        """Keep your listing up for the community's number of days from now."""
        return await lifecycle.listing_renew(engine=engine, actor=member, listing_id=listing_id)


ROUTERS = [CategoryController, ListingController]
