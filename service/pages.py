"""Public HTML pages that belong to no single feature."""

from __future__ import annotations

from litestar import Controller, get
from litestar.response import Template


class PublicPages(Controller):
    include_in_schema = False

    @get("/", name="home", sync_to_thread=False)
    def home(self) -> Template:
        return Template(template_name="home.html", context={"page_title": "Welcome"})
