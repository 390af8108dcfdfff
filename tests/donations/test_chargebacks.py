"""Chargebacks (`charge.dispute.*`): income drops when a bank takes a gift back, and comes
back when the dispute is won; every repeat changes nothing; reports follow the ledger."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.donations.reports import donation_report, donations_received_pence, donations_total
from service.donations.tables import DonationChargeback, DonationPayment
from service.members.sessions import principal_from_token
from service.members.tables import Community
from service.principal import Principal
from tests.donations import stripe_events as ev
from tests.donations.conftest import Gifts, Money, deliver, money_of, paid_gift
from tests.donations.fake_stripe import FakeStripe

GIFT = 2500
FEE = 58
PAID = Money(clearing=-GIFT + FEE, donations=GIFT, fees=-FEE)
CHARGED_BACK = Money(clearing=FEE, donations=0, fees=-FEE)


def dispute(event_type: str, pi: str, *, status: str, amount: int = GIFT) -> dict[str, object]:
    return ev.dispute_event(event_type, "du_1", payment_intent=pi, amount=amount, status=status)


async def paid(gifts: Gifts, fake_stripe: FakeStripe) -> str:
    pi, event = await paid_gift(gifts, fake_stripe, amount=GIFT, fee=FEE, pi="pi_d")
    assert (await deliver(gifts.client, event))["outcome"] == "donation"
    return pi


async def riverside_income(gifts: Gifts) -> int:
    community = await Community.objects().where(Community.slug == "riverside").first()
    assert community is not None
    return await donations_received_pence([community.id])


async def test_a_chargeback_reduces_income_and_a_won_dispute_restores_it(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    pi = await paid(gifts, fake_stripe)
    created = dispute("charge.dispute.created", pi, status="needs_response")

    assert (await deliver(gifts.client, created))["outcome"] == "chargeback"

    assert await money_of(gifts.app, "riverside") == CHARGED_BACK
    assert await riverside_income(gifts) == 0
    payment = await DonationPayment.objects().first()
    assert payment is not None
    assert payment.charged_back_pence == GIFT

    won = dispute("charge.dispute.closed", pi, status="won")
    assert (await deliver(gifts.client, won))["outcome"] == "chargeback_won"

    assert await money_of(gifts.app, "riverside") == PAID
    assert await riverside_income(gifts) == GIFT
    kinds = sorted(row.kind for row in await DonationChargeback.objects())
    assert kinds == ["chargeback", "won"]


async def test_repeats_of_a_dispute_change_nothing(gifts: Gifts, fake_stripe: FakeStripe) -> None:
    pi = await paid(gifts, fake_stripe)
    created = dispute("charge.dispute.created", pi, status="needs_response")
    await deliver(gifts.client, created)

    # The same event again, and another event about the same dispute (idempotent by dispute).
    assert (await deliver(gifts.client, created))["duplicate"] is True
    withdrawn = dispute("charge.dispute.funds_withdrawn", pi, status="needs_response")
    assert (await deliver(gifts.client, withdrawn))["outcome"] == "no_change"
    assert await money_of(gifts.app, "riverside") == CHARGED_BACK

    won = dispute("charge.dispute.closed", pi, status="won")
    await deliver(gifts.client, won)
    assert (await deliver(gifts.client, won))["duplicate"] is True
    reinstated = dispute("charge.dispute.funds_reinstated", pi, status="won")
    assert (await deliver(gifts.client, reinstated))["outcome"] == "no_change"
    late_created = dispute("charge.dispute.created", pi, status="needs_response")
    assert (await deliver(gifts.client, late_created))["outcome"] == "no_change"

    assert await money_of(gifts.app, "riverside") == PAID
    assert await DonationChargeback.count() == 2


async def test_a_lost_dispute_keeps_the_chargeback(gifts: Gifts, fake_stripe: FakeStripe) -> None:
    pi = await paid(gifts, fake_stripe)
    await deliver(gifts.client, dispute("charge.dispute.created", pi, status="needs_response"))

    lost = await deliver(gifts.client, dispute("charge.dispute.closed", pi, status="lost"))

    assert lost["outcome"] == "no_change"
    assert await money_of(gifts.app, "riverside") == CHARGED_BACK
    assert await riverside_income(gifts) == 0


async def test_a_lost_dispute_whose_opening_never_came_still_takes_the_gift_back(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    pi = await paid(gifts, fake_stripe)
    lost = await deliver(gifts.client, dispute("charge.dispute.closed", pi, status="lost"))
    assert lost["outcome"] == "chargeback"
    assert await money_of(gifts.app, "riverside") == CHARGED_BACK


async def test_a_won_dispute_arriving_first_nets_to_nothing(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    pi = await paid(gifts, fake_stripe)
    won = await deliver(gifts.client, dispute("charge.dispute.closed", pi, status="won"))
    late = await deliver(
        gifts.client, dispute("charge.dispute.created", pi, status="needs_response")
    )
    assert (won["outcome"], late["outcome"]) == ("chargeback_won", "no_change")
    assert await money_of(gifts.app, "riverside") == PAID


async def test_an_inquiry_moves_no_money(gifts: Gifts, fake_stripe: FakeStripe) -> None:
    pi = await paid(gifts, fake_stripe)
    inquiry = dispute("charge.dispute.created", pi, status="warning_needs_response")
    closed = dispute("charge.dispute.closed", pi, status="warning_closed")

    assert (await deliver(gifts.client, inquiry))["outcome"] == "ignored"
    assert (await deliver(gifts.client, closed))["outcome"] == "ignored"
    assert await money_of(gifts.app, "riverside") == PAID


async def test_refunds_and_chargebacks_together_never_exceed_the_gift(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    pi = await paid(gifts, fake_stripe)
    refund = ev.charge_event(
        "charge.refunded", "ch_d", payment_intent=pi, amount=GIFT, amount_refunded=1000
    )
    await deliver(gifts.client, refund)

    answer = await deliver(gifts.client, dispute("charge.dispute.created", pi, status="lost"))

    assert answer["outcome"] == "chargeback"
    (row,) = await DonationChargeback.objects()
    assert row.amount_pence == GIFT - 1000
    assert await money_of(gifts.app, "riverside") == CHARGED_BACK
    # A later refund event cannot take back what the chargeback already took.
    more = ev.charge_event(
        "charge.refunded", "ch_d", payment_intent=pi, amount=GIFT, amount_refunded=GIFT
    )
    assert (await deliver(gifts.client, more))["outcome"] == "no_change"
    assert await money_of(gifts.app, "riverside") == CHARGED_BACK


async def test_a_chargeback_before_its_payment_waits_for_it(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    pi, payment = await paid_gift(gifts, fake_stripe, amount=GIFT, fee=FEE, pi="pi_early_d")
    created = dispute("charge.dispute.created", pi, status="needs_response")

    assert (await deliver(gifts.client, created))["outcome"] == "waiting"
    assert await money_of(gifts.app, "riverside") == Money(0, 0, 0)
    await deliver(gifts.client, payment)

    assert await money_of(gifts.app, "riverside") == CHARGED_BACK
    assert await DonationChargeback.count() == 1


@pytest.mark.parametrize("spoil", ["euros", "no amount"])
async def test_a_dispute_that_cannot_be_read_is_unmatched(
    gifts: Gifts, fake_stripe: FakeStripe, spoil: str
) -> None:
    pi = await paid(gifts, fake_stripe)
    event = dispute("charge.dispute.created", pi, status="needs_response")
    data = event["data"]["object"]  # type: ignore[index]
    if spoil == "euros":
        data["currency"] = "eur"
    else:
        del data["amount"]
    assert (await deliver(gifts.client, event))["outcome"] == "unmatched"
    assert await money_of(gifts.app, "riverside") == PAID


async def test_reports_count_chargebacks_and_won_disputes(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    pi = await paid(gifts, fake_stripe)
    month = datetime.now(UTC).strftime("%Y-%m")
    await deliver(gifts.client, dispute("charge.dispute.created", pi, status="needs_response"))
    community = await Community.objects().where(Community.slug == "riverside").first()
    assert community is not None
    admin = await _admin(gifts)

    # The council report's figure: gifts less refunds and chargebacks, with the donors.
    total = await donations_total(
        [community.id], first_month=month, last_month=month, donors_needed=5
    )
    assert (total.amount_pence, total.donors) == (0, 0)  # charged back in full: nobody gave
    (figures,) = (await donation_report(actor=admin)).months
    assert (figures.charged_back_pence, figures.net_pence) == (GIFT, -FEE)

    await deliver(gifts.client, dispute("charge.dispute.closed", pi, status="won"))

    total = await donations_total(
        [community.id], first_month=month, last_month=month, donors_needed=5
    )
    assert (total.amount_pence, total.donors) == (GIFT, 1)
    (figures,) = (await donation_report(actor=admin)).months
    assert (figures.charged_back_pence, figures.net_pence) == (0, GIFT - FEE)


async def _admin(gifts: Gifts) -> Principal:
    token = gifts.admin.headers["Authorization"].removeprefix("Bearer ")
    principal = await principal_from_token(token=token)
    assert principal is not None
    return principal
