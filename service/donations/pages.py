"""Donation pages: the donate form (anyone), thanks and cancelled, and the admins' figures.

The donate form posts here; on success the browser is sent (303) to Stripe
Checkout's own page, and Stripe sends it back to /donate/thanks or
/donate/cancelled. Amounts are typed in pounds and become whole pence here.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromQuery, PathParameter, URLEncodedBody
from litestar.response import Redirect, Template

from service import clock
from service.donations import checkout as checkout_service
from service.donations import processing, reports
from service.donations.deps import GATEWAY_DEPENDENCIES, GatewayDep, settings_of
from service.donations.schemas import CheckoutIn, GiftAidIn
from service.errors import DomainError, Forbidden, NotSignedIn, ProviderFailed
from service.formatting import PENCE_PER_POUND, money_text, month_text
from service.http.access import Access, access
from service.http.client import client_address
from service.http.deps import EngineDep, LedgerDep, LimiterDep, MaybePrincipal
from service.http.ratelimit import enforce
from service.http.security import CSP_HEADER, content_security_policy
from service.i18n import N_, _
from service.limits import (
    DONATION_CHECKOUTS_PER_ADDRESS,
    DONATION_PENCE_MAX,
    DONATION_PENCE_MIN,
    GIFT_AID_ADDRESS_CHARS_MAX,
    GIFT_AID_NAME_CHARS_MAX,
    STRIPE_ID_CHARS_MAX,
)
from service.members.communities import communities_list
from service.principal import Principal, require_admin
from service.problems import status_of
from service.web.kit import (
    PAGE_DEPENDENCIES,
    Form,
    Rule,
    Viewer,
    form_refused,
    page_exception_handlers,
    render,
    schema_type,
    see_other,
    validate,
)

CHECKED = "yes"
FREQUENCIES = (("once", N_("Once")), ("monthly", N_("Every month")))
_POUNDS = re.compile(r"^£?(\d{1,7})(?:\.(\d{2}))?$")


def _amount_message() -> str:
    return _("Enter an amount in pounds from %(low)s to %(high)s, like 10 or 12.50") % {
        "low": f"£{DONATION_PENCE_MIN // PENCE_PER_POUND}",
        "high": f"£{DONATION_PENCE_MAX // PENCE_PER_POUND:,}",
    }


def _gift_aid_rules() -> dict[str, Rule]:
    """The Gift Aid fields' rules, their messages in the reader's language."""
    return {
        "full_name": Rule(
            schema_type(GiftAidIn, "full_name"),
            _("Enter your full name, in %(count)s characters or fewer")
            % {"count": GIFT_AID_NAME_CHARS_MAX},
        ),
        "home_address": Rule(
            schema_type(GiftAidIn, "home_address"),
            _("Enter your home address, in %(count)s characters or fewer")
            % {"count": GIFT_AID_ADDRESS_CHARS_MAX},
        ),
        "postcode": Rule(
            schema_type(GiftAidIn, "postcode"), _("Enter a UK postcode, like SW1A 1AA")
        ),
    }


REPROCESS_NOTICES = {
    "resolved": N_("The event was reprocessed and applied."),
    "kept": N_("The event was reprocessed but still matches no gift; it stays in the list."),
}
StripeEventId = Annotated[str, PathParameter(min_length=1, max_length=STRIPE_ID_CHARS_MAX)]
LABELS = {
    "amount": N_("Amount"),
    "frequency": N_("How often"),
    "community": N_("Time bank"),
    "gift_aid": N_("Gift Aid"),
    "full_name": N_("Full name"),
    "home_address": N_("Home address"),
    "postcode": N_("Postcode"),
}


class DonateForm(msgspec.Struct, kw_only=True):
    amount: str = ""
    frequency: str = "once"
    community: str = ""
    gift_aid: str = ""
    full_name: str = ""
    home_address: str = ""
    postcode: str = ""


def pence_from_pounds(text: str) -> int | None:
    """ "12.50" or "£1,000" -> pence; None if it is not an amount of pounds and pence."""
    match = _POUNDS.fullmatch(text.strip().replace(",", "").replace(" ", ""))
    if match is None:
        return None
    return int(match.group(1)) * PENCE_PER_POUND + int(match.group(2) or 0)


def _checkout_in(form: Form, data: DonateForm) -> CheckoutIn | None:
    pence = pence_from_pounds(data.amount)
    if pence is None or not DONATION_PENCE_MIN <= pence <= DONATION_PENCE_MAX:
        form.errors["amount"] = _amount_message()
    if data.frequency not in dict(FREQUENCIES):
        form.errors["frequency"] = _("Choose once or every month")
    if not data.community:
        form.errors["community"] = _("Choose the time bank to give to")
    gift_aid = None
    if data.gift_aid == CHECKED:
        cleaned = validate(form, data, _gift_aid_rules())
        if not form.failed:
            gift_aid = GiftAidIn(**cleaned)
    if form.failed or pence is None:
        return None
    return CheckoutIn(
        amount_pence=pence,
        community=data.community,
        recurring=data.frequency == "monthly",
        gift_aid=gift_aid,
    )


class DonatePages(Controller):
    """Pages anyone may open."""

    opt = access(Access.PUBLIC)

    include_in_schema = False
    dependencies = GATEWAY_DEPENDENCIES
    exception_handlers = page_exception_handlers()

    @get("/donate")
    async def donate_page(
        self,
        request: Request[Any, Any, Any],
        principal: MaybePrincipal,
        community: FromQuery[str | None] = None,
    ) -> Template:
        form = Form(values={"frequency": "once", "community": community or ""})
        return await _donate_page(request, principal, form)

    @post("/donate")
    async def donate(
        self,
        *,
        request: Request[Any, Any, Any],
        principal: MaybePrincipal,
        engine: EngineDep,
        limiter: LimiterDep,
        gateway: GatewayDep,
        data: URLEncodedBody[DonateForm],
    ) -> Response[Any]:
        settings = settings_of(request)
        form = Form.of(data)
        if gateway is None or not settings.stripe.enabled:
            return await _donate_page(request, principal, form, status=503)
        checkout_in = _checkout_in(form, data)
        if checkout_in is None:
            return await _donate_page(request, principal, form, status=422)
        try:
            key = f"donation-checkout:address:{client_address(request)}"
            await enforce(limiter, key, DONATION_CHECKOUTS_PER_ADDRESS)
            opened = await checkout_service.checkout_open(
                engine=engine,
                gateway=gateway,
                config=settings.stripe,
                public_base_url=settings.public_base_url,
                principal=principal,
                data=checkout_in,
            )
        except DomainError as problem:
            if isinstance(problem, ProviderFailed):  # Stripe unreachable: say so on the form
                form.general.append(problem.detail)
                return await _donate_page(request, principal, form, status=502)
            refused = form_refused(form, problem, {k: _(v) for k, v in LABELS.items()})
            return await _donate_page(request, principal, form, **refused)
        # Stripe's page takes the card details; we never see them.
        return Redirect(opened.checkout_url, status_code=303)

    @get("/donate/thanks")
    async def thanks(self, principal: MaybePrincipal) -> Template:
        return render("donations/thanks.html", viewer=principal, title=_("Thank you for your gift"))

    @get("/donate/cancelled")
    async def cancelled(self, principal: MaybePrincipal) -> Template:
        return render("donations/cancelled.html", viewer=principal, title=_("No money was taken"))


async def _donate_page(
    request: Request[Any, Any, Any],
    viewer: Principal | None,
    form: Form,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    communities = await communities_list()
    if not form.values.get("community"):
        if viewer is not None:
            form.values["community"] = next(
                (c.slug for c in communities if c.id == viewer.community_id), ""
            )
        elif len(communities) == 1:
            form.values["community"] = communities[0].slug
    stripe = settings_of(request).stripe
    # The form is answered with a redirect to Stripe Checkout: this page's policy allows it.
    policy = {CSP_HEADER: content_security_policy(form_targets=(stripe.checkout_origin,))}
    return render(
        "donations/donate.html",
        viewer=viewer,
        title=_("Give money to your time bank"),
        current="donate",
        status=status,
        headers={**(headers or {}), **policy},
        form=form,
        enabled=stripe.enabled,
        community_options=[(c.slug, c.name) for c in communities],
        frequency_options=[(value, _(words)) for value, words in FREQUENCIES],
        amount_min=money_text(DONATION_PENCE_MIN),
        amount_max=money_text(DONATION_PENCE_MAX),
        name_max=GIFT_AID_NAME_CHARS_MAX,
        address_max=GIFT_AID_ADDRESS_CHARS_MAX,
    )


# The admin page's Reprocess asks Stripe for a gift's fee, as the webhook does.
ADMIN_PAGE_DEPENDENCIES = {**PAGE_DEPENDENCIES, **GATEWAY_DEPENDENCIES}


class DonationAdminPages(Controller):
    opt = access(Access.ADMIN)
    path = "/admin"
    include_in_schema = False
    dependencies = ADMIN_PAGE_DEPENDENCIES
    exception_handlers = page_exception_handlers()

    @get("/donations")
    async def donations(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        done: FromQuery[str | None] = None,
    ) -> Template:
        return await _admin_donations_page(
            request,
            viewer,
            notice=_(REPROCESS_NOTICES[done]) if done in REPROCESS_NOTICES else None,
        )

    @post("/donations/events/{event_id:str}/reprocess")
    async def reprocess(
        self,
        *,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        event_id: StripeEventId,
        engine: EngineDep,
        ledger: LedgerDep,
        gateway: GatewayDep,
    ) -> Response[Any]:
        try:
            done = await processing.event_reprocess(
                engine=engine, ledger=ledger, gateway=gateway, actor=viewer, event_id=event_id
            )
        except DomainError as problem:
            if isinstance(problem, NotSignedIn | Forbidden):  # the error page answers these
                raise
            # Not found, or already applied: say so on the page, with the problem's status.
            return await _admin_donations_page(
                request, viewer, failure=problem.detail, status=status_of(problem)
            )
        return see_other("/admin/donations", done="resolved" if done.resolved else "kept")

    @get("/donations.csv", media_type="text/csv")
    async def donations_csv(self, viewer: Viewer) -> Response[str]:
        require_admin(viewer)
        report = await reports.donation_report(actor=viewer)
        day = clock.local_today().isoformat()
        return Response(
            reports.report_csv(report.months),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="donations-{day}.csv"',
                "Cache-Control": "no-store",
            },
        )


async def _admin_donations_page(
    request: Request[Any, Any, Any],
    viewer: Principal,
    *,
    notice: str | None = None,
    failure: str | None = None,
    status: int = 200,
) -> Template:
    report = await reports.donation_report(actor=viewer)
    return render(
        "donations/admin_donations.html",
        viewer=viewer,
        title=_("Donations"),
        current="admin",
        status=status,
        enabled=settings_of(request).stripe.enabled,
        months=report.months,
        monthly_donors=report.monthly_donors,
        unmatched=report.unmatched,
        notice=notice,
        failure=failure,
        money=money_text,
        month_name=month_text,
    )


PAGE_ROUTERS = [DonatePages, DonationAdminPages]
