"""Piccolo's view of the donation tables (DDL, CHECKs and triggers in migrations/donations/)."""

from __future__ import annotations

from piccolo.columns import UUID, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from service.members.tables import Community, Member


class DonationCheckout(Table, tablename="donation_checkout"):
    """A Stripe Checkout Session opened for a gift; written once Stripe has answered."""

    id = UUID(primary_key=True)
    community = ForeignKey(references=Community)
    member = ForeignKey(references=Member, null=True)  # who gave, when signed in
    amount_pence = Integer()
    recurring = Boolean()
    gift_aid = Boolean()
    stripe_session_id = Varchar(length=255, unique=True)
    checkout_url = Text()
    subscription_id = Varchar(length=255, null=True, default=None, unique=True)
    subscription_ended_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class GiftAidDeclaration(Table, tablename="donation_gift_aid"):
    """Name and home address, kept only to claim Gift Aid on this gift."""

    checkout = ForeignKey(references=DonationCheckout, primary_key=True)
    full_name = Varchar(length=100)
    home_address = Varchar(length=300)
    postcode = Varchar(length=8)
    declared_at = Timestamptz()


class DonationPayment(Table, tablename="donation_payment"):
    """Money received: a one-off checkout, or one month of a monthly gift.

    The id is the ledger transfer's (Stripe clearing -> donations).
    """

    id = UUID(primary_key=True)
    checkout = ForeignKey(references=DonationCheckout)
    community = ForeignKey(references=Community)
    stripe_object_id = Varchar(length=255, unique=True)  # the session, or the invoice
    payment_intent_id = Varchar(length=255, null=True, default=None, unique=True)
    recurring = Boolean()
    amount_pence = Integer()
    fee_pence = Integer(null=True, default=None)  # None until Stripe tells it
    refunded_pence = Integer(default=0)  # Stripe's running total, never above amount_pence
    # What open or lost chargebacks hold back; refunded + charged back never exceed the gift.
    charged_back_pence = Integer(default=0)
    month = Varchar(length=7)  # "2026-11", UTC
    paid_at = Timestamptz()


class DonationRefund(Table, tablename="donation_refund"):
    """Money given back; the id is the ledger reversal's. Append-only."""

    id = UUID(primary_key=True)
    payment = ForeignKey(references=DonationPayment)
    community = ForeignKey(references=Community)
    amount_pence = Integer()
    refunded_total_pence = Integer()
    month = Varchar(length=7)
    refunded_at = Timestamptz()


class StripeEvent(Table, tablename="donation_event"):
    """Every Stripe event received, once (the primary key is Stripe's event id). Append-only."""

    id = Varchar(length=255, primary_key=True)
    type = Varchar(length=100)
    object_id = Varchar(length=255)
    outcome = Varchar(length=20)
    community = ForeignKey(references=Community, null=True)
    amount_pence = Integer(null=True, default=None)
    detail = Text(default="")
    received_at = Timestamptz()


class DonationChargeback(Table, tablename="donation_chargeback"):
    """A chargeback (kind `chargeback`) or a won dispute that undid it (kind `won`).

    The id is the ledger transfer's. Append-only; one row of each kind per dispute.
    """

    id = UUID(primary_key=True)
    dispute_id = Varchar(length=255)
    kind = Varchar(length=10)
    payment = ForeignKey(references=DonationPayment)
    community = ForeignKey(references=Community)
    amount_pence = Integer()
    month = Varchar(length=7)
    happened_at = Timestamptz()


class StripeEventPayload(Table, tablename="donation_event_payload"):
    """The verified object of an event not yet resolved, kept to replay it; gone once resolved."""

    event_id = Varchar(length=255, primary_key=True)
    type = Varchar(length=100)
    payment_intent_id = Varchar(length=255, null=True, default=None)  # what it waits for
    object_json = Text()
    created_at = Timestamptz()  # Stripe's time for the event: replays go in this order
    kept_at = Timestamptz()


class StripeEventReplay(Table, tablename="donation_event_replay"):
    """One replay of an unresolved event, automatic or by an admin. Append-only."""

    id = UUID(primary_key=True)
    event_id = Varchar(length=255)
    outcome = Varchar(length=20)
    community = ForeignKey(references=Community, null=True)
    amount_pence = Integer(null=True, default=None)
    detail = Text(default="")
    actor = Varchar(length=120)
    replayed_at = Timestamptz()
