"""Public HTML pages that belong to no single feature."""

from __future__ import annotations

from litestar import Controller, get
from litestar.response import Template

from service.http.deps import MaybePrincipal


class PublicPages(Controller):
    include_in_schema = False

    @get("/", name="home")
    async def home(self, principal: MaybePrincipal) -> Template:
        # The navigation shows what a signed-in member can open.
        return Template(
            template_name="home.html",
            context={"page_title": "Welcome", "viewer": principal, "current": "home"},
        )
