"""The donate pages and the admins' donation figures, through HTTP with cookies and CSRF."""

from __future__ import annotations

import csv
import io
import re

import msgspec

from service.app import create_app
from service.donations.pages import pence_from_pounds
from service.donations.tables import DonationCheckout, GiftAidDeclaration
from service.formatting import money_text, month_text
from service.settings import Settings, StripeSettings
from tests.donations import stripe_events as ev
from tests.donations.conftest import Gifts, deliver, open_checkout
from tests.donations.fake_stripe import FakeStripe
from tests.donations.page_helpers import sign_in, submit, text_of
from tests.support.app import running
from tests.support.people import Person

DONATE_FIELDS = {
    "community": "riverside",
    "amount": "12.50",
    "frequency": "monthly",
    "gift_aid": "yes",
    "full_name": "Nell Newcomer",
    "home_address": "12 Mill Lane, Riverside",
    "postcode": "RV1 2AB",
}


def test_pounds_become_pence_and_back() -> None:
    assert pence_from_pounds("12.50") == 1250
    assert pence_from_pounds("£1,000") == 100_000
    assert pence_from_pounds(" 7 ") == 700
    for bad in ("", "abc", "1.5", "12.505", "-3", "1e3", "£"):
        assert pence_from_pounds(bad) is None, bad
    assert money_text(1250) == "£12.50"
    assert money_text(300) == "£3"
    assert money_text(-120) == "minus £1.20"
    assert money_text(123_456) == "£1,234.56"
    assert month_text("2026-11") == "November 2026"


