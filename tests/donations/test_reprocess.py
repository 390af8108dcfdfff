"""Admins reprocess an unmatched Stripe event: through the API and the admin page.

The story: an invoice of a monthly gift arrives before anything links its
subscription to our checkout, so it matches nothing. Once the session's event
links the subscription, an admin presses Reprocess and the gift is recorded, once.
"""

from __future__ import annotations

from typing import Any

import pytest

from service.donations.tables import (
    DonationCheckout,
    DonationPayment,
    StripeEvent,
    StripeEventPayload,
    StripeEventReplay,
)
from service.members.tables import AuditEntry
from tests.donations import stripe_events as ev
from tests.donations.conftest import Gifts, Money, deliver, money_of, open_checkout
from tests.donations.fake_stripe import FakeStripe
from tests.donations.page_helpers import CSRF_INPUT, sign_in, submit, text_of

MONTHLY = 1000
FEE = 35


def reprocess_path(event_id: str) -> str:
    return f"/api/v1/admin/donations/events/{event_id}/reprocess"


async def unmatched_invoice(gifts: Gifts, fake_stripe: FakeStripe, *, link: bool = True) -> str:
    """An invoice that matched nothing; with `link`, its subscription is linked afterwards."""
    session_id = await open_checkout(gifts.client, amount_pence=MONTHLY, recurring=True)
    fake_stripe.add_payment("pi_inv", fee_pence=FEE)
    invoice = ev.invoice_paid(
        "in_early", subscription="sub_late", amount_paid=MONTHLY, payment_intent="pi_inv"
    )
    assert (await deliver(gifts.client, invoice))["outcome"] == "unmatched"
    if link:
        session = ev.session_completed(fake_stripe.sessions[session_id], subscription="sub_late")
        assert (await deliver(gifts.client, session))["outcome"] == "linked"
    assert await money_of(gifts.app, "riverside") == Money(0, 0, 0)
    return str(invoice["id"])


async def test_an_admin_reprocesses_an_unmatched_event_and_it_applies_once(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    event_id = await unmatched_invoice(gifts, fake_stripe)

    response = await gifts.client.post(reprocess_path(event_id), headers=gifts.admin.headers)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "event_id": event_id,
        "outcome": "donation",
        "detail": "",
        "resolved": True,
    }
    assert await money_of(gifts.app, "riverside") == Money(-MONTHLY + FEE, MONTHLY, -FEE)
    (replay,) = await StripeEventReplay.objects()
    assert (replay.outcome, replay.actor) == ("donation", f"member:{gifts.admin.id}")
    audit = await AuditEntry.objects().where(AuditEntry.action == "donation.event_reprocess")
    assert [(entry.target_id, entry.actor_id) for entry in audit] == [(event_id, gifts.admin.id)]
    assert await StripeEventPayload.count() == 0

    again = await gifts.client.post(reprocess_path(event_id), headers=gifts.admin.headers)

    assert again.status_code == 409
    assert again.json()["code"] == "event_already_resolved"
    assert await money_of(gifts.app, "riverside") == Money(-MONTHLY + FEE, MONTHLY, -FEE)
    assert await DonationPayment.count() == 1
    # Stripe resending the event changes nothing either.
    recorded = await StripeEvent.objects().where(StripeEvent.id == event_id).first()
    assert recorded is not None and recorded.outcome == "unmatched"  # the first answer, kept


async def test_reprocessing_what_still_matches_nothing_keeps_it(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    event_id = await unmatched_invoice(gifts, fake_stripe, link=False)

    response = await gifts.client.post(reprocess_path(event_id), headers=gifts.admin.headers)

    assert response.status_code == 200
    assert (response.json()["outcome"], response.json()["resolved"]) == ("unmatched", False)
    assert await StripeEventPayload.count() == 1
    assert await money_of(gifts.app, "riverside") == Money(0, 0, 0)
    # Linked later, a second try applies it.
    checkout = await DonationCheckout.objects().first()
    assert checkout is not None
    await DonationCheckout.update({DonationCheckout.subscription_id: "sub_late"}).where(
        DonationCheckout.id == checkout.id
    )
    second = await gifts.client.post(reprocess_path(event_id), headers=gifts.admin.headers)
    assert second.json()["outcome"] == "donation"
    assert await StripeEventReplay.count() == 2


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [("anonymous", 401, "not_authenticated"), ("member", 403, "forbidden")],
)
async def test_only_admins_reprocess(
    gifts: Gifts, fake_stripe: FakeStripe, who: str, status: int, code: str
) -> None:
    event_id = await unmatched_invoice(gifts, fake_stripe)
    headers = {} if who == "anonymous" else gifts.bob.headers

    for path in (reprocess_path(event_id), reprocess_path("evt_does_not_exist")):
        response = await gifts.client.post(path, headers=headers)
        assert response.status_code == status, response.text
        assert response.json()["code"] == code

    assert await StripeEventReplay.count() == 0
    assert await money_of(gifts.app, "riverside") == Money(0, 0, 0)


