"""Chargebacks: a donor's bank takes a gift back (a Stripe dispute), and maybe returns it.

The life of a dispute, as it touches the ledger (docs/adr/0010):

- opened (`charge.dispute.created`, or `charge.dispute.funds_withdrawn`): Stripe
  takes the disputed amount out of the balance. We post a chargeback,
  donations -> Stripe clearing (code `chargeback`), so donation income drops.
  An inquiry (status `warning_*`) takes no money and posts nothing.
- won (`charge.dispute.closed` with status `won`, or `charge.dispute.funds_reinstated`):
  Stripe gives the money back. We reverse the chargeback (code `chargeback_won`).
- lost (`charge.dispute.closed` with status `lost`): the chargeback stays.

Each dispute posts at most one chargeback and one reversal of it: both transfer
ids derive from the dispute id, and `donation_chargeback` has one row of each kind
per dispute, so repeated or reordered events change nothing. A `closed` that
comes before `created` posts the chargeback first, so a late `created` finds it.
The chargeback is its own transfer rather than a ledger reversal of the gift
because the ledger never reverses a reversal, and a won dispute must give the
income back. The payment row keeps refunds plus chargebacks within the gift
(a CHECK constraint), under the row's lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ledger import LEDGER_NAMESPACE
from service.donations import stripe_objects as so
from service.donations.events import Context, Handler, Result, ignored, payment_or_wait, unmatched
from service.donations.gateway import CURRENCY
from service.donations.postings import (
    lock_payment_row,
    money_accounts,
    money_reverse,
    money_transfer,
)
from service.donations.tables import DonationChargeback, DonationPayment

CHARGEBACK_CODE = "chargeback"
CHARGEBACK_WON_CODE = "chargeback_won"
INQUIRY_STATUS_PREFIX = "warning_"  # an inquiry: the bank asks, no money moves
WON_STATUS = "won"
LOST_STATUS = "lost"


# What to do about a dispute once its payment is found and locked.
_Act = Callable[[Context, DonationPayment, str, int], Awaitable[Result]]


def chargeback_transfer_id(dispute_id: str) -> uuid.UUID:
    return uuid.uuid5(LEDGER_NAMESPACE, f"stripe:chargeback:{dispute_id}")


def chargeback_won_transfer_id(dispute_id: str) -> uuid.UUID:
    return uuid.uuid5(LEDGER_NAMESPACE, f"stripe:chargeback_won:{dispute_id}")


async def _dispute_opened(context: Context) -> Result:
    dispute = context.event.object
    if _is_inquiry(dispute) and context.event.type == "charge.dispute.created":
        return ignored("An inquiry: Stripe holds no money back unless it becomes a chargeback.")
    return await _with_payment(context, _ensure_chargeback)


async def _dispute_closed(context: Context) -> Result:
    status = so.text(context.event.object, "status")
    if status == WON_STATUS:
        return await _with_payment(context, _chargeback_won)
    if status == LOST_STATUS:
        return await _with_payment(context, _ensure_chargeback)
    return ignored("The dispute closed without moving money (an inquiry, or withdrawn).")


def _is_inquiry(dispute: Mapping[str, Any]) -> bool:
    return (so.text(dispute, "status") or "").startswith(INQUIRY_STATUS_PREFIX)


async def _with_payment(context: Context, act: _Act) -> Result:
    dispute = context.event.object
    dispute_id = so.text(dispute, "id")
    amount_pence = so.whole(dispute, "amount")
    if dispute_id is None or amount_pence is None or amount_pence <= 0:
        return unmatched("The dispute has no id or no amount.")
    if so.text(dispute, "currency") != CURRENCY:
        return unmatched("The dispute is not in pounds sterling.")
    payment = await payment_or_wait(dispute, what="chargeback")
    if isinstance(payment, Result):
        return payment
    current = await lock_payment_row(payment.id)
    return await act(context, current, dispute_id, amount_pence)


async def _ensure_chargeback(
    context: Context, payment: DonationPayment, dispute_id: str, amount_pence: int
) -> Result:
    """Post the dispute's chargeback once; later events about it change nothing."""
    if await _chargeback_row(dispute_id, "chargeback") is not None:
        return _no_change(payment, "This chargeback was already recorded.")
    left_pence = payment.amount_pence - payment.refunded_pence - payment.charged_back_pence
    amount = min(amount_pence, left_pence)
    if amount <= 0:
        return _no_change(payment, "Nothing of this gift is left to charge back.")
    accounts = await money_accounts(payment.community)
    transfer_id = chargeback_transfer_id(dispute_id)
    refused = await money_transfer(
        context.ledger,
        transfer_id=transfer_id,
        debit_account_id=accounts.donations,
        credit_account_id=accounts.clearing,
        amount_pence=amount,
        code=CHARGEBACK_CODE,
        memo=f"Chargeback through Stripe ({dispute_id}, gift {payment.stripe_object_id})",
    )
    if refused is not None:
        return unmatched(f"The ledger refused the chargeback: {refused.code}.")
    await _set_charged_back(payment, payment.charged_back_pence + amount)
    await _insert_row(
        context,
        transfer_id=transfer_id,
        dispute_id=dispute_id,
        kind="chargeback",
        payment=payment,
        amount_pence=amount,
    )
    detail = "The dispute was for more than is left of the gift." if amount < amount_pence else ""
    return Result(
        outcome=CHARGEBACK_CODE, detail=detail, community_id=payment.community, amount_pence=amount
    )