async def test_the_donate_form_sends_the_donor_to_stripe_checkout(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    page = await gifts.client.get("/donate")
    assert page.status_code == 200
    assert "Continue to payment" in page.text

    response = await submit(gifts.client, "/donate", "/donate", DONATE_FIELDS)

    assert response.status_code == 303
    (call,) = fake_stripe.created_sessions()
    session = next(iter(fake_stripe.sessions.values()))
    assert response.headers["location"] == session["url"]
    assert call.params["mode"] == "subscription"
    assert call.params["line_items[0][price_data][unit_amount]"] == "1250"
    declaration = await GiftAidDeclaration.objects().first()
    assert declaration is not None
    assert declaration.home_address == "12 Mill Lane, Riverside"


async def test_mistakes_are_shown_on_the_form_and_nothing_reaches_stripe(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    fields = {**DONATE_FIELDS, "amount": "a lot", "full_name": "", "postcode": "nowhere"}

    response = await submit(gifts.client, "/donate", "/donate", fields)

    assert response.status_code == 422
    shown = text_of(response.text)
    assert "There is a problem" in shown
    assert "Enter an amount in pounds from £1 to £1,000" in shown
    assert "Enter your full name" in shown
    assert "Enter a UK postcode" in shown
    assert 'value="12 Mill Lane, Riverside"' in response.text  # what was typed stays
    assert fake_stripe.created_sessions() == []
    assert await DonationCheckout.count() == 0


async def test_gift_aid_fields_are_not_needed_without_gift_aid(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    fields = {"community": "hillside", "amount": "5", "frequency": "once"}
    response = await submit(gifts.client, "/donate", "/donate", fields)
    assert response.status_code == 303
    assert fake_stripe.created_sessions()[0].params["mode"] == "payment"
    assert await GiftAidDeclaration.count() == 0


async def test_a_signed_in_members_own_time_bank_is_chosen(gifts: Gifts) -> None:
    await sign_in(gifts.client, gifts.alice)
    page = await gifts.client.get("/donate")
    assert re.search(r'<option value="riverside" selected>', page.text)


async def test_stripe_unreachable_is_said_on_the_form(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    fake_stripe.failures_left = 1
    response = await submit(gifts.client, "/donate", "/donate", DONATE_FIELDS)
    assert response.status_code == 502
    assert "Nothing was taken" in text_of(response.text)
    assert await DonationCheckout.count() == 0


async def test_thanks_and_cancelled_pages(gifts: Gifts) -> None:
    thanks = await gifts.client.get("/donate/thanks")
    cancelled = await gifts.client.get("/donate/cancelled")
    assert thanks.status_code == cancelled.status_code == 200
    assert "Thank you for your gift" in thanks.text
    assert "No money was taken" in cancelled.text


async def test_without_keys_the_pages_say_donations_are_not_set_up(settings: Settings) -> None:
    app = create_app(msgspec.structs.replace(settings, stripe=StripeSettings()))
    async with running(app) as client:
        page = await client.get("/donate")
        posted = await submit(client, "/sign-in", "/donate", DONATE_FIELDS)  # a page with a token

    assert page.status_code == 200
    assert "Donations are not set up yet" in text_of(page.text)
    assert "Continue to payment" not in page.text
    assert posted.status_code == 503
    assert "Donations are not set up yet" in text_of(posted.text)


async def record_some_giving(gifts: Gifts, fake_stripe: FakeStripe) -> None:
    """Riverside: £25 with a 58p fee, £5 of it refunded; a monthly donor; one stranger event."""
    session_id = await open_checkout(gifts.client, amount_pence=2500, gift_aid=DONATE_GIFT_AID)
    fake_stripe.add_payment("pi_a", fee_pence=58)
    await deliver(
        gifts.client, ev.session_completed(fake_stripe.sessions[session_id], payment_intent="pi_a")
    )
    refund = ev.charge_event(
        "charge.refunded", "ch_a", payment_intent="pi_a", amount=2500, amount_refunded=500
    )
    await deliver(gifts.client, refund)
    monthly = await open_checkout(gifts.client, amount_pence=1000, recurring=True)
    await deliver(
        gifts.client, ev.session_completed(fake_stripe.sessions[monthly], subscription="sub_m")
    )
    stranger = {
        "id": "cs_test_stranger",
        "object": "checkout.session",
        "mode": "payment",
        "currency": "gbp",
    }
    await deliver(
        gifts.client, ev.session_completed(stranger, event_type="checkout.session.completed")
    )


DONATE_GIFT_AID = {
    "full_name": "Nell Newcomer",
    "home_address": "12 Mill Lane",
    "postcode": "RV1 2AB",
}


async def test_admins_see_donations_by_month_with_a_csv(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    await record_some_giving(gifts, fake_stripe)
    await sign_in(gifts.client, Person(gifts.admin.id, gifts.admin.email, {}))

    page = await gifts.client.get("/admin/donations")

    assert page.status_code == 200
    shown = text_of(page.text)
    assert "Riverside 1 £25 £25 58p" not in shown  # money is written in pounds, never pence
    assert re.search(r"Riverside 1 £25 £25 £0\.58 £5 £0 £19\.42", shown), shown
    assert "Riverside: 1 person gives every month" in shown
    assert "Hillside: 0 people give every month" in shown
    assert "cs_test_stranger" in shown
    exported = await gifts.client.get("/admin/donations.csv")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 1
    assert rows[0]["community"] == "riverside"
    assert (rows[0]["received_pence"], rows[0]["gift_aid_declared_pence"]) == ("2500", "2500")
    assert (rows[0]["fees_pence"], rows[0]["refunded_pence"], rows[0]["net_pence"]) == (
        "58",
        "500",
        "1942",
    )


async def test_only_admins_open_the_donation_figures(gifts: Gifts) -> None:
    anonymous = await gifts.client.get("/admin/donations", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/sign-in")
    await sign_in(gifts.client, gifts.bob)
    for path in ("/admin/donations", "/admin/donations.csv"):
        refused = await gifts.client.get(path)
        assert refused.status_code == 403, path


async def test_only_the_donate_page_may_send_its_form_to_stripe_checkout(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    donate = await gifts.client.get("/donate")
    other = await gifts.client.get("/donate/thanks")

    # Chromium applies form-action to the redirect that answers a form, too.
    assert (
        f"form-action 'self' {fake_stripe.base_url};" in donate.headers["content-security-policy"]
    )
    assert "form-action 'self';" in other.headers["content-security-policy"]


async def test_pages_link_to_the_donate_page_only_when_donations_are_on(
    settings: Settings, gifts: Gifts
) -> None:
    """Nothing is linked that is switched off: without Stripe no page offers to donate."""
    with_stripe = await gifts.client.get("/")
    assert 'href="/donate"' in with_stripe.text
    app = create_app(msgspec.structs.replace(settings, stripe=StripeSettings()))
    async with running(app) as client:
        without_stripe = await client.get("/")
    assert without_stripe.status_code == 200
    assert 'href="/donate"' not in without_stripe.text
