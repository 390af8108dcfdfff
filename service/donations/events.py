"""Stripe events: verified, recorded once each, and posted to the ledger in GBP.

Accounting (docs/adr/0010-donations-through-stripe.md), all in the community's GBP
accounts, never an HOUR account:

- a gift received:  Stripe clearing -> donations   (code `donation`, the gross amount)
- Stripe's fee:     fees -> Stripe clearing         (code `stripe_fee`)
- a refund:         a reversal of the gift's transfer, donations -> Stripe clearing
                    (code `refund`), for the newly refunded part only.
- a chargeback:     donations -> Stripe clearing (code `chargeback`), and its reversal
                    (code `chargeback_won`) when the dispute is won (disputes.py).

So the clearing account's balance is minus what Stripe holds for the community,
donations is the gross given (less refunds and chargebacks), and fees is minus the
fees paid.

Exactly once: the event row (keyed by Stripe's event id) and every ledger
posting for it are written in ONE transaction, and each ledger transfer id is
derived from the Stripe object it stands for (the session, the invoice, the
refunded total). The same event delivered twice, even at the same moment, or
two different events about the same payment, therefore move money once: the
loser of a race hits the event's primary key or the transfer's id, is retried,
and finds the work done. Recording and replaying events: processing.py.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
import stripe

from ledger import LEDGER_NAMESPACE, Ledger, LedgerError, Unit
from service.database import is_postgres
from service.donations import stripe_objects as so
from service.donations.gateway import CURRENCY, StripeGateway, fee_of_balance_transaction
from service.donations.tables import DonationCheckout, DonationPayment, DonationRefund
from service.errors import DomainError, Unreadable
from service.limits import STRIPE_WEBHOOK_TOLERANCE_SECONDS
from service.members.tables import Community

logger = logging.getLogger("timebank.donations.events")

ACTOR = "system:stripe"
DONATION_CODE = "donation"
FEE_CODE = "stripe_fee"
REFUND_CODE = "refund"
DETAIL_CHARS_MAX = 500

SESSION_PAID_EVENTS = frozenset(
    {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
)
CHARGE_FEE_EVENTS = frozenset({"charge.succeeded", "charge.updated"})
# Events kept to be replayed: matched nothing yet, or wait for their payment to arrive.
UNRESOLVED_OUTCOMES = frozenset({"unmatched", "waiting"})


# Ledger ids, derived from Stripe's objects ----------------------------------------------


def donation_transfer_id(stripe_object_id: str) -> uuid.UUID:
    """One gift per Checkout Session (one-off) or per invoice (each month of a monthly gift)."""
    return uuid.uuid5(LEDGER_NAMESPACE, f"stripe:donation:{stripe_object_id}")


def fee_transfer_id(payment_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(payment_id, "stripe:fee")


def refund_transfer_id(payment_id: uuid.UUID, refunded_total_pence: int) -> uuid.UUID:
    """Stripe reports refunds as a running total; each new total is one reversal."""
    return uuid.uuid5(payment_id, f"stripe:refund:{refunded_total_pence}")


# What arrives ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StripeEventIn:
    id: str
    type: str
    object: Mapping[str, Any]
    created_at: datetime

    @property
    def object_id(self) -> str:
        return so.text(self.object, "id") or ""


def signature_invalid() -> DomainError:
    return Unreadable(
        code="signature_invalid",
        detail="The Stripe-Signature header does not match this body, or is too old.",
    )


def verified_event(payload: bytes, signature: str | None, secret: str) -> StripeEventIn:
    """Check Stripe's signature over the raw body (and its age), then read the event."""
    try:
        stripe.WebhookSignature.verify_header(
            payload, signature, secret, tolerance=STRIPE_WEBHOOK_TOLERANCE_SECONDS
        )
    except (stripe.SignatureVerificationError, UnicodeDecodeError):
        raise signature_invalid() from None
    try:
        data = msgspec.json.decode(payload)
    except (msgspec.DecodeError, RecursionError):
        data = None
    event_object = so.child(data, "data", "object")
    event_id, event_type = so.text(data, "id"), so.text(data, "type", limit=100)
    if event_object is None or event_id is None or event_type is None:
        raise Unreadable(code="malformed_body", detail="The body is not a Stripe event.")
    created = so.whole(data, "created")
    return StripeEventIn(
        id=event_id, type=event_type, object=event_object, created_at=_instant(created)
    )


