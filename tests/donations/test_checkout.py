"""POST /api/v1/donations/checkout: a Stripe Checkout Session through the SDK, and bad input."""

from __future__ import annotations

import msgspec
import pytest

from service.app import create_app
from service.donations.tables import DonationCheckout, GiftAidDeclaration
from service.settings import Settings, StripeSettings
from tests.donations.conftest import Gifts, open_checkout, running
from tests.donations.fake_stripe import FakeStripe

CHECKOUT = "/api/v1/donations/checkout"
GIFT_AID = {
    "full_name": "Nell Newcomer",
    "home_address": "12 Mill Lane, Riverside",
    "postcode": "rv1 2ab",
}


async def test_a_one_off_gift_opens_a_payment_session(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    session_id = await open_checkout(gifts.client, amount_pence=2500)

    (call,) = fake_stripe.created_sessions()
    params = call.params
    assert params["mode"] == "payment"
    assert params["line_items[0][price_data][currency]"] == "gbp"
    assert params["line_items[0][price_data][unit_amount]"] == "2500"
    assert params["line_items[0][price_data][product_data][name]"] == "Gift to Riverside"
    assert "line_items[0][price_data][recurring][interval]" not in params
    assert params["success_url"] == "http://testserver.local/donate/thanks"
    assert params["cancel_url"] == "http://testserver.local/donate/cancelled"
    assert params["submit_type"] == "donate"
    checkout = (
        await DonationCheckout.objects()
        .where(DonationCheckout.stripe_session_id == session_id)
        .first()
    )
    assert checkout is not None
    assert (checkout.amount_pence, checkout.recurring, checkout.gift_aid) == (2500, False, False)
    assert checkout.member is None  # given without signing in
    # Our id travels with the session and its payment, and keys Stripe's idempotency.
    assert params["client_reference_id"] == str(checkout.id)
    assert params["payment_intent_data[metadata][checkout_id]"] == str(checkout.id)
    assert call.headers["idempotency-key"] == f"timebank-checkout-{checkout.id}"
    assert call.headers["authorization"].startswith("Bearer sk_test_")


async def test_a_monthly_gift_opens_a_subscription_session(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    await open_checkout(
        gifts.client, amount_pence=1000, recurring=True, headers=gifts.alice.headers
    )

    (call,) = fake_stripe.created_sessions()
    assert call.params["mode"] == "subscription"
    assert call.params["line_items[0][price_data][recurring][interval]"] == "month"
    assert "submit_type" not in call.params
    checkout = await DonationCheckout.objects().first()
    assert checkout is not None
    assert call.params["subscription_data[metadata][checkout_id]"] == str(checkout.id)
    assert checkout.recurring is True
    assert checkout.member == gifts.alice.id


async def test_gift_aid_details_are_kept_here_and_never_sent_to_stripe(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    await open_checkout(gifts.client, gift_aid=GIFT_AID)

    (call,) = fake_stripe.created_sessions()
    sent = " ".join(call.params.values())
    assert "Nell" not in sent
    assert "Mill Lane" not in sent
    declaration = await GiftAidDeclaration.objects().first()
    assert declaration is not None
    assert (declaration.full_name, declaration.postcode) == ("Nell Newcomer", "RV1 2AB")
    checkout = await DonationCheckout.objects().first()
    assert checkout is not None
    assert checkout.gift_aid is True
    assert declaration.checkout == checkout.id


async def test_a_repeated_idempotency_key_opens_one_session(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    headers = {**gifts.bob.headers, "Idempotency-Key": "gift-1"}
    first = await open_checkout(gifts.client, headers=headers)
    again = await open_checkout(gifts.client, headers=headers)

    assert first == again
    assert len(fake_stripe.created_sessions()) == 1
    assert await DonationCheckout.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount_pence": 99, "community": "riverside"}, "amount_pence"),
        ({"amount_pence": 100_001, "community": "riverside"}, "amount_pence"),
        ({"amount_pence": 10.5, "community": "riverside"}, "amount_pence"),
        ({"amount_pence": "1000", "community": "riverside"}, "amount_pence"),
        ({"amount_pence": 1000}, "community"),
        ({"amount_pence": 1000, "community": "riverside", "recurring": "yes"}, "recurring"),
        (
            {"amount_pence": 1000, "community": "riverside", "gift_aid": {"full_name": "N"}},
            "gift_aid.home_address",
        ),
        (
            {
                "amount_pence": 1000,
                "community": "riverside",
                "gift_aid": {**GIFT_AID, "postcode": "12345"},
            },
            "gift_aid.postcode",
        ),
        ({"amount_pence": 1000, "community": "riverside", "currency": "usd"}, "currency"),
    ],
)
async def test_bad_input_is_a_problem_and_asks_nothing_of_stripe(
    gifts: Gifts, fake_stripe: FakeStripe, body: dict[str, object], field: str
) -> None:
    response = await gifts.client.post(CHECKOUT, json=body)

    assert response.status_code == 400, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == "validation_failed"
    assert problem["errors"][0]["field"] == field
    assert fake_stripe.created_sessions() == []
    assert await DonationCheckout.count() == 0


async def test_an_unknown_community_is_named_in_the_problem(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    response = await gifts.client.post(
        CHECKOUT, json={"amount_pence": 1000, "community": "nowhere"}
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "community"
    assert fake_stripe.created_sessions() == []


async def test_a_body_that_is_not_json_is_refused(gifts: Gifts) -> None:
    response = await gifts.client.post(
        CHECKOUT, content=b"amount_pence=1000", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415


async def test_stripe_failing_leaves_nothing_behind(gifts: Gifts, fake_stripe: FakeStripe) -> None:
    fake_stripe.failures_left = 1

    response = await gifts.client.post(
        CHECKOUT, json={"amount_pence": 1000, "community": "riverside"}
    )

    assert response.status_code == 502
    assert response.json()["code"] == "payment_provider_unavailable"
    assert await DonationCheckout.count() == 0
    # The next try works: nothing was left half-done.
    await open_checkout(gifts.client)
    assert await DonationCheckout.count() == 1


async def test_without_keys_donations_answer_not_configured(settings: Settings) -> None:
    app = create_app(msgspec.structs.replace(settings, stripe=StripeSettings()))
    async with running(app) as client:
        checkout = await client.post(
            CHECKOUT, json={"amount_pence": 1000, "community": "riverside"}
        )
        webhook = await client.post("/api/v1/webhooks/stripe", content=b"{}")
        page = await client.get("/donate")

    assert checkout.status_code == 503
    assert checkout.json()["code"] == "donations_not_configured"
    assert webhook.status_code == 503
    assert page.status_code == 200
    assert "Donations are not set up yet" in page.text
