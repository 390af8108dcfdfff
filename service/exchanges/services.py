"""Exchanges: the rules, as service functions (writes) and selectors (reads).

An exchange has one provider and one or more recipients (a group activity).
Its life: proposed -> accepted -> completed, or cancelled (before completion),
or expired (an accepted exchange whose holds ran out).

- Propose: the proposer is the provider or one of the recipients, and agrees by
  proposing. Every party is an active member; the provider is not a recipient.
- Accept: every other party accepts in turn. The last acceptance places every
  recipient's hold (recipient -> provider, pending) in ONE ledger chain: all of
  them or none, so a group never half-starts.
- Complete: a recipient (for everyone: a group is one atomic entry) or a
  coordinator of the exchange's community posts every hold in one chain.
- Cancel: any party before completion; accepted holds are voided in one chain.
- Expire: accepted exchanges past `hold_expires_at` are expired by a sweep;
  their holds expire in the ledger with the ids the ledger itself derives.

Every state change is a conditional UPDATE (`WHERE status = <expected>`) in the
same write transaction as its ledger calls: of two concurrent requests exactly
one wins, and the loser changes nothing. Ledger transfer ids are derived from
the exchange, so a retried or repeated step never moves hours twice. Every
change appends an ExchangeEvent (who, what, when).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from piccolo.engine.base import Engine

from ledger import (
    ExceedsFloor,
    Ledger,
    LedgerError,
    NewPending,
    PostPending,
    Transfer,
    Unit,
    VoidPending,
    WriteTransaction,
    run_write,
)
from service import clock
from service.blocks.selectors import refuse_if_blocked
from service.checks.services import home_check_refusal
from service.errors import Conflict, Forbidden, invalid_field
from service.exchanges.expiry import expire_one
from service.exchanges.ids import (
    chain_id_for,
    hold_transfer_id,
    post_transfer_id,
    proposal_id,
    void_transfer_id,
)
from service.exchanges.mailing import exchange_event_mail
from service.exchanges.schemas import ExchangeIn
from service.exchanges.selectors import (
    ExchangeView,
    Party,
    coordinates_exchange,
    people_of,
    view_of,
    visible_view,
)
from service.exchanges.steps import (
    claim_status,
    counterparty_credit_problem,
    description_checked,
    exchange_state_problem,
    held_pendings,
    history_event,
    insufficient_credit,
    own_credit_problem,
    service_date_checked,
    service_date_in_future,
    state_refusal,
)
from service.exchanges.tables import Exchange, ExchangeRecipient
from service.i18n import N_, _
from service.limits import MEMO_CHARS_MAX
from service.listings.services import paused_or_expired
from service.listings.tables import Listing
from service.members.accounts import member_account_id
from service.principal import Principal, forbidden, require_active
from service.rollups.services import record_exchange_flow

EXCHANGE_CODE = "exchange"  # the ledger code of every exchange transfer

# A step's last act inside its write transaction, once it has succeeded (with the
# exchange's id): the JSON API reads and stores its reply there (ADR 0052), so nothing
# is read again after the commit.
AfterStep = Callable[[WriteTransaction, uuid.UUID], Awaitable[None]]


async def _after_step(
    after: AfterStep | None, transaction: WriteTransaction, exchange_id: uuid.UUID
) -> None:
    if after is not None:
        await after(transaction, exchange_id)


# Ledger ids, derived from the exchange: a repeated step reuses them --------------


# What callers read ------------------------------------------------------------


# Problems ---------------------------------------------------------------------


# Reading ----------------------------------------------------------------------


# Proposing --------------------------------------------------------------------


def _recipient_ids(data: ExchangeIn) -> list[uuid.UUID]:
    if (data.recipient_ids is None) == (data.recipient_id is None):
        raise invalid_field("recipient_ids", _("give either recipient_ids or recipient_id"))
    ids = data.recipient_ids if data.recipient_ids is not None else [data.recipient_id]
    recipients = [member_id for member_id in ids if member_id is not None]
    if len(set(recipients)) != len(recipients):
        raise invalid_field("recipient_ids", _("a recipient is named twice"))
    if data.provider_id in recipients:
        raise invalid_field("recipient_ids", _("the provider cannot also be a recipient"))
    return recipients


async def _active_parties(
    provider_id: uuid.UUID, recipient_ids: Sequence[uuid.UUID], *, recipients_field: str
) -> dict[uuid.UUID, Party]:
    people = await people_of([provider_id, *recipient_ids])
    for field, member_ids in (("provider_id", [provider_id]), (recipients_field, recipient_ids)):
        for member_id in member_ids:
            person = people.get(member_id)
            if person is None or person.status != "active":
                raise invalid_field(field, f"{member_id} is not an active member")
    return people


async def _check_listing(listing_id: uuid.UUID, parties: Iterable[uuid.UUID]) -> bool:
    """Refuse a listing that is not an open one of the parties; True if it is help at home."""
    listing = (
        await Listing.select(
            Listing.member, Listing.status, Listing.in_home, Listing.paused_at, Listing.expires_at
        )
        .where(Listing.id == listing_id)
        .first()
        .run()
    )
    if listing is None or listing["status"] != "open" or listing["member"] not in set(parties):
        raise invalid_field("listing_id", _("must be an open listing of one of the parties"))
    # Paused or past its date, a listing is out of search; it takes no new proposals
    # until its member resumes or renews it (issue 18).
    if paused_or_expired(listing):
        raise Conflict(
            code="listing_paused",
            detail=_("This listing is paused or has run out: its member can resume or renew it."),
        )
    return bool(listing["in_home"])


async def _check_affordable(
    ledger: Ledger,
    actor: Principal,
    people: dict[uuid.UUID, Party],
    recipient_ids: Sequence[uuid.UUID],
    minutes: int,
) -> None:
    """409 if a recipient cannot cover `minutes` now; figures only to the recipient themselves.

    Advisory: balances move, and acceptance is where the ledger enforces the floor.
    It saves a proposal that could only fail when the other side accepts.
    """
    # The proposer first: if they are short themselves, that is what they can act on.
    ordered = sorted(recipient_ids, key=lambda member_id: member_id != actor.member_id)
    for member_id in ordered:
        account = await ledger.account(account_id=member_account_id(member_id))
        floor = account.floor_minor
        if floor is None or account.available_minor - minutes >= floor:
            continue
        if member_id == actor.member_id:
            raise own_credit_problem(member_id, account.available_minor, floor)
        raise counterparty_credit_problem(member_id, people[member_id].display_name)


async def exchange_propose(
    *,
    engine: Engine[Any],
    ledger: Ledger,
    actor: Principal,
    data: ExchangeIn,
    idempotency_key: str | None = None,
    after: AfterStep | None = None,
) -> uuid.UUID:
    """Propose an exchange; the proposer takes part in it and agrees by proposing.

    With an Idempotency-Key the exchange id is derived from it, so two
    concurrent first attempts create one exchange (on PostgreSQL the second's
    INSERT fails on the key and its transaction is run again, finding the first's).
    `after` runs last in the write transaction of the attempt that creates it.
    """
    require_active(actor)
    now = clock.utc_now()
    recipient_ids = _recipient_ids(data)
    if actor.member_id not in (data.provider_id, *recipient_ids):
        raise Forbidden(
            code="not_a_party",
            detail=_(
                "You can only propose an exchange you take part in, "
                "as the provider or as a recipient."
            ),
        )
    service_date = service_date_checked(data.service_date, now, future_allowed=True)
    description = description_checked(data.description)
    field = "recipient_ids" if data.recipient_ids is not None else "recipient_id"
    people = await _active_parties(data.provider_id, recipient_ids, recipients_field=field)
    # Nobody proposes to a member with a block between them (either way).
    await refuse_if_blocked(actor.member_id, [data.provider_id, *recipient_ids])
    in_home = data.in_home
    if data.listing_id is not None:
        in_home = await _check_listing(data.listing_id, people) or in_home
    await _check_affordable(ledger, actor, people, recipient_ids, data.minutes)
    provider = people[data.provider_id]
    assert provider.community_id is not None  # noqa: S101 - members have a community
    if in_home:
        await home_check_refusal(
            engine=engine,
            community_id=provider.community_id,
            helper_id=data.provider_id,
            exchange_id=None,
        )
    exchange = Exchange(
        id=proposal_id(actor.member_id, idempotency_key),
        community=provider.community_id,
        provider=data.provider_id,
        proposer=actor.member_id,
        minutes=data.minutes,
        service_date=service_date,
        description=description,
        listing=data.listing_id,
        in_home=in_home,
        status="proposed",
        recorded_by=None,
        hold_expires_at=None,
        chain_id=None,
        created_at=now,
        updated_at=now,
    )

    async def work(transaction: WriteTransaction) -> None:
        if await Exchange.exists().where(Exchange.id == exchange.id).run():
            return  # a concurrent attempt with the same Idempotency-Key made it
        await Exchange.insert(exchange).run()
        await ExchangeRecipient.insert(
            *(ExchangeRecipient(exchange=exchange.id, member=member) for member in recipient_ids)
        ).run()
        await history_event(exchange.id, actor, "propose", now)
        await exchange_event_mail(
            transaction,
            exchange_id=exchange.id,
            event="proposed",
            actor_id=actor.member_id,
            known=(exchange, recipient_ids),
        )
        await _after_step(after, transaction, exchange.id)

    await run_write(engine, work)
    exchange_id: uuid.UUID = exchange.id
    return exchange_id


async def exchange_history_event(
    exchange_id: uuid.UUID,
    actor: Principal | None,
    action: str,
    at: datetime,
    note: str = "",
    *,
    system_label: str | None = None,
) -> None:
    """Append to an exchange's history from another package (disputes, the admin console)."""
    if system_label is None:
        await history_event(exchange_id, actor, action, at, note)
    else:
        await history_event(exchange_id, actor, action, at, note, system_label=system_label)


# Accepting --------------------------------------------------------------------


async def _status_of(exchange_id: uuid.UUID) -> str:
    row = await Exchange.select(Exchange.status).where(Exchange.id == exchange_id).first().run()
    assert row is not None  # noqa: S101 - exchanges are never deleted
    status: str = row["status"]
    return status


async def _refusal_after_lost_claim(exchange_id: uuid.UUID, action: str, now: datetime) -> bool:
    """Why a claim failed: raise the state problem, or return False if the hold ran out."""
    row = (
        await Exchange.select(Exchange.status, Exchange.hold_expires_at)
        .where(Exchange.id == exchange_id)
        .first()
        .run()
    )
    assert row is not None  # noqa: S101 - exchanges are never deleted
    if row["status"] == "accepted" and row["hold_expires_at"] <= now:
        return False
    raise state_refusal(row["status"], action)


async def exchange_accept(
    *,
    engine: Engine[Any],
    ledger: Ledger,
    actor: Principal,
    exchange_id: uuid.UUID,
    hold_seconds: int,
    after: AfterStep | None = None,
) -> None:
    """Accept as one of the parties; the last acceptance holds every recipient's hours.

    The holds run `hold_seconds` (the EXCHANGE_HOLD_DAYS setting) from this
    acceptance or from the service date, whichever is later. `after` runs last in
    the write transaction when the acceptance is made.
    """
    require_active(actor)
    # Read once, before the transaction: who may accept and in which state. The
    # conditional UPDATE below is what decides; the row is read again under its lock.
    view = await visible_view(actor, exchange_id)
    if actor.member_id not in view.parties:
        raise forbidden(N_("Only the people taking part in an exchange can accept it."))
    if view.status != "proposed":
        raise state_refusal(view.status, "accept")
    await _home_check_before_accepting(engine, view)

    async def work(transaction: WriteTransaction) -> None:
        now = clock.utc_now()
        if not await claim_status(exchange_id, source="proposed", changes={}, now=now):
            raise state_refusal(await _status_of(exchange_id), "accept")
        # Read again under the row lock: a concurrent acceptance is now visible.
        fresh = await view_of(exchange_id)
        assert fresh is not None  # noqa: S101 - exchanges are never deleted
        if actor.member_id in fresh.accepted:
            proposed = actor.member_id == fresh.exchange.proposer
            raise exchange_state_problem(
                fresh.status,
                _("You proposed this exchange: the other side accepts it.")
                if proposed
                else _("You have already accepted this exchange."),
            )
        waiting = [member for member in fresh.awaiting if member != actor.member_id]
        if waiting:
            await history_event(
                exchange_id, actor, "agree", now, note=f"waiting for {len(waiting)} more"
            )
            await _after_step(after, transaction, exchange_id)
            return
        await _place_holds(ledger, fresh, actor, now, hold_seconds=hold_seconds)
        await exchange_event_mail(
            transaction,
            exchange_id=exchange_id,
            event="accepted",
            actor_id=actor.member_id,
            known=(fresh.exchange, fresh.recipient_ids),
        )
        await _after_step(after, transaction, exchange_id)

    await run_write(engine, work)


async def _home_check_before_accepting(engine: Engine[Any], view: ExchangeView) -> None:
    """A party accepting help at home: the helper's check is asked for again (ADR 0035)."""
    if view.exchange.in_home:
        await home_check_refusal(
            engine=engine,
            community_id=view.exchange.community,
            helper_id=view.provider_id,
            exchange_id=view.id,
        )


async def _place_holds(
    ledger: Ledger, view: ExchangeView, actor: Principal, now: datetime, *, hold_seconds: int
) -> None:
    inactive = [member for member in view.parties if view.people[member].status != "active"]
    if inactive:
        raise Conflict(
            code="party_unavailable",
            detail=_("Someone taking part in this exchange can no longer exchange hours."),
            extra={"member_ids": [str(member) for member in sorted(inactive, key=str)]},
        )
    exchange = view.exchange
    # A hold must outlive the help: it runs from acceptance or the service date, if later.
    expires_at = max(now, exchange.service_date) + timedelta(seconds=hold_seconds)
    chain_id = chain_id_for(view.id, "hold")
    operations = [
        NewPending(
            id=hold_transfer_id(view.id, member),
            debit_account_id=member_account_id(member),
            credit_account_id=member_account_id(view.provider_id),
            amount_minor=exchange.minutes,
            unit=Unit.HOUR,
            code=EXCHANGE_CODE,
            actor=actor.label,
            expires_at=expires_at,
            memo=_memo(exchange),
        )
        for member in view.recipient_ids
    ]
    try:
        transfers = await ledger.chain(operations=operations, chain_id=chain_id)
    except LedgerError as error:
        if isinstance(error, ExceedsFloor):
            short = _member_of_account(error, view.recipient_ids)
            raise insufficient_credit(
                error, short_member=short, name=view.name_of(short), caller=actor
            ) from error
        raise
    changes = {
        Exchange.status: "accepted",
        Exchange.hold_expires_at: expires_at,
        Exchange.chain_id: chain_id,
    }
    claimed = await claim_status(view.id, source="proposed", changes=changes, now=now)
    assert claimed  # noqa: S101 - this transaction holds the row since its first claim
    for member, transfer in zip(view.recipient_ids, transfers, strict=True):
        await _set_recipient(view.id, member, {ExchangeRecipient.pending_transfer_id: transfer.id})
    note = f"hours held until {expires_at.isoformat(timespec='minutes')}"
    await history_event(view.id, actor, "accept", now, note=note)


def _memo(exchange: Exchange) -> str:
    description: str = exchange.description
    return description[:MEMO_CHARS_MAX]


def _member_of_account(error: LedgerError, members: Iterable[uuid.UUID]) -> uuid.UUID | None:
    by_account = {str(member_account_id(member)): member for member in members}
    return by_account.get(str(error.data.get("account_id")))


async def _set_recipient(
    exchange_id: uuid.UUID, member_id: uuid.UUID, changes: Mapping[Any, Any]
) -> None:
    await (
        ExchangeRecipient.update(dict(changes))
        .where(
            (ExchangeRecipient.exchange == exchange_id) & (ExchangeRecipient.member == member_id)
        )
        .run()
    )


# Completing and cancelling ----------------------------------------------------


def _ledger_actor(actor: Principal, view: ExchangeView) -> str:
    """Who the ledger says acted: the party, or the coordinator or admin acting for one."""
    if actor.member_id in view.parties:
        return actor.label
    role = "coordinator" if actor.coordinates(view.exchange.community) else "admin"
    return f"{role}:{actor.member_id}"


async def exchange_complete(
    *,
    engine: Engine[Any],
    ledger: Ledger,
    actor: Principal,
    exchange_id: uuid.UUID,
    after: AfterStep | None = None,
) -> None:
    """A recipient (or a coordinator) confirms the help happened: every hold is posted.

    `after` runs in the write transaction once the exchange is completed.
    """

    async def work(transaction: WriteTransaction) -> bool:
        now = clock.utc_now()
        view = await visible_view(actor, exchange_id)
        is_recipient = actor.member_id in view.recipient_ids
        if not (is_recipient or coordinates_exchange(actor, view)):
            raise forbidden(
                N_("Only a recipient, or a coordinator of the community, can confirm the help.")
            )
        if is_recipient:
            require_active(actor)
        if view.status != "accepted":
            raise state_refusal(view.status, "complete")
        if view.exchange.service_date > now:
            raise service_date_in_future(view.exchange.service_date)
        changes = {Exchange.status: "completed", Exchange.hold_expires_at: None}
        if not await claim_status(exchange_id, source="accepted", changes=changes, now=now):
            return await _refusal_after_lost_claim(exchange_id, "complete", now)
        posted = await post_holds(ledger, view, label=_ledger_actor(actor, view))
        await history_event(exchange_id, actor, "complete", now)
        await exchange_event_mail(
            transaction,
            exchange_id=exchange_id,
            event="completed",
            actor_id=actor.member_id,
            known=(view.exchange, view.recipient_ids),
        )
        await _after_step(after, transaction, exchange_id)
        # Last: the rollup cells are rows every completion in a community and month
        # updates, so their locks are taken just before the commit (ADR 0052).
        await record_posted_flows(view, posted)
        return True

    await _run_unless_expired(engine, ledger, exchange_id, work, "complete")


async def post_every_hold(ledger: Ledger, view: ExchangeView, *, label: str) -> None:
    """Post every recipient's hold in one chain, on the service date; mirror it in the rollups.

    The caller has claimed the exchange (accepted -> completed) in this transaction.
    """
    await record_posted_flows(view, await post_holds(ledger, view, label=label))


async def post_holds(ledger: Ledger, view: ExchangeView, *, label: str) -> list[Transfer]:
    """Post every recipient's hold in one chain, on the service date; the posted transfers.

    The caller mirrors them in the rollups (`record_posted_flows`) in the same transaction.
    """
    exchange_id = view.id
    effective_at = view.exchange.service_date  # never ahead of now: checked by the callers
    operations = [
        PostPending(
            id=post_transfer_id(exchange_id, member),
            pending_id=pending_id,
            actor=label,
            effective_at=effective_at,
            memo=_memo(view.exchange),
        )
        for member, pending_id in held_pendings(view)
    ]
    transfers = await ledger.chain(
        operations=operations, chain_id=chain_id_for(exchange_id, "post")
    )
    for member, transfer in zip(view.recipient_ids, transfers, strict=True):
        await _set_recipient(exchange_id, member, {ExchangeRecipient.transfer_id: transfer.id})
    return list(transfers)


async def record_posted_flows(view: ExchangeView, transfers: Sequence[Transfer]) -> None:
    """Mirror each recipient's posted hold in the rollups, dated the service date."""
    for member, transfer in zip(view.recipient_ids, transfers, strict=True):
        await record_exchange_flow(
            exchange_id=view.id,
            recipient_id=member,
            minutes_signed=transfer.amount_minor,
            at=view.exchange.service_date,
            source_id=transfer.id,
        )


async def exchange_cancel(
    *,
    engine: Engine[Any],
    ledger: Ledger,
    actor: Principal,
    exchange_id: uuid.UUID,
    decline_reason: str | None = None,
    after: AfterStep | None = None,
) -> None:
    """A party calls the exchange off before completion; holds are voided.

    With `decline_reason` (may be empty) a party asked to accept declines instead: the
    proposal is called off, and the other parties are told why (history and mail).
    """
    declining = decline_reason is not None

    async def work(transaction: WriteTransaction) -> bool:
        now = clock.utc_now()
        view = await visible_view(actor, exchange_id)
        if actor.member_id not in view.parties:
            raise forbidden(N_("Only the people taking part in an exchange can cancel it."))
        source = view.status
        if source not in ("proposed", "accepted") or (
            declining and actor.member_id not in view.awaiting
        ):
            raise state_refusal(source, "decline" if declining else "cancel")
        changes = {Exchange.status: "cancelled", Exchange.hold_expires_at: None}
        if not await claim_status(exchange_id, source=source, changes=changes, now=now):
            return await _refusal_after_lost_claim(exchange_id, "cancel", now)
        if source == "accepted":
            operations = [
                VoidPending(
                    id=void_transfer_id(exchange_id, member),
                    pending_id=pending_id,
                    actor=actor.label,
                    memo="exchange cancelled",
                )
                for member, pending_id in held_pendings(view)
            ]
            await ledger.chain(operations=operations, chain_id=chain_id_for(exchange_id, "void"))
        if declining:
            await history_event(exchange_id, actor, "decline", now, note=decline_reason or "")
            await exchange_event_mail(
                transaction,
                exchange_id=exchange_id,
                event="declined",
                actor_id=actor.member_id,
                reason=decline_reason or "",
            )
        else:
            await history_event(exchange_id, actor, "cancel", now)
        await _after_step(after, transaction, exchange_id)
        return True

    await _run_unless_expired(engine, ledger, exchange_id, work, "cancel")


async def _run_unless_expired(
    engine: Engine[Any],
    ledger: Ledger,
    exchange_id: uuid.UUID,
    work: Callable[[WriteTransaction], Awaitable[bool]],
    action: str,
) -> None:
    """Run `work`; if it found the hold already ran out, expire the exchange and say so."""
    if await run_write(engine, work):
        return
    await expire_one(engine, ledger, exchange_id, clock.utc_now())
    raise state_refusal("expired", action)


# Expiry -----------------------------------------------------------------------


# Coordinator recording --------------------------------------------------------


# Suspension (admin console) ---------------------------------------------------
