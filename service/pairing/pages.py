"""The coordinator's suggested pairs page, and introducing a pair."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Response, get, post
from litestar.params import URLEncodedBody
from litestar.response import Template

from service.errors import invalid_field
from service.http.access import Access, access
from service.http.deps import EngineDep
from service.i18n import _
from service.limits import OLDER_MEMBER_AGE_MIN, YOUNGER_MEMBER_AGE_MAX
from service.pairing.pair_pages import PAGE_ROUTERS as PAIR_PAGES
from service.pairing.selectors import suggested_pairs
from service.pairing.services import pair_introduce
from service.web.kit import (
    PageController,
    Viewer,
    render,
    see_other,
)


class IntroduceForm(msgspec.Struct, kw_only=True):
    older_id: str = ""
    younger_id: str = ""


def _uuid(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise invalid_field(field, _("is not valid")) from None


class PairingPages(PageController):
    opt = access(Access.COORDINATOR)
    path = "/coordinator/pairing"

    @get("/")
    async def pairs(self, viewer: Viewer) -> Template:
        return render(
            "pairing/pairs.html",
            viewer=viewer,
            title=_("Suggested pairs"),
            current="coordinator",
            pairs=await suggested_pairs(viewer),
            older_age=OLDER_MEMBER_AGE_MIN,
            younger_age=YOUNGER_MEMBER_AGE_MAX,
        )

    @post("/introduce")
    async def introduce(
        self, viewer: Viewer, data: URLEncodedBody[IntroduceForm], engine: EngineDep
    ) -> Response[Any]:
        await pair_introduce(
            engine=engine,
            actor=viewer,
            older_id=_uuid(data.older_id, "older_id"),
            younger_id=_uuid(data.younger_id, "younger_id"),
        )
        return see_other("/coordinator/pairs", done="introduced")


PAGE_ROUTERS = [PairingPages, *PAIR_PAGES]

__all__ = ["PAGE_ROUTERS"]
