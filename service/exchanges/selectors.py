"""Reading exchanges as their parties and coordinators may see them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from piccolo.columns.base import ColumnMeta
from piccolo.custom_types import Combinable
from piccolo.table import Table

from ledger.sql import Connection
from service import database
from service.exchanges.tables import Exchange, ExchangeEvent, ExchangeRecipient
from service.http.cursors import decode_instant_cursor, encode_instant_cursor
from service.i18n import N_, _
from service.limits import (
    NOTICES_MAX,
    PAGE_SIZE_MAX,
)
from service.members.tables import Member
from service.principal import Principal, not_found

FORMER_PARTY_NAME = N_("Unknown member")
TableT = TypeVar("TableT", bound=Table)


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
            return _("System")
        person = self.people.get(member_id)
        return person.display_name if person else _(FORMER_PARTY_NAME)

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


async def people_of(member_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Party]:
    ids = list(set(member_ids))
    if not ids:
        return {}
    async with database.point_read() as connection:
        return await _people(connection, ids)


# An exchange's view is read on every step, three or four times (the access check, the
# service function, the reply), so its reads are statements of fixed text through
# `point_read`: the database's cost and no query building (issue 17). Inside a
# transaction they read on its connection, as Piccolo's queries would.
def _columns_of(table: type[Table]) -> str:
    """Every column, named as the table object's attributes are (`_instance` below)."""
    meta = table._meta  # noqa: SLF001 - Piccolo's documented table metadata
    return ", ".join(_selected(column._meta) for column in meta.columns)  # noqa: SLF001


def _selected(column: ColumnMeta) -> str:
    if column.db_column_name == column.name:
        return column.name
    return f"{column.db_column_name} AS {column.name}"


def _name_of(table: type[Table]) -> str:
    return table._meta.tablename  # noqa: SLF001 - Piccolo's documented table metadata


@dataclass(frozen=True, slots=True)
class _ReadByIds:
    """Rows of one table whose `key` is one of a list of ids, in `order`.

    On PostgreSQL one index probe per id whatever the statistics say (ADR 0057: a
    prepared statement keeps the generic plan it made while the table was small, and a
    plain `= ANY($1)` then scans it whole); `OFFSET 0` keeps the subquery a probe.
    """

    columns: str
    table: str
    key: str
    condition: str = ""  # more of the WHERE clause: " AND ..."
    order: str = ""  # a column of the table

    @property
    def postgres(self) -> str:
        order = f" ORDER BY found.{self.order}" if self.order else ""
        return (
            f"SELECT found.* FROM unnest($1::uuid[]) AS asked(wanted) JOIN LATERAL "
            f"(SELECT {self.columns} FROM {self.table} "
            f"WHERE {self.key} = asked.wanted{self.condition} OFFSET 0) AS found ON true{order}"
        )

    def sqlite(self, count: int) -> str:
        marks = ", ".join(f"${number}" for number in range(1, count + 1))
        order = f" ORDER BY {self.order}" if self.order else ""
        return (
            f"SELECT {self.columns} FROM {self.table} "
            f"WHERE {self.key} IN ({marks}){self.condition}{order}"
        )


_EXCHANGES = _ReadByIds(_columns_of(Exchange), _name_of(Exchange), "id")
_RECIPIENTS = _ReadByIds(
    "exchange, member, pending_transfer_id, transfer_id", _name_of(ExchangeRecipient), "exchange"
)
_EVENTS = _ReadByIds(_columns_of(ExchangeEvent), _name_of(ExchangeEvent), "exchange", order="at")
_AGREEMENTS = _ReadByIds(
    _columns_of(ExchangeEvent),
    _name_of(ExchangeEvent),
    "exchange",
    condition=" AND action = 'agree'",
    order="at",
)
_PEOPLE = _ReadByIds("id, display_name, community, status", _name_of(Member), "id")


async def _fetch_by_ids(
    connection: Connection, read: _ReadByIds, ids: Sequence[uuid.UUID]
) -> list[Mapping[str, Any]]:
    if connection.is_postgres:
        return list(await connection.fetch(read.postgres, list(ids)))
    return list(await connection.fetch(read.sqlite(len(ids)), *ids))


def _instance(table: type[TableT], row: Mapping[str, Any]) -> TableT:
    """A table object as Piccolo's `objects()` makes it, from a row of all its columns."""
    return table(_exists_in_db=True, **{key: row[key] for key in row.keys()})  # noqa: SIM118 - asyncpg's Record


async def _people(connection: Connection, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Party]:
    rows = await _fetch_by_ids(connection, _PEOPLE, ids)
    return {
        row["id"]: Party(row["id"], row["display_name"], row["community"], row["status"])
        for row in rows
    }


async def views_of(exchanges: Sequence[Exchange], *, with_history: bool) -> list[ExchangeView]:
    """Views of many exchanges in a fixed number of queries."""
    if not exchanges:
        return []
    async with database.point_read() as connection:
        return await _views_of(connection, exchanges, with_history=with_history)


