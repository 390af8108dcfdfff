"""Disputes: the rules, as service functions (writes) and selectors (reads).

- Open: a party of a COMPLETED exchange opens a dispute within the community's
  window (`Community.dispute_window_days`, counted from completion), with a
  reason. One dispute per exchange, ever: a resolution is final, and a second
  dispute about the same help would reopen a decided case.
- Statements: while the dispute is open, every party may add their account.
  Parties and admins see the thread; nobody else learns the dispute exists.
- Resolve (admins only): upheld (nothing moves), reversed (the whole amount
  goes back) or adjusted (N minutes go back). A group exchange is resolved per
  recipient: the outcome applies to every recipient unless `recipients` says
  otherwise for some. All reversals of one resolution are one ledger chain;
  each points at the recipient's original transfer, which is never changed.
- A reversal that would take the provider below their floor (or a recipient
  above their ceiling) is refused with 409 `limit_override_required` unless the
  admin confirms the override; then the ledger moves the limit to the new
  position, the correction records the agreed floor and how far below it the
  account now is, and the audit log says so.
- Resolving is a conditional UPDATE (`WHERE status = 'open'`) in the same write
  transaction as the reversals: of two admins resolving at once exactly one
  wins; the other gets 409 and nothing moves. Reversal ids derive from the
  dispute and recipient, so a retried resolution never moves hours twice.
"""

from __future__ import annotations

import uuid
from typing import Any

from piccolo.engine.base import Engine

from ledger import WriteTransaction, run_write
from service import clock
from service.disputes.selectors import (
    dispute_window_closes_at,
    exchange_parties,
)
from service.disputes.tables import Dispute, DisputeStatement
from service.errors import Conflict, DomainError, invalid_field
from service.exchanges.mailing import dispute_opened_mail
from service.exchanges.selectors import exchange_get
from service.exchanges.services import exchange_history_event
from service.i18n import _
from service.limits import (
    DISPUTE_REASON_CHARS_MAX,
    DISPUTE_STATEMENT_CHARS_MAX,
    DISPUTE_STATEMENTS_MAX,
)
from service.principal import Principal, forbidden, not_found, require_active


def reversal_transfer_id(dispute_id: uuid.UUID, recipient_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(dispute_id, f"reverse:{recipient_id}")


def reversal_chain_id(dispute_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(dispute_id, "chain:resolve")


# What callers read ------------------------------------------------------------


# Problems ---------------------------------------------------------------------


def checked_text(value: str, *, field: str, chars_max: int) -> str:
    text = value.strip()
    if not text:
        raise invalid_field(field, _("write a few words"))
    if len(text) > chars_max:
        raise invalid_field(field, _("at most %(chars)s characters") % {"chars": chars_max})
    return text


def _dispute_state(detail: str) -> DomainError:
    return Conflict(code="dispute_state", detail=detail)


# Reading ----------------------------------------------------------------------


# Opening and answering --------------------------------------------------------


async def dispute_open(
    *, engine: Engine[Any], actor: Principal, exchange_id: uuid.UUID, reason: str
) -> uuid.UUID:
    """A party disputes a completed exchange within the window; returns the dispute id."""
    require_active(actor)
    text = checked_text(reason, field="reason", chars_max=DISPUTE_REASON_CHARS_MAX)
    view = await exchange_get(actor=actor, exchange_id=exchange_id)
    if actor.member_id not in view.parties:
        raise forbidden(_("Only the people taking part in an exchange can dispute it."))
    if view.status != "completed":
        raise Conflict(
            code="exchange_state",
            detail=_("This exchange is %(status)s: only completed exchanges can be disputed.")
            % {"status": view.status},
            extra={"exchange_status": view.status},
        )
    now = clock.utc_now()
    closes_at = await dispute_window_closes_at(view)
    if closes_at is None or now > closes_at:
        raise Conflict(
            code="dispute_window_closed",
            detail=_("The time to dispute this exchange ended on %(day)s.")
            % {"day": f"{closes_at:%-d %B %Y}"}
            if closes_at
            else _("This exchange cannot be disputed."),
        )
    dispute_id = uuid.uuid4()

    async def work(transaction: WriteTransaction) -> None:
        inserted = (
            await Dispute.insert(
                Dispute(
                    id=dispute_id,
                    exchange=exchange_id,
                    community=view.exchange.community,
                    opened_by=actor.member_id,
                    reason=text,
                    status="open",
                    opened_at=now,
                )
            )
            .on_conflict(action="DO NOTHING")
            .returning(Dispute.id)
            .run()
        )
        if not inserted:
            raise _already_disputed()
        await exchange_history_event(exchange_id, actor, "dispute", now, note="dispute opened")
        await dispute_opened_mail(
            transaction, exchange_id=exchange_id, dispute_id=dispute_id, opened_by=actor.member_id
        )

    await run_write(engine, work)
    return dispute_id


def _already_disputed() -> DomainError:
    return Conflict(
        code="dispute_exists",
        detail=_("This exchange has already been disputed."),
    )


async def dispute_add_statement(
    *, engine: Engine[Any], actor: Principal, dispute_id: uuid.UUID, body: str
) -> uuid.UUID:
    """A party adds their account to an open dispute."""
    text = checked_text(body, field="body", chars_max=DISPUTE_STATEMENT_CHARS_MAX)
    dispute = await Dispute.objects().where(Dispute.id == dispute_id).first().run()
    if dispute is None:
        raise not_found(_("That dispute"))
    if actor.member_id not in await exchange_parties(dispute.exchange):
        if not actor.is_admin:
            raise not_found(_("That dispute"))
        raise forbidden(_("Only the people taking part in the exchange can add their account."))
    statement_id = uuid.uuid4()

    async def work(_transaction: WriteTransaction) -> None:
        status = await Dispute.select(Dispute.status).where(Dispute.id == dispute_id).first().run()
        if status is None or status["status"] != "open":
            raise _dispute_state(_("This dispute has been resolved: the thread is closed."))
        count = await DisputeStatement.count().where(DisputeStatement.dispute == dispute_id).run()
        if count >= DISPUTE_STATEMENTS_MAX:
            raise _dispute_state(_("This dispute's thread is full; an admin will read it."))
        await DisputeStatement.insert(
            DisputeStatement(
                id=statement_id,
                dispute=dispute_id,
                author=actor.member_id,
                body=text,
                at=clock.utc_now(),
            )
        ).run()

    await run_write(engine, work)
    return statement_id


# Resolving --------------------------------------------------------------------


# Of the admin's note, copied into the ledger's reason field.
REVERSAL_REASON_CHARS_MAX = 200