def _instant(unix_seconds: int | None) -> datetime:
    now = datetime.now(UTC)
    if unix_seconds is None:
        return now
    try:
        return min(now, datetime.fromtimestamp(unix_seconds, UTC))
    except (OverflowError, OSError, ValueError):
        return now


# What happened -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Result:
    outcome: str
    detail: str = ""
    community_id: uuid.UUID | None = None
    amount_pence: int | None = None
    waiting_for: str | None = None  # the payment intent a `waiting` event needs first

    @property
    def resolved(self) -> bool:
        """Whether nothing is left to do for the event (it need not be kept to replay)."""
        return self.outcome not in UNRESOLVED_OUTCOMES


@dataclass(frozen=True, slots=True)
class Handled:
    outcome: str
    duplicate: bool


def unmatched(detail: str) -> Result:
    return Result(outcome="unmatched", detail=detail)


def ignored(detail: str = "This kind of event changes nothing here.") -> Result:
    return Result(outcome="ignored", detail=detail)


# Called once a payment is recorded, inside the same transaction, with its payment intent:
# replays the events that waited for it and says what it did.
AfterPayment = Callable[[str], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Context:
    ledger: Ledger
    event: StripeEventIn
    fee_pence: int | None  # Stripe's fee on the payment, looked up before the transaction
    after_payment: AfterPayment | None = None


Handler = Callable[[Context], Awaitable[Result]]


async def fee_hint(gateway: StripeGateway | None, event: StripeEventIn) -> int | None:
    if gateway is None:
        return None
    if event.type in CHARGE_FEE_EVENTS:
        expanded = so.child(event.object, "balance_transaction")
        if expanded is not None:
            return fee_of_balance_transaction(expanded)
        balance_transaction_id = so.text(event.object, "balance_transaction")
        if balance_transaction_id and await _fee_unknown(payment_intent_of_charge(event.object)):
            return await gateway.fee_of_balance_transaction_id(balance_transaction_id)
        return None
    payment_intent_id = None
    if event.type in SESSION_PAID_EVENTS and so.text(event.object, "mode") == "payment":
        payment_intent_id = so.ref(event.object, "payment_intent")
    elif event.type == "invoice.paid":
        payment_intent_id = _payment_intent_of_invoice(event.object)
    if payment_intent_id is None:
        return None
    return await gateway.fee_of_payment_intent(payment_intent_id)


async def _fee_unknown(payment_intent_id: str | None) -> bool:
    if payment_intent_id is None:
        return False
    payment = await payment_by(payment_intent_id=payment_intent_id)
    return payment is not None and payment.fee_pence is None


# Handlers ------------------------------------------------------------------------------


async def _session_paid(context: Context) -> Result:
    session = context.event.object
    checkout = await _checkout_of_session(session)
    if checkout is None:
        return unmatched("No checkout of ours opened this Checkout Session.")
    if so.text(session, "currency") != CURRENCY:
        return unmatched("The session is not in pounds sterling.")
    if checkout.recurring:
        # Monthly gifts are posted from each paid invoice; the session links the subscription.
        return await _link_subscription(checkout, so.ref(session, "subscription"))
    if so.text(session, "payment_status") != "paid":
        return Result(
            outcome="awaiting_payment",
            detail="The donor chose a payment method that settles later.",
            community_id=checkout.community,
        )
    return await _record_payment(
        context,
        checkout,
        stripe_object_id=so.text(session, "id") or "",
        payment_intent_id=so.ref(session, "payment_intent"),
        amount_pence=so.whole(session, "amount_total"),
    )


async def _invoice_paid(context: Context) -> Result:
    invoice = context.event.object
    subscription_id = so.first_ref(
        invoice, ("parent", "subscription_details", "subscription"), ("subscription",)
    )
    checkout = await _checkout_of_invoice(invoice, subscription_id)
    if checkout is None:
        return unmatched("No monthly gift of ours has this subscription.")
    if so.text(invoice, "currency") != CURRENCY:
        return unmatched("The invoice is not in pounds sterling.")
    linked: str | None = checkout.subscription_id  # Piccolo types a nullable column as str
    if linked is None and subscription_id is not None:
        await _link_subscription(checkout, subscription_id)
    return await _record_payment(
        context,
        checkout,
        stripe_object_id=so.text(invoice, "id") or "",
        payment_intent_id=_payment_intent_of_invoice(invoice),
        amount_pence=so.whole(invoice, "amount_paid"),
    )


async def _charge_refunded(context: Context) -> Result:
    charge = context.event.object
    payment = await payment_or_wait(charge, what="refund")
    if isinstance(payment, Result):
        return payment
    refunded_total = so.whole(charge, "amount_refunded")
    if so.text(charge, "currency") != CURRENCY or refunded_total is None or refunded_total < 0:
        return unmatched("The refund is not in pounds sterling, or has no amount.")
    return await _record_refund(context, payment, refunded_total)


async def payment_or_wait(
    stripe_object: Mapping[str, Any], *, what: str
) -> DonationPayment | Result:
    """The gift a charge or dispute belongs to; if it is not recorded yet, a `waiting` result.

    Stripe does not promise order: a refund may arrive before the payment it gives
    back. Such an event is kept and replayed once its payment is recorded
    (processing.py). Both sides take the payment intent's lock first, so the
    payment either is seen here or sees this event waiting.
    """
    payment_intent_id = payment_intent_of_charge(stripe_object)
    if payment_intent_id is None:
        payment = await payment_of_charge(stripe_object)
        return payment or unmatched(f"No gift recorded here was paid by this {what}'s charge.")
    await lock_payment_intent(payment_intent_id)
    payment = await payment_of_charge(stripe_object)
    if payment is not None:
        return payment
    return Result(
        outcome="waiting",
        detail=f"No gift recorded here for this payment yet: the {what} is applied when it is.",
        waiting_for=payment_intent_id,
    )


async def lock_payment_intent(payment_intent_id: str) -> None:
    """Serialise, on PostgreSQL, every write about one payment intent until commit.

    At READ COMMITTED a payment and a refund racing each other could each miss the
    other's uncommitted row, leaving the refund waiting for a payment that has
    arrived. SQLite has one writer at a time already.
    """
    if is_postgres(DonationPayment._meta.db):  # noqa: SLF001 - the engine the tables are bound to
        await DonationPayment.raw(
            "SELECT pg_advisory_xact_lock(hashtextextended({}, 0))", payment_intent_id
        ).run()


async def _charge_fee(context: Context) -> Result:
    payment = await payment_of_charge(context.event.object)
    if payment is None:
        return ignored("No gift recorded here for this charge yet; its fee comes with the gift.")
    known: int | None = payment.fee_pence  # Piccolo types a nullable column as int
    if known is not None or context.fee_pence is None:
        return Result(outcome="no_change", community_id=payment.community)
    return await _record_fee(context.ledger, payment, context.fee_pence)


async def _subscription_deleted(context: Context) -> Result:
    subscription_id = so.text(context.event.object, "id")
    checkout = (
        await DonationCheckout.objects()
        .where(DonationCheckout.subscription_id == subscription_id)
        .first()
        .run()
        if subscription_id
        else None
    )
    if checkout is None:
        return ignored("No monthly gift of ours has this subscription.")
    await (
        DonationCheckout.update({DonationCheckout.subscription_ended_at: context.event.created_at})
        .where(
            (DonationCheckout.id == checkout.id) & DonationCheckout.subscription_ended_at.is_null()
        )
        .run()
    )
    return Result(outcome="subscription_ended", community_id=checkout.community)


HANDLERS: Mapping[str, Handler] = {
    "checkout.session.completed": _session_paid,
    "checkout.session.async_payment_succeeded": _session_paid,
    "invoice.paid": _invoice_paid,
    "charge.refunded": _charge_refunded,
    "charge.succeeded": _charge_fee,
    "charge.updated": _charge_fee,
    "customer.subscription.deleted": _subscription_deleted,
}


# Postings ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MoneyAccounts:
    """A community's GBP system accounts: the only accounts donations ever touch."""

    clearing: uuid.UUID
    donations: uuid.UUID
    fees: uuid.UUID


async def money_accounts(community_id: uuid.UUID) -> MoneyAccounts:
    community = await Community.objects().where(Community.id == community_id).first().run()
    if community is None:  # pragma: no cover - a foreign key guarantees it
        raise RuntimeError(f"community {community_id} vanished")
    return MoneyAccounts(
        clearing=community.stripe_clearing_account_id,
        donations=community.donations_account_id,
        fees=community.fees_account_id,
    )


async def _record_payment(
    context: Context,
    checkout: DonationCheckout,
    *,
    stripe_object_id: str,
    payment_intent_id: str | None,
    amount_pence: int | None,
) -> Result:
    if payment_intent_id is not None:
        await lock_payment_intent(payment_intent_id)
    # One read for both questions: a racing twin may commit between two reads.
    known = await _payment_of_object_or_intent(stripe_object_id, payment_intent_id)
    if known is not None and known.stripe_object_id == stripe_object_id:
        return Result(
            outcome="no_change", detail="Already recorded.", community_id=checkout.community
        )
    if known is not None:
        return unmatched("This payment is already recorded for another gift.")
    if amount_pence is None or amount_pence <= 0:
        return Result(
            outcome="no_change", detail="Nothing was paid.", community_id=checkout.community
        )
    accounts = await money_accounts(checkout.community)
    payment_id = donation_transfer_id(stripe_object_id)
    try:
        await context.ledger.transfer(
            id=payment_id,
            debit_account_id=accounts.clearing,
            credit_account_id=accounts.donations,
            amount_minor=amount_pence,
            unit=Unit.GBP,
            code=DONATION_CODE,
            actor=ACTOR,
            memo=f"Gift through Stripe ({stripe_object_id})",
        )
    except LedgerError as error:
        return unmatched(f"The ledger refused the gift: {error.code}.")
    paid_at = context.event.created_at
    payment = DonationPayment(
        id=payment_id,
        checkout=checkout.id,
        community=checkout.community,
        stripe_object_id=stripe_object_id,
        payment_intent_id=payment_intent_id,
        recurring=checkout.recurring,
        amount_pence=amount_pence,
        fee_pence=None,
        refunded_pence=0,
        month=paid_at.strftime("%Y-%m"),
        paid_at=paid_at,
    )
    await DonationPayment.insert(payment).run()
    details: list[str] = []
    if context.fee_pence is not None:
        fee = await _record_fee(context.ledger, payment, context.fee_pence)
        details.append(fee.detail)
    if payment_intent_id is not None and context.after_payment is not None:
        details.append(await context.after_payment(payment_intent_id))
    return Result(
        outcome="donation",
        detail=" ".join(part for part in details if part),
        community_id=checkout.community,
        amount_pence=amount_pence,
    )


async def _record_fee(ledger: Ledger, payment: DonationPayment, fee_pence: int) -> Result:
    accounts = await money_accounts(payment.community)
    if fee_pence > 0:
        try:
            await ledger.transfer(
                id=fee_transfer_id(payment.id),
                debit_account_id=accounts.fees,
                credit_account_id=accounts.clearing,
                amount_minor=fee_pence,
                unit=Unit.GBP,
                code=FEE_CODE,
                actor=ACTOR,
                memo=f"Stripe fee ({payment.stripe_object_id})",
            )
        except LedgerError as error:
            logger.warning("the ledger refused a Stripe fee: %s", error.code)
            return Result(
                outcome="no_change",
                detail=f"The ledger refused the fee: {error.code}.",
                community_id=payment.community,
            )
    await (
        DonationPayment.update({DonationPayment.fee_pence: fee_pence})
        .where((DonationPayment.id == payment.id) & DonationPayment.fee_pence.is_null())
        .run()
    )
    return Result(outcome="fee", community_id=payment.community, amount_pence=fee_pence)


async def lock_payment_row(payment_id: uuid.UUID) -> DonationPayment:
    """Lock the payment row (a no-op UPDATE takes the row lock on PostgreSQL; SQLite has
    one writer), then read it as it now stands."""
    await (
        DonationPayment.update({DonationPayment.refunded_pence: DonationPayment.refunded_pence})
        .where(DonationPayment.id == payment_id)
        .run()
    )
    current = await payment_by(payment_id=payment_id)
    if current is None:  # pragma: no cover - locked just above
        raise RuntimeError("payment vanished")
    return current


async def _record_refund(context: Context, payment: DonationPayment, refunded_total: int) -> Result:
    current = await lock_payment_row(payment.id)
    # Stripe's total is never above the gift; if it ever were, we give back only what was
    # given, less what a chargeback already took back.
    target = min(refunded_total, current.amount_pence - current.charged_back_pence)
    if target <= current.refunded_pence:
        return Result(
            outcome="no_change",
            detail="This refund was already recorded.",
            community_id=current.community,
        )
    amount = target - current.refunded_pence
    reversal_id = refund_transfer_id(current.id, target)
    try:
        await context.ledger.reverse(
            id=reversal_id,
            reverses_id=current.id,
            actor=ACTOR,
            reason=f"Refund through Stripe ({current.stripe_object_id})",
            amount_minor=amount,
            code=REFUND_CODE,
        )
    except LedgerError as error:
        return unmatched(f"The ledger refused the refund: {error.code}.")
    refunded_at = context.event.created_at
    await (
        DonationPayment.update({DonationPayment.refunded_pence: target})
        .where(DonationPayment.id == current.id)
        .run()
    )
    await DonationRefund.insert(
        DonationRefund(
            id=reversal_id,
            payment=current.id,
            community=current.community,
            amount_pence=amount,
            refunded_total_pence=target,
            month=refunded_at.strftime("%Y-%m"),
            refunded_at=refunded_at,
        )
    ).run()
    detail = "Stripe's refunded total was above the gift." if refunded_total > target else ""
    return Result(
        outcome="refund", detail=detail, community_id=current.community, amount_pence=amount
    )


async def _link_subscription(checkout: DonationCheckout, subscription_id: str | None) -> Result:
    if subscription_id is None:
        return unmatched("The session of a monthly gift names no subscription.")
    await (
        DonationCheckout.update({DonationCheckout.subscription_id: subscription_id})
        .where((DonationCheckout.id == checkout.id) & DonationCheckout.subscription_id.is_null())
        .run()
    )
    return Result(outcome="linked", community_id=checkout.community)


# Matching Stripe's objects to ours -------------------------------------------------------


def _our_id(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


async def _checkout_of_session(session: Mapping[str, Any]) -> DonationCheckout | None:
    """Our checkout, by the id we gave Stripe, and only if this is the session it opened."""
    session_id = so.text(session, "id")
    checkout_id = _our_id(so.text(session, "client_reference_id"))
    if session_id is None or checkout_id is None:
        return None
    checkout = (
        await DonationCheckout.objects().where(DonationCheckout.id == checkout_id).first().run()
    )
    if checkout is None or checkout.stripe_session_id != session_id:
        return None
    return checkout


async def _checkout_of_invoice(
    invoice: Mapping[str, Any], subscription_id: str | None
) -> DonationCheckout | None:
    if subscription_id is not None:
        linked = (
            await DonationCheckout.objects()
            .where(DonationCheckout.subscription_id == subscription_id)
            .first()
            .run()
        )
        if linked is not None:
            return linked
    # The first invoice may arrive before the session's event: the subscription
    # carries our checkout id in its metadata (gateway.checkout_params).
    checkout_id = _our_id(
        so.text(invoice, "parent", "subscription_details", "metadata", "checkout_id")
        or so.text(invoice, "subscription_details", "metadata", "checkout_id")
    )
    if checkout_id is None:
        return None
    checkout = (
        await DonationCheckout.objects()
        .where((DonationCheckout.id == checkout_id) & (DonationCheckout.recurring == True))  # noqa: E712
        .first()
        .run()
    )
    if checkout is None or checkout.subscription_id not in (None, subscription_id):
        return None
    return checkout


def _payment_intent_of_invoice(invoice: Mapping[str, Any]) -> str | None:
    found = so.ref(invoice, "payment_intent")  # API versions before 2025-03-31
    if found is not None:
        return found
    for item in so.items(invoice, "payments"):
        found = so.ref(item, "payment", "payment_intent")
        if found is not None:
            return found
    return None


def payment_intent_of_charge(charge: Mapping[str, Any]) -> str | None:
    return so.ref(charge, "payment_intent")


async def payment_of_charge(charge: Mapping[str, Any]) -> DonationPayment | None:
    payment_intent_id = payment_intent_of_charge(charge)
    if payment_intent_id is not None:
        payment = await payment_by(payment_intent_id=payment_intent_id)
        if payment is not None:
            return payment
    invoice_id = so.ref(charge, "invoice")  # API versions before 2025-03-31
    if invoice_id is None:
        return None
    return (
        await DonationPayment.objects()
        .where(DonationPayment.stripe_object_id == invoice_id)
        .first()
        .run()
    )


async def _payment_of_object_or_intent(
    stripe_object_id: str, payment_intent_id: str | None
) -> DonationPayment | None:
    """The payment of this session or invoice, else one already paid by this payment intent."""
    same_object = DonationPayment.stripe_object_id == stripe_object_id
    query = DonationPayment.objects()
    if payment_intent_id is None:
        query = query.where(same_object)
    else:
        query = query.where(same_object | (DonationPayment.payment_intent_id == payment_intent_id))
    found = await query.run()
    same = [payment for payment in found if payment.stripe_object_id == stripe_object_id]
    candidates = same or found
    return candidates[0] if candidates else None


async def payment_by(
    *, payment_id: uuid.UUID | None = None, payment_intent_id: str | None = None
) -> DonationPayment | None:
    query = DonationPayment.objects()
    if payment_id is not None:
        query = query.where(DonationPayment.id == payment_id)
    else:
        query = query.where(DonationPayment.payment_intent_id == payment_intent_id)
    return await query.first().run()