async def _views_of(
    connection: Connection, exchanges: Sequence[Exchange], *, with_history: bool
) -> list[ExchangeView]:
    ids = [exchange.id for exchange in exchanges]
    recipient_rows = await _fetch_by_ids(connection, _RECIPIENTS, ids)
    events_read = _EVENTS if with_history else _AGREEMENTS
    events = [
        _instance(ExchangeEvent, row) for row in await _fetch_by_ids(connection, events_read, ids)
    ]
    recipients: dict[uuid.UUID, list[Recipient]] = {exchange_id: [] for exchange_id in ids}
    for row in recipient_rows:
        recipients[row["exchange"]].append(
            Recipient(row["member"], row["pending_transfer_id"], row["transfer_id"])
        )
    people = await _people(
        connection,
        list(
            {
                *(exchange.provider for exchange in exchanges),
                *(row["member"] for row in recipient_rows),
                *(event.actor for event in events if event.actor is not None),
                *(event.recorded_by for event in events if event.recorded_by is not None),
            }
        ),
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


async def view_of(exchange_id: uuid.UUID, *, with_history: bool = False) -> ExchangeView | None:
    async with database.point_read() as connection:
        rows = await _fetch_by_ids(connection, _EXCHANGES, [exchange_id])
        if not rows:
            return None
        exchange = _instance(Exchange, rows[0])
        return (await _views_of(connection, [exchange], with_history=with_history))[0]


def coordinates_exchange(actor: Principal, view: ExchangeView) -> bool:
    return actor.is_admin or actor.coordinates(view.exchange.community)


def may_view(actor: Principal, view: ExchangeView) -> bool:
    """Parties, admins, and coordinators of the exchange's or a party's community."""
    return (
        actor.member_id in view.parties
        or actor.is_admin
        or any(actor.coordinates(community) for community in view.communities)
    )


@dataclass(frozen=True, slots=True)
class StepsOpen:
    """The steps a viewer may take on an exchange now (the service functions' own rules)."""

    accept: bool
    complete: bool
    cancel: bool
    mark_done: bool  # the helper says the help happened (once, from its date on)
    marked_done: bool  # the helper has said so; the person helped is asked to confirm


def steps_open(actor: Principal, view: ExchangeView) -> StepsOpen:
    me = actor.member_id
    marked = view.status == "accepted" and view.exchange.marked_done_at is not None
    return StepsOpen(
        accept=me in view.awaiting,
        complete=view.status == "accepted"
        and (me in view.recipient_ids or coordinates_exchange(actor, view)),
        cancel=view.status in ("proposed", "accepted") and me in view.parties,
        mark_done=view.status == "accepted"
        and view.provider_id == me
        and not marked
        and view.exchange.service_date <= datetime.now(UTC),
        marked_done=marked,
    )


def waits_for(actor: Principal, view: ExchangeView) -> bool:
    """The exchange waits for `actor`: their acceptance, or their confirmation of the help."""
    me = actor.member_id
    return me in view.awaiting or (view.status == "accepted" and me in view.recipient_ids)


async def visible_view(
    actor: Principal, exchange_id: uuid.UUID, *, with_history: bool = False
) -> ExchangeView:
    view = await view_of(exchange_id, with_history=with_history)
    if view is None or not may_view(actor, view):
        raise not_found("That exchange")
    return view


async def exchange_get(*, actor: Principal, exchange_id: uuid.UUID) -> ExchangeView:
    """One exchange with its history, for a party, a coordinator of it, or an admin."""
    return await visible_view(actor, exchange_id, with_history=True)


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
    return await views_of(rows[:limit], with_history=with_history), next_cursor


def notice_filters(me: uuid.UUID) -> tuple[tuple[str, Combinable], ...]:
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
        [await Exchange.count().where(where).run() for _, where in notice_filters(actor.member_id)]
    )


async def notices_of(*, actor: Principal) -> tuple[int, list[Notice]]:
    """Exchanges waiting for the caller: to accept (proposed) or to confirm (accepted)."""
    me = actor.member_id
    count = 0
    found: list[tuple[str, Exchange]] = []
    for kind, where in notice_filters(me):
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
    people = await people_of(exchange.provider for _, exchange in found)
    notices = [
        Notice(kind, exchange, party_name(people, exchange.provider)) for kind, exchange in found
    ]
    return count, notices


def party_name(people: Mapping[uuid.UUID, Party], member_id: uuid.UUID) -> str:
    person = people.get(member_id)
    return person.display_name if person else _(FORMER_PARTY_NAME)


async def has_exchanges(member_id: uuid.UUID) -> bool:
    """Whether the member has ever taken part in an exchange (a new member has not)."""
    return await Exchange.exists().where(exchange_party_filter(member_id)).run()
