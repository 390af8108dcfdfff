"""Public HTML pages that belong to no single feature."""

from __future__ import annotations

from litestar import Controller, get
from litestar.response import Template

from service.accounts.selectors import account_of
from service.disputes.selectors import dispute_notices_of
from service.exchanges import selectors as exchanges_selectors
from service.formatting import balance_words, minutes_text
from service.http.access import Access, access
from service.http.deps import LedgerDep, MaybePrincipal
from service.i18n import N_, _
from service.mail.notices import event_notices_of
from service.members.communities import community_by_id
from service.members.registration import decline_reason
from service.web.kit import PageController, Viewer, render
from service.wellbeing.services import checkin_due


class PublicPages(Controller):
    opt = access(Access.PUBLIC)
    include_in_schema = False

    @get("/", name="home")
    async def home(self, principal: MaybePrincipal) -> Template:
        # The navigation shows what a signed-in member can open.
        return Template(
            template_name="home.html",
            context={"page_title": _("Welcome"), "viewer": principal, "current": "home"},
        )

    @get("/how-it-works")
    async def how_it_works(self, principal: MaybePrincipal) -> Template:
        """The time bank in plain words, and a first exchange step by step (issue 22)."""
        return Template(
            template_name="how_it_works.html",
            context={
                "page_title": _("How the time bank works"),
                "viewer": principal,
                "current": "how-it-works",
            },
        )


DISPUTE_OUTCOME_WORDS = {
    "upheld": N_("the exchange stands"),
    "reversed": N_("all the hours went back"),
    "adjusted": N_("some of the hours went back"),
}


def _outcome_words(outcome: str | None) -> str:
    words = DISPUTE_OUTCOME_WORDS.get(outcome or "")
    return _(words) if words else ""


class DashboardPages(PageController):
    opt = access(Access.MEMBER, acting=True)

    @get("/dashboard")
    async def dashboard(self, viewer: Viewer, ledger: LedgerDep) -> Template:
        account = await account_of(ledger=ledger, principal=viewer)
        community = await community_by_id(viewer.community_id)
        notice_count, notices = await exchanges_selectors.notices_of(actor=viewer)
        below_floor = account["below_floor_minutes"]
        # A member who has never exchanged is led to a first step before the figures.
        is_new = viewer.status == "active" and not await exchanges_selectors.has_exchanges(
            viewer.member_id
        )
        return render(
            "members/dashboard.html",
            viewer=viewer,
            title=_("Your dashboard"),
            current="dashboard",
            community=community,
            balance=minutes_text(account["balance_minutes"]),
            balance_negative=account["balance_minutes"] < 0,
            balance_sentence=balance_words(account["balance_minutes"], account["floor_minutes"]),
            is_new=is_new,
            available=minutes_text(account["available_minutes"]),
            on_hold=minutes_text(account["pending_minutes"]),
            welcome_credit=minutes_text(community.welcome_credit_minutes),
            notice_count=notice_count,
            notices=[
                {
                    "id": notice.exchange.id,
                    "to_confirm": notice.kind == "exchange_to_confirm",
                    "marked_done": notice.exchange.marked_done_at is not None,
                    "provider": notice.provider_name,
                    "description": notice.exchange.description,
                    "hours": minutes_text(notice.exchange.minutes),
                }
                for notice in notices
            ],
            below_floor=minutes_text(below_floor) if below_floor else None,
            news=await event_notices_of(viewer.member_id),
            wellbeing_due=await checkin_due(viewer),
            declined_reason=await decline_reason(viewer.member_id)
            if viewer.status == "declined"
            else None,
            disputes=[
                {
                    "id": item.dispute.id,
                    "open": item.dispute.status == "open",
                    "mine": item.dispute.opened_by == viewer.member_id,
                    "outcome": _outcome_words(item.dispute.outcome),
                    "description": item.exchange.description,
                }
                for item in await dispute_notices_of(actor=viewer)
            ],
        )


PAGE_ROUTERS = [PublicPages, DashboardPages]
