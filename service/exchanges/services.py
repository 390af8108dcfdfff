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

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from piccolo.custom_types import Combinable
from piccolo.engine.base import Engine

from ledger import (
    LEDGER_NAMESPACE,
    ExpirePending,
    Ledger,
    LedgerError,
    NewPending,
    PostPending,
    Unit,
    VoidPending,
    run_write,
)
from ledger.transactions import WriteTransaction
from service.disputes.floors import restore_overridden_floors
from service.exchanges.schemas import ExchangeIn, RecordIn
from service.exchanges.tables import Exchange, ExchangeEvent, ExchangeRecipient
from service.http.cursors import decode_instant_cursor, encode_instant_cursor
from service.http.idempotency import derived_id
from service.limits import (
    EXCHANGE_EXPIRY_BATCH_MAX,
    EXCHANGE_SERVICE_DATE_AHEAD_DAYS,
    EXCHANGE_SERVICE_DATE_PAST_DAYS,
    NOTICES_MAX,
    PAGE_SIZE_MAX,
)
from service.listings.tables import Listing
from service.members.accounts import member_account_id
from service.members.audit import audit_record
from service.members.tables import Member
from service.principal import Principal, forbidden, not_found, require_active
from service.problems import Problem, field_problem, minutes_text
from service.rollups.services import record_exchange_flow

logger = logging.getLogger("timebank.exchanges")

EXCHANGE_CODE = "exchange"  # the ledger code of every exchange transfer
MEMO_CHARS_MAX = 200  # of the description, copied into the ledger memo
EXPIRY_ACTOR = "system:expiry"  # ExpirePending's actor in the ledger
FORMER_PARTY_NAME = "Unknown member"

# Past participles for "cannot be <done> now".
_DONE = {"accept": "accepted", "complete": "completed", "cancel": "cancelled"}


def utc_now() -> datetime:
    return datetime.now(UTC)


# Ledger ids, derived from the exchange: a repeated step reuses them --------------


