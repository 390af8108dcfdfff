"""Paper pages: the printable statement (own, or a coordinator's member), its plain CSV,
and a community's printable offers and requests. Thin: the rules are in services.py."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from litestar import Response, get
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from service import clock
from service.formatting import date_words, minutes_text
from service.http.access import Access, access
from service.http.deps import LedgerDep
from service.i18n import _
from service.paper import services as paper
from service.paper.downloads import FromDay, ToDay, plain_csv_download, statement_for_period
from service.principal import Principal
from service.web.kit import PageController, Viewer, render

SlugQuery = Annotated[str, QueryParameter(max_length=60)]


def day_words(day: date) -> str:
    """ "Thursday 3 December 2026" (docs/words.md)."""
    return date_words(day)


async def _statement_page(
    viewer: Principal,
    ledger: LedgerDep,
    member_id: uuid.UUID,
    first_day: date | None,
    last_day: date | None,
    *,
    base_path: str,
) -> Template:
    period, statement = await statement_for_period(viewer, ledger, member_id, first_day, last_day)
    query = f"from={period.first_day.isoformat()}&to={period.last_day.isoformat()}"
    return render(
        "paper/statement_print.html",
        viewer=viewer,
        title=_("Statement for %(name)s") % {"name": statement.display_name},
        current="statement",
        statement=statement,
        first_words=day_words(period.first_day),
        last_words=day_words(period.last_day),
        opening=_amount(statement.opening_minutes),
        closing=_amount(statement.closing_minutes),
        lines=[
            {
                "recorded_day": line.recorded_day,
                "help_day": line.help_day,
                "what": line.what,
                "with": line.with_whom,
                "note": line.note,
                "in": _amount(line.minutes) if line.minutes > 0 else None,
                "out": _amount(-line.minutes) if line.minutes < 0 else None,
                "balance": _amount(line.balance_after_minutes),
            }
            for line in statement.lines
        ],
        form_action=f"{base_path}/print",
        csv_url=f"{base_path}/plain.csv?{query}",
        values={"from": period.first_day.isoformat(), "to": period.last_day.isoformat()},
    )


def _amount(minutes: int) -> dict[str, str]:
    return {"words": minutes_text(minutes), "figures": paper.hours_figures(minutes)}


class PaperPages(PageController):
    opt = access(Access.MEMBER)

    @get("/statement/print")
    async def own_statement(
        self, viewer: Viewer, ledger: LedgerDep, first_day: FromDay = None, last_day: ToDay = None
    ) -> Template:
        return await _statement_page(
            viewer, ledger, viewer.member_id, first_day, last_day, base_path="/statement"
        )

    @get("/statement/plain.csv", media_type="text/csv")
    async def own_plain_csv(
        self, viewer: Viewer, ledger: LedgerDep, first_day: FromDay = None, last_day: ToDay = None
    ) -> Response[str]:
        return await plain_csv_download(
            viewer, ledger, viewer.member_id, first_day, last_day, dated_name=True
        )

    @get("/listings/print")
    async def listings(self, viewer: Viewer, community: SlugQuery = "") -> Template:
        chosen, categories = await paper.paper_listings(actor=viewer, slug=community or None)
        return render(
            "paper/listings_print.html",
            viewer=viewer,
            title=_("Offers and requests: %(name)s") % {"name": chosen.name},
            current="listings",
            community=chosen,
            categories=categories,
            printed_on=day_words(clock.local_today()),
        )


class CoordinatorPaperPages(PageController):
    """For a member of the coordinator's community; the desk links here (issue 16)."""

    opt = access(Access.COORDINATOR)
    path = "/coordinator/members"

    @get("/{member_id:uuid}/statement/print")
    async def statement(
        self,
        viewer: Viewer,
        ledger: LedgerDep,
        member_id: FromPath[uuid.UUID],
        first_day: FromDay = None,
        last_day: ToDay = None,
    ) -> Template:
        return await _statement_page(
            viewer,
            ledger,
            member_id,
            first_day,
            last_day,
            base_path=f"/coordinator/members/{member_id}/statement",
        )

    @get("/{member_id:uuid}/statement/plain.csv", media_type="text/csv")
    async def plain_csv(
        self,
        viewer: Viewer,
        ledger: LedgerDep,
        member_id: FromPath[uuid.UUID],
        first_day: FromDay = None,
        last_day: ToDay = None,
    ) -> Response[str]:
        return await plain_csv_download(
            viewer, ledger, member_id, first_day, last_day, dated_name=True
        )


PAGE_ROUTERS = [PaperPages, CoordinatorPaperPages]
