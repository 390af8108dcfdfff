"""Holds that ran out expire; a suspended member's open exchanges are called off."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from piccolo.engine.base import Engine

from ledger import (
    ExpirePending,
    Ledger,
    VoidPending,
    WriteTransaction,
    run_write,
)
from service import clock
from service.exchanges.ids import (
    chain_id_for,
    expire_transfer_id,
    void_transfer_id,
)
from service.exchanges.mailing import exchange_event_mail
from service.exchanges.selectors import (
    ExchangeView,
    exchange_party_filter,
    view_of,
)
from service.exchanges.steps import (
    OPEN_STATUSES,
    SUSPENSION_NOTE,
    claim_status,
    held_pendings,
    history_event,
)
from service.exchanges.tables import Exchange, ExchangeRecipient
from service.limits import (
    EXCHANGE_EXPIRY_BATCH_MAX,
)
from service.principal import Principal

logger = logging.getLogger("timebank.exchanges")


async def expire_exchange_holds(
    *, engine: Engine[Any], ledger: Ledger, now: datetime | None = None
) -> int:
    """Expire accepted exchanges whose hold ran out; returns how many this call expired.

    Safe to run from several workers at once: each exchange is claimed by a
    conditional UPDATE, and the ledger ids are derived from the holds.
    """
    instant = (now or clock.utc_now()).astimezone(UTC)
    expired = 0
    while True:
        due = (
            await Exchange.select(Exchange.id)
            .where((Exchange.status == "accepted") & (Exchange.hold_expires_at <= instant))
            .order_by(Exchange.hold_expires_at)
            .limit(EXCHANGE_EXPIRY_BATCH_MAX)
            .run()
        )
        progress = 0
        for row in due:
            try:
                progress += await expire_one(engine, ledger, row["id"], instant)
            except Exception:
                # One broken exchange must not stop the others; it is retried next pass.
                logger.exception("could not expire exchange %s", row["id"])
        expired += progress
        if len(due) < EXCHANGE_EXPIRY_BATCH_MAX or progress == 0:
            return expired


async def expire_one(
    engine: Engine[Any], ledger: Ledger, exchange_id: uuid.UUID, now: datetime
) -> bool:
    async def work(_transaction: WriteTransaction) -> bool:
        where = (
            (Exchange.id == exchange_id)
            & (Exchange.status == "accepted")
            & (Exchange.hold_expires_at <= now)
        )
        changes: dict[Any, Any] = {Exchange.status: "expired", Exchange.hold_expires_at: None}
        claimed = (
            await Exchange.update({**changes, Exchange.updated_at: now})
            .where(where)
            .returning(Exchange.id)
            .run()
        )
        if not claimed:
            return False  # someone else expired, completed or cancelled it
        pending_ids = [
            row["pending_transfer_id"]
            for row in await ExchangeRecipient.select(ExchangeRecipient.pending_transfer_id)
            .where(ExchangeRecipient.exchange == exchange_id)
            .run()
            if row["pending_transfer_id"] is not None
        ]
        items = [ExpirePending(id=expire_transfer_id(pid), pending_id=pid) for pid in pending_ids]
        for result in await ledger.batch(items=items, now=now) if items else []:
            # Already resolved elsewhere (the ledger's own sweep, an account closure): fine.
            if result.error is not None and getattr(result.error, "code", "") != (
                "pending_already_resolved"
            ):
                raise result.error
        await history_event(exchange_id, None, "expire", now)
        return True

    return await run_write(engine, work)


async def open_exchange_ids_of(member_id: uuid.UUID) -> list[uuid.UUID]:
    """Proposed and accepted exchanges the member takes part in, oldest first."""
    rows = (
        await Exchange.select(Exchange.id)
        .where(exchange_party_filter(member_id) & Exchange.status.is_in(list(OPEN_STATUSES)))
        .order_by(Exchange.created_at, Exchange.id)
        .run()
    )
    return [row["id"] for row in rows]


async def exchange_cancel_for_suspension(
    *,
    engine: Engine[Any],
    ledger: Ledger,
    actor: Principal,
    exchange_id: uuid.UUID,
    note: str = SUSPENSION_NOTE,
    ledger_actor: str | None = None,
    mail_event: str | None = None,
) -> str:
    """Call off an open exchange because a party is being suspended; returns its status after.

    Meant to run inside the suspension's write transaction (it joins it). The
    admin is the actor in the history, with the note "member suspended", and
    (a closure passes its own `note` and `ledger_actor`: the member leaving)
    every hold is voided. A hold whose time already ran out is expired, as the
    sweep would. A concurrent step (an acceptance that won the row first) is
    followed: the state only moves forward (proposed, accepted, then an end),
    so three looks are enough. With `mail_event` (a closure), the other parties
    are told (mail and notice) in the same transaction.
    """

    async def work(transaction: WriteTransaction) -> str:
        now = clock.utc_now()
        for _ in range(3):
            view = await view_of(exchange_id)
            if view is None or view.status not in OPEN_STATUSES:
                return view.status if view is not None else "missing"
            changes = {Exchange.status: "cancelled", Exchange.hold_expires_at: None}
            if await claim_status(exchange_id, source=view.status, changes=changes, now=now):
                label = ledger_actor or f"admin:{actor.member_id}"
                status = await void_for_suspension(
                    ledger, view, actor, now, note=note, ledger_actor=label
                )
                if mail_event is not None:
                    await exchange_event_mail(
                        transaction,
                        exchange_id=exchange_id,
                        event=mail_event,
                        actor_id=actor.member_id,
                    )
                return status
            if view.status == "accepted" and await expire_one(engine, ledger, exchange_id, now):
                return "expired"
        raise AssertionError("an exchange changed state more often than its states allow")

    return await run_write(engine, work)


async def void_for_suspension(
    ledger: Ledger,
    view: ExchangeView,
    actor: Principal,
    now: datetime,
    *,
    note: str = SUSPENSION_NOTE,
    ledger_actor: str | None = None,
) -> str:
    exchange_id = view.id
    if view.status == "accepted":
        operations = [
            VoidPending(
                id=void_transfer_id(exchange_id, member),
                pending_id=pending_id,
                actor=ledger_actor or f"admin:{actor.member_id}",
                memo=note,
            )
            for member, pending_id in held_pendings(view)
        ]
        await ledger.chain(operations=operations, chain_id=chain_id_for(exchange_id, "void"))
    await history_event(exchange_id, actor, "cancel", now, note=note)
    return "cancelled"
