"""Money in the ledger: a community's GBP system accounts, and the two ways a
Stripe event moves pounds between them (a transfer, or a reversal of one), posted
as Stripe's actor. A refusal by the ledger is handed back, not raised, so the
event is recorded as unmatched instead of failing the webhook.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from ledger import Ledger, LedgerError, Unit
from service.donations.matching import payment_by
from service.donations.tables import DonationPayment
from service.members.tables import Community

ACTOR = "system:stripe"


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


async def money_transfer(
    ledger: Ledger,
    *,
    transfer_id: uuid.UUID,
    debit_account_id: uuid.UUID,
    credit_account_id: uuid.UUID,
    amount_pence: int,
    code: str,
    memo: str,
) -> LedgerError | None:
    """Move pounds between a community's money accounts; the ledger's refusal, if any."""
    try:
        await ledger.transfer(
            id=transfer_id,
            debit_account_id=debit_account_id,
            credit_account_id=credit_account_id,
            amount_minor=amount_pence,
            unit=Unit.GBP,
            code=code,
            actor=ACTOR,
            memo=memo,
        )
    except LedgerError as error:
        return error
    return None


async def money_reverse(
    ledger: Ledger,
    *,
    reversal_id: uuid.UUID,
    reverses_id: uuid.UUID,
    reason: str,
    code: str,
    amount_pence: int | None = None,
) -> LedgerError | None:
    """Reverse a money transfer (all of it, or `amount_pence`); the ledger's refusal, if any."""
    try:
        await ledger.reverse(
            id=reversal_id,
            reverses_id=reverses_id,
            actor=ACTOR,
            reason=reason,
            amount_minor=amount_pence,
            code=code,
        )
    except LedgerError as error:
        return error
    return None