async def _chargeback_won(
    context: Context, payment: DonationPayment, dispute_id: str, amount_pence: int
) -> Result:
    """Reverse the chargeback (posting it first if its own event has not come yet)."""
    if await _chargeback_row(dispute_id, "won") is not None:
        return _no_change(payment, "This won dispute was already recorded.")
    chargeback = await _chargeback_row(dispute_id, "chargeback")
    if chargeback is None:
        opened = await _ensure_chargeback(context, payment, dispute_id, amount_pence)
        chargeback = await _chargeback_row(dispute_id, "chargeback")
        if chargeback is None:
            return opened  # nothing was taken back, so nothing comes back
        payment = await lock_payment_row(payment.id)
    transfer_id = chargeback_won_transfer_id(dispute_id)
    refused = await money_reverse(
        context.ledger,
        reversal_id=transfer_id,
        reverses_id=chargeback.id,
        reason=f"Dispute won through Stripe ({dispute_id})",
        code=CHARGEBACK_WON_CODE,
    )
    if refused is not None:
        return unmatched(f"The ledger refused to reverse the chargeback: {refused.code}.")
    await _set_charged_back(payment, payment.charged_back_pence - chargeback.amount_pence)
    await _insert_row(
        context,
        transfer_id=transfer_id,
        dispute_id=dispute_id,
        kind="won",
        payment=payment,
        amount_pence=chargeback.amount_pence,
    )
    return Result(
        outcome=CHARGEBACK_WON_CODE,
        community_id=payment.community,
        amount_pence=chargeback.amount_pence,
    )


def _no_change(payment: DonationPayment, detail: str) -> Result:
    return Result(outcome="no_change", detail=detail, community_id=payment.community)


async def _chargeback_row(dispute_id: str, kind: str) -> DonationChargeback | None:
    return (
        await DonationChargeback.objects()
        .where((DonationChargeback.dispute_id == dispute_id) & (DonationChargeback.kind == kind))
        .first()
        .run()
    )


async def _set_charged_back(payment: DonationPayment, charged_back_pence: int) -> None:
    await (
        DonationPayment.update({DonationPayment.charged_back_pence: charged_back_pence})
        .where(DonationPayment.id == payment.id)
        .run()
    )


async def _insert_row(
    context: Context,
    *,
    transfer_id: uuid.UUID,
    dispute_id: str,
    kind: str,
    payment: DonationPayment,
    amount_pence: int,
) -> None:
    happened_at = context.event.created_at
    await DonationChargeback.insert(
        DonationChargeback(
            id=transfer_id,
            dispute_id=dispute_id,
            kind=kind,
            payment=payment.id,
            community=payment.community,
            amount_pence=amount_pence,
            month=happened_at.strftime("%Y-%m"),
            happened_at=happened_at,
        )
    ).run()


HANDLERS: Mapping[str, Handler] = {
    "charge.dispute.created": _dispute_opened,
    "charge.dispute.funds_withdrawn": _dispute_opened,
    "charge.dispute.closed": _dispute_closed,
    "charge.dispute.funds_reinstated": _dispute_closed,
}