def hold_transfer_id(exchange_id: uuid.UUID, member_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(exchange_id, f"hold:{member_id}")


def post_transfer_id(exchange_id: uuid.UUID, member_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(exchange_id, f"post:{member_id}")


def void_transfer_id(exchange_id: uuid.UUID, member_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(exchange_id, f"void:{member_id}")


def expire_transfer_id(pending_id: uuid.UUID) -> uuid.UUID:
    """The id `Ledger.expire_due` derives too, so both ways of expiring agree."""
    return uuid.uuid5(LEDGER_NAMESPACE, f"expire:{pending_id}")


def proposal_id(caller_id: uuid.UUID, idempotency_key: str | None) -> uuid.UUID:
    """A proposal's id: with an Idempotency-Key, the same for every retry of it."""
    return derived_id(caller_id=caller_id, key=idempotency_key, purpose="exchange.propose")


def recording_id(caller_id: uuid.UUID, idempotency_key: str | None) -> uuid.UUID:
    """A recorded exchange's id: with an Idempotency-Key, the same for every retry of it."""
    return derived_id(caller_id=caller_id, key=idempotency_key, purpose="exchange.record")


def record_transfer_id(exchange_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(exchange_id, "record")


def chain_id_for(exchange_id: uuid.UUID, step: str) -> uuid.UUID:
    return uuid.uuid5(exchange_id, f"chain:{step}")


# What callers read ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recipient:
    member_id: uuid.UUID
    pending_transfer_id: uuid.UUID | None
    transfer_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Party:
    id: uuid.UUID
    display_name: str
    community_id: uuid.UUID | None
    status: str


@dataclass(frozen=True, slots=True)
class ExchangeView:
    """One exchange with its recipients, the people involved, and (if asked) its history."""

    exchange: Exchange
    recipients: tuple[Recipient, ...]
    people: Mapping[uuid.UUID, Party]  # parties and everyone named in the history
    accepted: frozenset[uuid.UUID]  # parties who agreed (the proposer did by proposing)
    history: tuple[ExchangeEvent, ...]

    @property
    def id(self) -> uuid.UUID:
        exchange_id: uuid.UUID = self.exchange.id
        return exchange_id

    @property
    def status(self) -> str:
        status: str = self.exchange.status
        return status

    @property
    def provider_id(self) -> uuid.UUID:
        provider_id: uuid.UUID = self.exchange.provider
        return provider_id

    @property
    def recipient_ids(self) -> tuple[uuid.UUID, ...]:
        return tuple(recipient.member_id for recipient in self.recipients)

    @property
    def parties(self) -> frozenset[uuid.UUID]:
        return frozenset((self.provider_id, *self.recipient_ids))

    @property
    def awaiting(self) -> list[uuid.UUID]:
        """Parties whose acceptance is still needed, provider first."""
        if self.status != "proposed":
            return []
        order = (self.provider_id, *self.recipient_ids)
        return [member_id for member_id in order if member_id not in self.accepted]

    def name_of(self, member_id: uuid.UUID | None) -> str:
        if member_id is None:
            return "System"
        person = self.people.get(member_id)
        return person.display_name if person else FORMER_PARTY_NAME

    @property
    def communities(self) -> frozenset[uuid.UUID]:
        """The exchange's community and the home communities of its parties."""
        found = {
            person.community_id
            for member_id, person in self.people.items()
            if member_id in self.parties and person.community_id is not None
        }
        found.add(self.exchange.community)
        return frozenset(found)


@dataclass(frozen=True, slots=True)
class Notice:
    kind: str  # exchange_to_accept | exchange_to_confirm
    exchange: Exchange
    provider_name: str


# Problems ---------------------------------------------------------------------


def exchange_state_problem(status: str, detail: str) -> Problem:
    return Problem(status=409, code="exchange_state", detail=detail, extra={"status": status})


def _state_refusal(status: str, action: str) -> Problem:
    return exchange_state_problem(
        status, f"This exchange is {status}, so it cannot be {_DONE[action]} now."
    )


def _insufficient_credit(
    error: LedgerError, *, short_member: uuid.UUID | None, name: str, caller: Principal
) -> Problem:
    """409 insufficient_credit naming who is short.

    The available balance is private: it is told to the member themselves and
    to coordinators and admins, never to another member.
    """
    available = int(error.data.get("available_minor") or 0)
    extra: dict[str, Any] = {"member_id": str(short_member) if short_member else None}
    if short_member == caller.member_id:
        detail = f"Not enough credit: you have {minutes_text(available)} available."
        extra["available_minutes"] = available
    elif caller.is_admin or caller.coordinated_communities:
        detail = f"Not enough credit: {name} has {minutes_text(available)} available."
        extra["available_minutes"] = available
    else:
        detail = f"Not enough credit: {name} does not have enough hours available for this."
    return Problem(status=409, code="insufficient_credit", detail=detail, extra=extra)


# Reading ----------------------------------------------------------------------


async def _people(member_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Party]:
    ids = list(set(member_ids))
    if not ids:
        return {}
    rows = (
        await Member.select(Member.id, Member.display_name, Member.community, Member.status)
        .where(Member.id.is_in(ids))
        .run()
    )
    return {
        row["id"]: Party(row["id"], row["display_name"], row["community"], row["status"])
        for row in rows
    }


async def _views(exchanges: Sequence[Exchange], *, with_history: bool) -> list[ExchangeView]:
    """Views of many exchanges in a fixed number of queries."""
    if not exchanges:
        return []
    ids = [exchange.id for exchange in exchanges]
    recipient_rows = (
        await ExchangeRecipient.select(
            ExchangeRecipient.exchange,
            ExchangeRecipient.member,
            ExchangeRecipient.pending_transfer_id,
            ExchangeRecipient.transfer_id,
        )
        .where(ExchangeRecipient.exchange.is_in(ids))
        .run()
    )
    events_query = ExchangeEvent.objects().where(ExchangeEvent.exchange.is_in(ids))
    if not with_history:
        events_query = events_query.where(ExchangeEvent.action == "agree")
    events = await events_query.order_by(ExchangeEvent.at).run()
    recipients: dict[uuid.UUID, list[Recipient]] = {exchange_id: [] for exchange_id in ids}
    for row in recipient_rows:
        recipients[row["exchange"]].append(
            Recipient(row["member"], row["pending_transfer_id"], row["transfer_id"])
        )
    people = await _people(
        [
            *(exchange.provider for exchange in exchanges),
            *(row["member"] for row in recipient_rows),
            *(event.actor for event in events if event.actor is not None),
        ]
    )
    views = []
    for exchange in exchanges:
        own_events = tuple(event for event in events if event.exchange == exchange.id)
        agreed = {event.actor for event in own_events if event.action in ("agree", "accept")}
        if exchange.recorded_by is not None:  # a coordinator recorded it for both sides
            agreed |= {exchange.provider, *(r.member_id for r in recipients[exchange.id])}
        views.append(
            ExchangeView(
                exchange=exchange,
                recipients=tuple(sorted(recipients[exchange.id], key=lambda r: str(r.member_id))),
                people=people,
                accepted=frozenset({exchange.proposer, *agreed} - {None}),
                history=own_events if with_history else (),
            )
        )
    return views


async def _view(exchange_id: uuid.UUID, *, with_history: bool = False) -> ExchangeView | None:
    exchange = await Exchange.objects().where(Exchange.id == exchange_id).first().run()
    if exchange is None:
        return None
    return (await _views([exchange], with_history=with_history))[0]


def _coordinates_exchange(actor: Principal, view: ExchangeView) -> bool:
    return actor.is_admin or actor.coordinates(view.exchange.community)


def _may_view(actor: Principal, view: ExchangeView) -> bool:
    """Parties, admins, and coordinators of the exchange's or a party's community."""
    return (
        actor.member_id in view.parties
        or actor.is_admin
        or any(actor.coordinates(community) for community in view.communities)
    )


async def _visible(
    actor: Principal, exchange_id: uuid.UUID, *, with_history: bool = False
) -> ExchangeView:
    view = await _view(exchange_id, with_history=with_history)
    if view is None or not _may_view(actor, view):
        raise not_found("That exchange")
    return view


async def exchange_get(*, actor: Principal, exchange_id: uuid.UUID) -> ExchangeView:
    """One exchange with its history, for a party, a coordinator of it, or an admin."""
    return await _visible(actor, exchange_id, with_history=True)


def exchange_party_filter(member_id: uuid.UUID) -> Combinable:
    """Exchanges the member takes part in, as provider or as a recipient (a WHERE clause)."""
    as_recipient = Exchange.id.is_in(
        ExchangeRecipient.select(ExchangeRecipient.exchange).where(
            ExchangeRecipient.member == member_id
        )
    )
    return (Exchange.provider == member_id) | as_recipient


async def exchanges_of(
    *,
    actor: Principal,
    status: str | None,
    limit: int,
    cursor: str | None,
    with_history: bool = False,
) -> tuple[list[ExchangeView], str | None]:
    """The caller's own exchanges (as provider or recipient), newest first, one page.

    `with_history` adds each exchange's whole history, as `exchange_get` shows it
    to a party (the data export reads it so).
    """
    if not 1 <= limit <= PAGE_SIZE_MAX:
        raise ValueError(f"limit must be 1..{PAGE_SIZE_MAX}")
    where = exchange_party_filter(actor.member_id)
    if status is not None:
        where &= Exchange.status == status
    if cursor is not None:
        created_at, exchange_id = decode_instant_cursor(cursor)
        where &= (Exchange.created_at < created_at) | (
            (Exchange.created_at == created_at) & (Exchange.id < exchange_id)
        )
    rows = (
        await Exchange.objects()
        .where(where)
        .order_by(Exchange.created_at, Exchange.id, ascending=False)
        .limit(limit + 1)
        .run()
    )
    next_cursor = (
        encode_instant_cursor(rows[limit - 1].created_at, rows[limit - 1].id)
        if len(rows) > limit
        else None
    )
    return await _views(rows[:limit], with_history=with_history), next_cursor


def _notice_filters(me: uuid.UUID) -> tuple[tuple[str, Combinable], ...]:
    """(kind, where) of the exchanges waiting for member `me`, most urgent first."""
    as_recipient = Exchange.id.is_in(
        ExchangeRecipient.select(ExchangeRecipient.exchange).where(ExchangeRecipient.member == me)
    )
    agreed = Exchange.id.not_in(
        ExchangeEvent.select(ExchangeEvent.exchange).where(
            (ExchangeEvent.actor == me) & (ExchangeEvent.action == "agree")
        )
    )
    to_accept = (
        (Exchange.status == "proposed")
        & exchange_party_filter(me)
        & (Exchange.proposer != me)
        & agreed
    )
    to_confirm = (Exchange.status == "accepted") & as_recipient
    return (("exchange_to_confirm", to_confirm), ("exchange_to_accept", to_accept))


async def notice_count_of(*, actor: Principal) -> int:
    """How many exchanges wait for the caller (the navigation's count): counts only."""
    return sum(
        [await Exchange.count().where(where).run() for _, where in _notice_filters(actor.member_id)]
    )


async def notices_of(*, actor: Principal) -> tuple[int, list[Notice]]:
    """Exchanges waiting for the caller: to accept (proposed) or to confirm (accepted)."""
    me = actor.member_id
    count = 0
    found: list[tuple[str, Exchange]] = []
    for kind, where in _notice_filters(me):
        count += await Exchange.count().where(where).run()
        rows = (
            await Exchange.objects()
            .where(where)
            .order_by(Exchange.updated_at)
            .limit(NOTICES_MAX - len(found))
            .run()
        )
        found += [(kind, row) for row in rows]
        if len(found) >= NOTICES_MAX:
            break
    people = await _people(exchange.provider for _, exchange in found)
    notices = [
        Notice(kind, exchange, _party_name(people, exchange.provider)) for kind, exchange in found
    ]
    return count, notices


def _party_name(people: Mapping[uuid.UUID, Party], member_id: uuid.UUID) -> str:
    person = people.get(member_id)
    return person.display_name if person else FORMER_PARTY_NAME


# Proposing --------------------------------------------------------------------


def _recipient_ids(data: ExchangeIn) -> list[uuid.UUID]:
    if (data.recipient_ids is None) == (data.recipient_id is None):
        raise field_problem("recipient_ids", "give either recipient_ids or recipient_id")
    ids = data.recipient_ids if data.recipient_ids is not None else [data.recipient_id]
    recipients = [member_id for member_id in ids if member_id is not None]
    if len(set(recipients)) != len(recipients):
        raise field_problem("recipient_ids", "a recipient is named twice")
    if data.provider_id in recipients:
        raise field_problem("recipient_ids", "the provider cannot also be a recipient")
    return recipients


def _service_date(value: datetime, now: datetime, *, future_allowed: bool) -> datetime:
    service_date = value.astimezone(UTC)
    if service_date < now - timedelta(days=EXCHANGE_SERVICE_DATE_PAST_DAYS):
        raise field_problem(
            "service_date", f"must be within the last {EXCHANGE_SERVICE_DATE_PAST_DAYS} days"
        )
    if not future_allowed and service_date > now:
        raise field_problem("service_date", "a recorded exchange cannot be in the future")
    if service_date > now + timedelta(days=EXCHANGE_SERVICE_DATE_AHEAD_DAYS):
        raise field_problem(
            "service_date", f"must be within the next {EXCHANGE_SERVICE_DATE_AHEAD_DAYS} days"
        )
    return service_date


def _description(value: str) -> str:
    description = value.strip()
    if not description:
        raise field_problem("description", "must not be blank")
    return description


async def _active_parties(
    provider_id: uuid.UUID, recipient_ids: Sequence[uuid.UUID], *, recipients_field: str
) -> dict[uuid.UUID, Party]:
    people = await _people([provider_id, *recipient_ids])
    for field, member_ids in (("provider_id", [provider_id]), (recipients_field, recipient_ids)):
        for member_id in member_ids:
            person = people.get(member_id)
            if person is None or person.status != "active":
                raise field_problem(field, f"{member_id} is not an active member")
    return people


async def _check_listing(listing_id: uuid.UUID, parties: Iterable[uuid.UUID]) -> None:
    listing = (
        await Listing.select(Listing.member, Listing.status)
        .where(Listing.id == listing_id)
        .first()
        .run()
    )
    if listing is None or listing["status"] != "open" or listing["member"] not in set(parties):
        raise field_problem("listing_id", "must be an open listing of one of the parties")


async def exchange_propose(
    *,
    engine: Engine[Any],
    actor: Principal,
    data: ExchangeIn,
    idempotency_key: str | None = None,
) -> uuid.UUID:
    """Propose an exchange; the proposer takes part in it and agrees by proposing.

    With an Idempotency-Key the exchange id is derived from it, so two
    concurrent first attempts create one exchange.
    """
    require_active(actor)
    now = utc_now()
    recipient_ids = _recipient_ids(data)
    if actor.member_id not in (data.provider_id, *recipient_ids):
        raise Problem(
            status=403,
            code="not_a_party",
            detail="You can only propose an exchange you take part in, "
            "as the provider or as a recipient.",
        )
    service_date = _service_date(data.service_date, now, future_allowed=True)
    description = _description(data.description)
    field = "recipient_ids" if data.recipient_ids is not None else "recipient_id"
    people = await _active_parties(data.provider_id, recipient_ids, recipients_field=field)
    if data.listing_id is not None:
        await _check_listing(data.listing_id, people)
    provider = people[data.provider_id]
    assert provider.community_id is not None  # noqa: S101 - members have a community
    exchange = Exchange(
        id=proposal_id(actor.member_id, idempotency_key),
        community=provider.community_id,
        provider=data.provider_id,
        proposer=actor.member_id,
        minutes=data.minutes,
        service_date=service_date,
        description=description,
        listing=data.listing_id,
        status="proposed",
        recorded_by=None,
        hold_expires_at=None,
        chain_id=None,
        created_at=now,
        updated_at=now,
    )

    async def work(_transaction: WriteTransaction) -> None:
        if await Exchange.exists().where(Exchange.id == exchange.id).run():
            return  # a concurrent attempt with the same Idempotency-Key made it
        await Exchange.insert(exchange).run()
        await ExchangeRecipient.insert(
            *(ExchangeRecipient(exchange=exchange.id, member=member) for member in recipient_ids)
        ).run()
        await _event(exchange.id, actor, "propose", now)

    await run_write(engine, work)
    exchange_id: uuid.UUID = exchange.id
    return exchange_id


async def _event(
    exchange_id: uuid.UUID,
    actor: Principal | None,
    action: str,
    at: datetime,
    note: str = "",
) -> None:
    await ExchangeEvent.insert(
        ExchangeEvent(
            id=uuid.uuid4(),
            exchange=exchange_id,
            at=at,
            actor=actor.member_id if actor else None,
            actor_label=actor.label if actor else EXPIRY_ACTOR,
            action=action,
            note=note,
        )
    ).run()


async def exchange_history_event(
    exchange_id: uuid.UUID, actor: Principal | None, action: str, at: datetime, note: str = ""
) -> None:
    """Append to an exchange's history from another package (disputes, the admin console)."""
    await _event(exchange_id, actor, action, at, note)


# Accepting --------------------------------------------------------------------


async def _claim(
    exchange_id: uuid.UUID, *, source: str, changes: Mapping[Any, Any], now: datetime
) -> bool:
    """The conditional UPDATE that decides who wins: True if this caller moved the row.

    An accepted exchange is claimable only while its hold runs; on PostgreSQL
    the UPDATE waits for a concurrent writer of the row and then re-checks.
    """
    where = (Exchange.id == exchange_id) & (Exchange.status == source)
    if source == "accepted":
        where &= Exchange.hold_expires_at > now
    rows = (
        await Exchange.update({**changes, Exchange.updated_at: now})
        .where(where)
        .returning(Exchange.id)
        .run()
    )
    return bool(rows)


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
    raise _state_refusal(row["status"], action)


async def exchange_accept(
    *,
    engine: Engine[Any],
    ledger: Ledger,
    actor: Principal,
    exchange_id: uuid.UUID,
    hold_seconds: int,
) -> None:
    """Accept as one of the parties; the last acceptance holds every recipient's hours.

    The holds run `hold_seconds` (the EXCHANGE_HOLD_DAYS setting) from this
    acceptance or from the service date, whichever is later.
    """
    require_active(actor)

    async def work(_transaction: WriteTransaction) -> None:
        now = utc_now()
        view = await _visible(actor, exchange_id)
        if actor.member_id not in view.parties:
            raise forbidden("Only the people taking part in an exchange can accept it.")
        if view.status != "proposed":
            raise _state_refusal(view.status, "accept")
        if not await _claim(exchange_id, source="proposed", changes={}, now=now):
            raise _state_refusal(await _status_of(exchange_id), "accept")
        # Read again under the row lock: a concurrent acceptance is now visible.
        fresh = await _view(exchange_id)
        assert fresh is not None  # noqa: S101 - exchanges are never deleted
        if actor.member_id in fresh.accepted:
            proposed = actor.member_id == fresh.exchange.proposer
            raise exchange_state_problem(
                fresh.status,
                "You proposed this exchange: the other side accepts it."
                if proposed
                else "You have already accepted this exchange.",
            )
        waiting = [member for member in fresh.awaiting if member != actor.member_id]
        if waiting:
            await _event(exchange_id, actor, "agree", now, note=f"waiting for {len(waiting)} more")
            return
        await _place_holds(ledger, fresh, actor, now, hold_seconds=hold_seconds)

    await run_write(engine, work)


async def _place_holds(
    ledger: Ledger, view: ExchangeView, actor: Principal, now: datetime, *, hold_seconds: int
) -> None:
    inactive = [member for member in view.parties if view.people[member].status != "active"]
    if inactive:
        raise Problem(
            status=409,
            code="party_unavailable",
            detail="Someone taking part in this exchange can no longer exchange hours.",
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
        if error.code == "exceeds_floor":
            short = _member_of_account(error, view.recipient_ids)
            raise _insufficient_credit(
                error, short_member=short, name=view.name_of(short), caller=actor
            ) from error
        raise
    changes = {
        Exchange.status: "accepted",
        Exchange.hold_expires_at: expires_at,
        Exchange.chain_id: chain_id,
    }
    claimed = await _claim(view.id, source="proposed", changes=changes, now=now)
    assert claimed  # noqa: S101 - this transaction holds the row since its first claim
    for member, transfer in zip(view.recipient_ids, transfers, strict=True):
        await _set_recipient(view.id, member, {ExchangeRecipient.pending_transfer_id: transfer.id})
    note = f"hours held until {expires_at.isoformat(timespec='minutes')}"
    await _event(view.id, actor, "accept", now, note=note)


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


def _held(view: ExchangeView) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(recipient, pending transfer) of an accepted exchange."""
    held = []
    for recipient in view.recipients:
        assert recipient.pending_transfer_id is not None  # noqa: S101 - set on acceptance
        held.append((recipient.member_id, recipient.pending_transfer_id))
    return held


async def exchange_complete(
    *, engine: Engine[Any], ledger: Ledger, actor: Principal, exchange_id: uuid.UUID
) -> None:
    """A recipient (or a coordinator) confirms the help happened: every hold is posted."""

    async def work(_transaction: WriteTransaction) -> bool:
        now = utc_now()
        view = await _visible(actor, exchange_id)
        is_recipient = actor.member_id in view.recipient_ids
        if not (is_recipient or _coordinates_exchange(actor, view)):
            raise forbidden(
                "Only a recipient, or a coordinator of the community, can confirm the help."
            )
        if is_recipient:
            require_active(actor)
        if view.status != "accepted":
            raise _state_refusal(view.status, "complete")
        changes = {Exchange.status: "completed", Exchange.hold_expires_at: None}
        if not await _claim(exchange_id, source="accepted", changes=changes, now=now):
            return await _refusal_after_lost_claim(exchange_id, "complete", now)
        label = _ledger_actor(actor, view)
        # Help cannot have happened in the future: a date still ahead counts as today.
        effective_at = min(view.exchange.service_date, now)
        operations = [
            PostPending(
                id=post_transfer_id(exchange_id, member),
                pending_id=pending_id,
                actor=label,
                effective_at=effective_at,
                memo=_memo(view.exchange),
            )
            for member, pending_id in _held(view)
        ]
        transfers = await ledger.chain(
            operations=operations, chain_id=chain_id_for(exchange_id, "post")
        )
        for member, transfer in zip(view.recipient_ids, transfers, strict=True):
            await _set_recipient(exchange_id, member, {ExchangeRecipient.transfer_id: transfer.id})
            await record_exchange_flow(
                exchange_id=exchange_id,
                recipient_id=member,
                minutes_signed=transfer.amount_minor,
                at=effective_at,
                source_id=transfer.id,
            )
        await _event(exchange_id, actor, "complete", now)
        return True

    await _run_unless_expired(engine, ledger, exchange_id, work, "complete")


async def exchange_cancel(
    *, engine: Engine[Any], ledger: Ledger, actor: Principal, exchange_id: uuid.UUID
) -> None:
    """A party calls the exchange off before completion; holds are voided."""

    async def work(_transaction: WriteTransaction) -> bool:
        now = utc_now()
        view = await _visible(actor, exchange_id)
        if actor.member_id not in view.parties:
            raise forbidden("Only the people taking part in an exchange can cancel it.")
        source = view.status
        if source not in ("proposed", "accepted"):
            raise _state_refusal(source, "cancel")
        changes = {Exchange.status: "cancelled", Exchange.hold_expires_at: None}
        if not await _claim(exchange_id, source=source, changes=changes, now=now):
            return await _refusal_after_lost_claim(exchange_id, "cancel", now)
        if source == "accepted":
            operations = [
                VoidPending(
                    id=void_transfer_id(exchange_id, member),
                    pending_id=pending_id,
                    actor=actor.label,
                    memo="exchange cancelled",
                )
                for member, pending_id in _held(view)
            ]
            await ledger.chain(operations=operations, chain_id=chain_id_for(exchange_id, "void"))
        await _event(exchange_id, actor, "cancel", now)
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
    await _expire_one(engine, ledger, exchange_id, utc_now())
    raise _state_refusal("expired", action)


# Expiry -----------------------------------------------------------------------


async def expire_exchange_holds(
    *, engine: Engine[Any], ledger: Ledger, now: datetime | None = None
) -> int:
    """Expire accepted exchanges whose hold ran out; returns how many this call expired.

    Safe to run from several workers at once: each exchange is claimed by a
    conditional UPDATE, and the ledger ids are derived from the holds.
    """
    instant = (now or utc_now()).astimezone(UTC)
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
                progress += await _expire_one(engine, ledger, row["id"], instant)
            except Exception:
                # One broken exchange must not stop the others; it is retried next pass.
                logger.exception("could not expire exchange %s", row["id"])
        expired += progress
        if len(due) < EXCHANGE_EXPIRY_BATCH_MAX or progress == 0:
            return expired


async def _expire_one(
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
        await _event(exchange_id, None, "expire", now)
        return True

    return await run_write(engine, work)


async def expiry_sweeps_forever(
    *, engine: Engine[Any], ledger: Ledger, interval_seconds: float
) -> None:
    """The lifespan task: every `interval_seconds`, until cancelled, sweep for expired holds,
    then raise floors lowered by dispute overrides as far as the members' hours allow."""
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            expired = await expire_exchange_holds(engine=engine, ledger=ledger)
        except Exception:
            logger.exception("exchange expiry sweep failed")
        else:
            if expired:
                logger.info("expired %d exchange(s)", expired)
        try:
            raised = await restore_overridden_floors(engine=engine, ledger=ledger)
        except Exception:
            logger.exception("floor restore sweep failed")
        else:
            if raised:
                logger.info("raised %d overridden floor(s)", raised)


# Coordinator recording --------------------------------------------------------


async def _recorded_parties(actor: Principal, data: RecordIn) -> dict[uuid.UUID, Party]:
    """Both members, active, in a community the actor coordinates (admins: any)."""
    people = await _people([data.provider_id, data.recipient_id])
    for member_id in (data.provider_id, data.recipient_id):
        person = people.get(member_id)
        # Coordinators reach members of their own community only: others are "not found".
        if person is None or person.community_id is None:
            raise not_found("That member")
        if not (actor.is_admin or actor.coordinates(person.community_id)):
            raise not_found("That member")
    for field, member_id in (
        ("provider_id", data.provider_id),
        ("recipient_id", data.recipient_id),
    ):
        if people[member_id].status != "active":
            raise field_problem(field, f"{member_id} is not an active member")
    return people


async def exchange_record(
    *,
    engine: Engine[Any],
    ledger: Ledger,
    actor: Principal,
    data: RecordIn,
    idempotency_key: str | None = None,
) -> uuid.UUID:
    """Record a completed exchange for two members: one transfer, dated the service date."""
    now = utc_now()
    if data.provider_id == data.recipient_id:
        raise field_problem("recipient_id", "the provider cannot also be the recipient")
    service_date = _service_date(data.service_date, now, future_allowed=False)
    description = _description(data.description)
    people = await _recorded_parties(actor, data)
    community_id = people[data.provider_id].community_id
    exchange_id = recording_id(actor.member_id, idempotency_key)
    role = "coordinator" if community_id and actor.coordinates(community_id) else "admin"
    ledger_actor = f"{role}:{actor.member_id}"

    async def work(_transaction: WriteTransaction) -> None:
        if await Exchange.exists().where(Exchange.id == exchange_id).run():
            return  # a concurrent attempt with the same Idempotency-Key recorded it
        await Exchange.insert(
            Exchange(
                id=exchange_id,
                community=community_id,
                provider=data.provider_id,
                proposer=actor.member_id,
                minutes=data.minutes,
                service_date=service_date,
                description=description,
                listing=None,
                status="completed",
                recorded_by=actor.member_id,
                hold_expires_at=None,
                chain_id=None,
                created_at=now,
                updated_at=now,
            )
        ).run()
        try:
            transfer = await ledger.transfer(
                id=record_transfer_id(exchange_id),
                debit_account_id=member_account_id(data.recipient_id),
                credit_account_id=member_account_id(data.provider_id),
                amount_minor=data.minutes,
                unit=Unit.HOUR,
                code=EXCHANGE_CODE,
                actor=ledger_actor,
                memo=description[:MEMO_CHARS_MAX],
                effective_at=service_date,
            )
        except LedgerError as error:
            if error.code == "exceeds_floor":
                raise _insufficient_credit(
                    error,
                    short_member=data.recipient_id,
                    name=people[data.recipient_id].display_name,
                    caller=actor,
                ) from error
            raise
        await ExchangeRecipient.insert(
            ExchangeRecipient(
                exchange=exchange_id, member=data.recipient_id, transfer_id=transfer.id
            )
        ).run()
        await record_exchange_flow(
            exchange_id=exchange_id,
            recipient_id=data.recipient_id,
            minutes_signed=data.minutes,
            at=service_date,
            source_id=transfer.id,
        )
        await _event(
            exchange_id,
            actor,
            "record",
            now,
            note=f"service date {service_date.date().isoformat()}",
        )
        await audit_record(
            actor_id=actor.member_id,
            actor_label=actor.label,
            action="exchange.record",
            target_type="exchange",
            target_id=str(exchange_id),
            community_id=community_id,
            reason="recorded on behalf of the members",
            after={
                "provider_id": str(data.provider_id),
                "recipient_id": str(data.recipient_id),
                "minutes": data.minutes,
                "service_date": service_date.isoformat(),
                "transfer_id": str(transfer.id),
            },
        )

    await run_write(engine, work)
    return exchange_id


# Suspension (admin console) ---------------------------------------------------

SUSPENSION_NOTE = "member suspended"
_OPEN_STATUSES = ("proposed", "accepted")


async def open_exchange_ids_of(member_id: uuid.UUID) -> list[uuid.UUID]:
    """Proposed and accepted exchanges the member takes part in, oldest first."""
    rows = (
        await Exchange.select(Exchange.id)
        .where(exchange_party_filter(member_id) & Exchange.status.is_in(list(_OPEN_STATUSES)))
        .order_by(Exchange.created_at, Exchange.id)
        .run()
    )
    return [row["id"] for row in rows]


async def exchange_cancel_for_suspension(
    *, engine: Engine[Any], ledger: Ledger, actor: Principal, exchange_id: uuid.UUID
) -> str:
    """Call off an open exchange because a party is being suspended; returns its status after.

    Meant to run inside the suspension's write transaction (it joins it). The
    admin is the actor in the history, with the note "member suspended", and
    every hold is voided. A hold whose time already ran out is expired, as the
    sweep would. A concurrent step (an acceptance that won the row first) is
    followed: the state only moves forward (proposed, accepted, then an end),
    so three looks are enough.
    """

    async def work(_transaction: WriteTransaction) -> str:
        now = utc_now()
        for _ in range(3):
            view = await _view(exchange_id)
            if view is None or view.status not in _OPEN_STATUSES:
                return view.status if view is not None else "missing"
            changes = {Exchange.status: "cancelled", Exchange.hold_expires_at: None}
            if await _claim(exchange_id, source=view.status, changes=changes, now=now):
                return await _void_for_suspension(ledger, view, actor, now)
            if view.status == "accepted" and await _expire_one(engine, ledger, exchange_id, now):
                return "expired"
        raise AssertionError("an exchange changed state more often than its states allow")

    return await run_write(engine, work)


async def _void_for_suspension(
    ledger: Ledger, view: ExchangeView, actor: Principal, now: datetime
) -> str:
    exchange_id = view.id
    if view.status == "accepted":
        operations = [
            VoidPending(
                id=void_transfer_id(exchange_id, member),
                pending_id=pending_id,
                actor=f"admin:{actor.member_id}",
                memo=SUSPENSION_NOTE,
            )
            for member, pending_id in _held(view)
        ]
        await ledger.chain(operations=operations, chain_id=chain_id_for(exchange_id, "void"))
    await _event(exchange_id, actor, "cancel", now, note=SUSPENSION_NOTE)
    return "cancelled"


__all__ = [
    "ExchangeView",
    "Notice",
    "exchange_accept",
    "exchange_cancel",
    "exchange_cancel_for_suspension",
    "exchange_complete",
    "exchange_get",
    "exchange_history_event",
    "exchange_party_filter",
    "exchange_propose",
    "exchange_record",
    "exchanges_of",
    "expire_exchange_holds",
    "expiry_sweeps_forever",
    "notices_of",
    "open_exchange_ids_of",
]