async def test_unknown_resolved_and_unkept_events_are_refused_clearly(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    event_id = await unmatched_invoice(gifts, fake_stripe)
    other = ev.event("customer.created", {"id": "cus_1", "object": "customer"})
    await deliver(gifts.client, other)
    # An event recorded before objects were kept for replay has no object to replay.
    await StripeEventPayload.delete().where(StripeEventPayload.event_id == event_id)

    answers: dict[str, Any] = {}
    for name, target in (("unknown", "evt_nope"), ("ignored", other["id"]), ("old", event_id)):
        response = await gifts.client.post(reprocess_path(target), headers=gifts.admin.headers)
        answers[name] = (response.status_code, response.json()["code"])

    assert answers == {
        "unknown": (404, "event_not_found"),
        "ignored": (409, "event_already_resolved"),
        "old": (409, "event_not_kept"),
    }
    too_long = await gifts.client.post(reprocess_path("e" * 256), headers=gifts.admin.headers)
    assert too_long.status_code == 400
    assert await StripeEventReplay.count() == 0


async def test_an_admin_reprocesses_from_the_donations_page(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    event_id = await unmatched_invoice(gifts, fake_stripe)
    await sign_in(gifts.client, gifts.admin)
    page = await gifts.client.get("/admin/donations")
    assert f'action="/admin/donations/events/{event_id}/reprocess"' in page.text
    assert f'aria-label="Reprocess event {event_id}"' in page.text

    done = await submit(
        gifts.client, "/admin/donations", f"/admin/donations/events/{event_id}/reprocess", {}
    )

    assert done.status_code == 303
    assert done.headers["location"] == "/admin/donations?done=resolved"
    shown = text_of((await gifts.client.get(done.headers["location"])).text)
    assert "The event was reprocessed and applied." in shown
    assert event_id not in shown
    assert "Every event from Stripe has been applied." in shown
    assert await money_of(gifts.app, "riverside") == Money(-MONTHLY + FEE, MONTHLY, -FEE)

    # Pressing the button again (a second tab) says so, and moves nothing.
    again = await submit(
        gifts.client, "/admin/donations", f"/admin/donations/events/{event_id}/reprocess", {}
    )
    assert again.status_code == 409
    assert "applied already" in text_of(again.text)
    assert await DonationPayment.count() == 1


async def test_members_and_forged_forms_cannot_reprocess_from_the_page(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    event_id = await unmatched_invoice(gifts, fake_stripe)
    action = f"/admin/donations/events/{event_id}/reprocess"
    await sign_in(gifts.client, gifts.bob)
    donate = await gifts.client.get("/donate")  # any page of theirs hands out a CSRF token
    match = CSRF_INPUT.search(donate.text)
    assert match

    as_member = await gifts.client.post(action, data={"_csrf_token": match.group(1)})
    without_token = await gifts.client.post(action, data={})

    assert as_member.status_code == 403
    assert without_token.status_code == 403
    assert await StripeEventReplay.count() == 0
    assert await money_of(gifts.app, "riverside") == Money(0, 0, 0)


async def test_waiting_and_unmatched_events_are_listed_for_admins(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    await unmatched_invoice(gifts, fake_stripe, link=False)
    refund = ev.charge_event(
        "charge.refunded",
        "ch_waits",
        payment_intent="pi_elsewhere",
        amount=300,
        amount_refunded=300,
    )
    assert (await deliver(gifts.client, refund))["outcome"] == "waiting"
    await sign_in(gifts.client, gifts.admin)

    shown = text_of((await gifts.client.get("/admin/donations")).text)

    assert "in_early" in shown and "Unmatched" in shown
    assert "ch_waits" in shown and "Waiting for its payment" in shown


async def test_an_old_unkept_event_resent_by_stripe_becomes_reprocessable(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    event_id = await unmatched_invoice(gifts, fake_stripe)
    # Recorded before objects were kept: the row is there, the object is not.
    await StripeEventPayload.delete().where(StripeEventPayload.event_id == event_id)
    refused = await gifts.client.post(reprocess_path(event_id), headers=gifts.admin.headers)
    assert refused.json()["code"] == "event_not_kept"
    invoice = ev.invoice_paid(
        "in_early", subscription="sub_late", amount_paid=MONTHLY, payment_intent="pi_inv"
    )
    invoice["id"] = event_id

    resent = await deliver(gifts.client, invoice)  # the dashboard's Resend: same event id

    assert resent == {"received": True, "duplicate": True, "outcome": "duplicate"}
    assert await money_of(gifts.app, "riverside") == Money(0, 0, 0)  # nothing applied by it
    response = await gifts.client.post(reprocess_path(event_id), headers=gifts.admin.headers)
    assert response.json()["outcome"] == "donation"
    assert await money_of(gifts.app, "riverside") == Money(-MONTHLY + FEE, MONTHLY, -FEE)
