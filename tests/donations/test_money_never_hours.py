"""Money never turns into hours: no donation path can post a GBP amount to an HOUR account.

Three layers, each tested: the ledger refuses any transfer whose accounts are
not of the transfer's unit; the donations code only ever names Unit.GBP and the
community's three GBP accounts; and a community whose money accounts were
pointed at HOUR accounts (a corrupted row) makes the webhook record the event
for an admin rather than move anything.
"""

from __future__ import annotations

import ast
import uuid
from pathlib import Path

import pytest

from ledger import Ledger, LedgerError, Unit
from service.donations.tables import DonationPayment, StripeEvent
from service.members.tables import Community, Member
from tests.donations import stripe_events as ev
from tests.donations.conftest import Gifts, deliver, open_checkout
from tests.donations.fake_stripe import FakeStripe

DONATIONS_PACKAGE = Path(__file__).resolve().parents[2] / "service" / "donations"
MONEY_CODES = ("donation", "stripe_fee", "refund", "chargeback", "chargeback_won")


async def _riverside() -> Community:
    community = await Community.objects().where(Community.slug == "riverside").first()
    assert community is not None
    return community


async def _hour_account_of(member_id: uuid.UUID) -> uuid.UUID:
    member = await Member.objects().where(Member.id == member_id).first()
    assert member is not None
    return member.hour_account_id


@pytest.mark.parametrize("unit", [Unit.GBP, Unit.HOUR])
async def test_the_ledger_refuses_to_mix_money_and_hours(gifts: Gifts, unit: Unit) -> None:
    ledger: Ledger = gifts.app.state.ledger
    community = await _riverside()
    alice_hours = await _hour_account_of(gifts.alice.id)

    for debit, credit in (
        (community.stripe_clearing_account_id, alice_hours),  # money into a member's hours
        (community.pool_account_id, community.donations_account_id),  # pool hours into money
    ):
        with pytest.raises(LedgerError) as refused:
            await ledger.transfer(
                id=uuid.uuid4(),
                debit_account_id=debit,
                credit_account_id=credit,
                amount_minor=100,
                unit=unit,
                code="donation",
                actor="test",
            )
        assert refused.value.code == "unit_mismatch"
    assert (await ledger.balance(account_id=alice_hours)).balance_minor == 120  # welcome only


def test_the_donations_code_names_no_unit_but_gbp() -> None:
    named: list[str] = []
    for path in sorted(DONATIONS_PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        named += [
            f"{path.name}:{node.attr}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "Unit"
        ]
    assert named, "the donations code posts money somewhere"
    assert all(entry.endswith(":GBP") for entry in named), named


async def test_every_money_transfer_touches_only_gbp_accounts(
    gifts: Gifts, fake_stripe: FakeStripe
) -> None:
    session_id = await open_checkout(gifts.client, amount_pence=3000)
    fake_stripe.add_payment("pi_g", fee_pence=70)
    await deliver(
        gifts.client, ev.session_completed(fake_stripe.sessions[session_id], payment_intent="pi_g")
    )
    refund = ev.charge_event(
        "charge.refunded", "ch_g", payment_intent="pi_g", amount=3000, amount_refunded=1000
    )
    await deliver(gifts.client, refund)
    for event_type, status in (
        ("charge.dispute.created", "needs_response"),
        ("charge.dispute.closed", "won"),
    ):
        dispute = ev.dispute_event(
            event_type, "du_g", payment_intent="pi_g", amount=2000, status=status
        )
        await deliver(gifts.client, dispute)

    rows = await gifts.app.state.engine.run_ddl(
        "SELECT t.code AS code, t.unit AS unit, d.unit AS debit_unit, c.unit AS credit_unit "
        "FROM ledger_transfer t "
        "JOIN ledger_account d ON d.id = t.debit_account_id "
        "JOIN ledger_account c ON c.id = t.credit_account_id"
    )
    money = [row for row in rows if row["code"] in MONEY_CODES]
    assert sorted(row["code"] for row in money) == [
        "chargeback",
        "chargeback_won",
        "donation",
        "refund",
        "stripe_fee",
    ]
    assert all((r["unit"], r["debit_unit"], r["credit_unit"]) == ("GBP",) * 3 for r in money)
    hours = [row for row in rows if row["unit"] == "HOUR"]
    assert all(r["debit_unit"] == r["credit_unit"] == "HOUR" for r in hours)
    assert not [row for row in hours if row["code"] in MONEY_CODES]


@pytest.mark.parametrize("pointed", ["donations", "clearing"])
async def test_money_accounts_pointed_at_hours_record_the_event_and_move_nothing(
    gifts: Gifts, fake_stripe: FakeStripe, pointed: str
) -> None:
    community = await _riverside()
    column = (
        Community.donations_account_id
        if pointed == "donations"
        else Community.stripe_clearing_account_id
    )
    # A corrupted row: an HOUR account where a GBP account belongs.
    await Community.update({column: community.pool_account_id}).where(Community.id == community.id)
    session_id = await open_checkout(gifts.client, amount_pence=2000)
    event = ev.session_completed(fake_stripe.sessions[session_id], payment_intent="pi_h")

    answer = await deliver(gifts.client, event)

    assert answer["outcome"] == "unmatched"
    recorded = await StripeEvent.objects().where(StripeEvent.id == event["id"]).first()
    assert recorded is not None
    assert "unit_mismatch" in recorded.detail
    assert await DonationPayment.count() == 0
    ledger: Ledger = gifts.app.state.ledger
    assert (await ledger.balance(account_id=community.pool_account_id)).balance_minor == 0
