"""Rollups: the aggregate rows council figures are read from, kept in step with postings.

Every hour that moves in an exchange, a pool donation or a pool grant is one
*flow* (one provider, one recipient, minutes). A flow is recorded once in
`reports_flow` with the dimensions it is counted under, frozen at the time of
the help (month, category, the recipient's ward, both age bands, both home
communities), and then added to the rollups:

* `reports_cell`: minutes, exchanges and distinct members per fine cell
  (dimension, community, month, side, other community, key_a, key_b);
* `reports_cell_member`: per fine cell, one row per member pseudonym with how
  many live flows they gave and received in it. Distinct counts over several
  months or communities cannot be summed from per-cell counts, so reports count
  these rows (only where a cell is small: see service/reports/figures.py).

A flow between two communities is attributed to both (side "p" under the
provider's community, side "r" under the recipient's), so each council sees
the help its residents gave and received; a report over a set of communities
drops the "r" copy when the provider's community is in the set too, so no flow
counts twice.

Callers write these rows in the SAME write transaction as the ledger posting
(the functions below join the caller's transaction), so figures are never out
of step with the ledger. Every call carries the id of the posting it mirrors
(`source_id`): a repeated call with the same id changes nothing.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from ledger import write_transaction
from ledger.sql import Connection, as_uuid
from service import database

# Pseudonyms and flow ids are UUIDv5 in this namespace.
REPORTS_NAMESPACE: Final = uuid.UUID("3c0f5b7e-2a41-5d8e-b1f4-6e2c9a7d0b35")

UNKNOWN: Final = "unknown"  # a category, ward or age band nobody told us
# Age bands at the time of the help, youngest first (years: lower bound, upper bound).
AGE_BANDS: Final = (
    ("under_25", 0, 24),
    ("25_49", 25, 49),
    ("50_64", 50, 64),
    ("65_79", 65, 79),
    ("80_plus", 80, 200),
)
AGE_BAND_KEYS: Final = (*(band for band, _, _ in AGE_BANDS), UNKNOWN)

# Dimensions of the fine cells; "community" figures are read from "month" rows.
DIMENSION_MONTH: Final = "month"
DIMENSION_CATEGORY: Final = "category"
DIMENSION_WARD: Final = "ward"
DIMENSION_AGE_BAND: Final = "age_band"
DIMENSION_POOL: Final = "pool"

SIDE_PROVIDER: Final = "p"  # the row sits under the provider's community
SIDE_RECIPIENT: Final = "r"  # the row sits under the recipient's (other) community

FlowKind = Literal["exchange", "donation", "grant"]
PoolKind = Literal["donation", "grant"]

CELL_COLUMNS: Final = (
    "dimension, community, month, side, other_community, key_a, key_b"  # the primary key
)


class FlowError(ValueError):
    """A call that cannot be applied: unknown flow, or a net below zero (a caller's bug)."""


# Keys -----------------------------------------------------------------------------


def member_key(member_id: uuid.UUID) -> uuid.UUID:
    """The pseudonym rollups count a member by: distinct per member, not an id anywhere else."""
    return uuid.uuid5(REPORTS_NAMESPACE, f"member:{member_id}")


def exchange_flow_id(exchange_id: uuid.UUID, recipient_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(REPORTS_NAMESPACE, f"exchange:{exchange_id}:{recipient_id}")


def month_of(at: datetime) -> int:
    """The whole month (UTC) an instant falls in, as yyyymm: 2026-03-31T23:00Z -> 202603."""
    if at.tzinfo is None:
        raise ValueError("reports need timezone-aware datetimes")
    utc = at.astimezone(UTC)
    return utc.year * 100 + utc.month


def age_band(birth_year: int | None, year: int) -> str:
    """The band of someone's age in `year` (birthdays are not known: year minus birth year)."""
    if birth_year is None:
        return UNKNOWN
    age_years = year - birth_year
    for band, lowest, highest in AGE_BANDS:
        if lowest <= age_years <= highest:
            return band
    return UNKNOWN  # a birth year after the help: not a real age


def ward_key(ward: str | None) -> str:
    cleaned = " ".join((ward or "").split())
    return cleaned[:80] if cleaned else UNKNOWN


# Flows ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flow:
    """One provider-to-recipient movement of hours, with the keys it is counted under."""

    id: uuid.UUID
    kind: FlowKind
    month: int
    provider_community: uuid.UUID
    recipient_community: uuid.UUID
    category: str = ""
    ward: str = ""
    provider_band: str = ""
    recipient_band: str = ""
    provider_key: uuid.UUID | None = None  # None: the pool gave (a grant)
    recipient_key: uuid.UUID | None = None  # None: the pool received (a donation)


@dataclass(frozen=True, slots=True)
class FlowDelta:
    """A change to the rollups: minutes (signed) and exchanges (-1, 0 or +1) of one flow."""

    flow: Flow
    minutes: int
    exchanges: int


CellKey = tuple[str, uuid.UUID, int, str, uuid.UUID, str, str]


def _attributions(flow: Flow) -> list[tuple[uuid.UUID, str, uuid.UUID]]:
    """(community, side, other community) rows a flow is written under."""
    provider, recipient = flow.provider_community, flow.recipient_community
    if provider == recipient:
        return [(provider, SIDE_PROVIDER, provider)]
    return [(provider, SIDE_PROVIDER, recipient), (recipient, SIDE_RECIPIENT, provider)]


def _dimension_keys(flow: Flow) -> list[tuple[str, str, str]]:
    if flow.kind != "exchange":
        return [(DIMENSION_POOL, flow.kind, "")]
    return [
        (DIMENSION_MONTH, "", ""),
        (DIMENSION_CATEGORY, flow.category, ""),
        (DIMENSION_WARD, flow.ward, ""),
        (DIMENSION_AGE_BAND, flow.provider_band, flow.recipient_band),
    ]


def cell_keys(flow: Flow) -> Iterator[CellKey]:
    for community, side, other in _attributions(flow):
        for dimension, key_a, key_b in _dimension_keys(flow):
            yield (dimension, community, flow.month, side, other, key_a, key_b)


# Writing the rollups -------------------------------------------------------------

_UPSERT_MEMBER = f"""
    INSERT INTO reports_cell_member ({CELL_COLUMNS}, member_key, gave, received)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
    ON CONFLICT ({CELL_COLUMNS}, member_key) DO UPDATE SET
        gave = reports_cell_member.gave + excluded.gave,
        received = reports_cell_member.received + excluded.received
"""
# Fewer flows than before: the row exists (it counted them), and an upsert would
# check its CHECKs against the negative candidate row before seeing the conflict.
_LOWER_MEMBER = """
    UPDATE reports_cell_member SET gave = gave + $8, received = received + $9
    WHERE dimension = $1 AND community = $2 AND month = $3 AND side = $4
      AND other_community = $5 AND key_a = $6 AND key_b = $7 AND member_key = $10
"""
_UPSERT_CELL = f"""
    INSERT INTO reports_cell ({CELL_COLUMNS}, minutes, exchanges, members)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0)
    ON CONFLICT ({CELL_COLUMNS}) DO UPDATE SET
        minutes = reports_cell.minutes + excluded.minutes,
        exchanges = reports_cell.exchanges + excluded.exchanges
"""
# A cell's distinct members, recounted from its member rows after they changed.
_RECOUNT_MEMBERS = """
    UPDATE reports_cell SET members = (
        SELECT COUNT(*) FROM reports_cell_member m
        WHERE m.dimension = reports_cell.dimension AND m.community = reports_cell.community
          AND m.month = reports_cell.month AND m.side = reports_cell.side
          AND m.other_community = reports_cell.other_community
          AND m.key_a = reports_cell.key_a AND m.key_b = reports_cell.key_b
          AND m.gave + m.received > 0
    )
    WHERE dimension = $1 AND community = $2 AND month = $3 AND side = $4
      AND other_community = $5 AND key_a = $6 AND key_b = $7
"""


def _member_roles(flow: Flow) -> list[tuple[uuid.UUID, int, int]]:
    """(pseudonym, gave, received) per person in the flow (the pool is nobody)."""
    roles = []
    if flow.provider_key is not None:
        roles.append((flow.provider_key, 1, 0))
    if flow.recipient_key is not None:
        roles.append((flow.recipient_key, 0, 1))
    return roles


async def apply_deltas(connection: Connection, deltas: Iterable[FlowDelta]) -> None:
    """Add flow changes to the rollups (one statement batch per table, any number of flows).

    Minutes and exchanges add up per cell; a member's row counts the flows they
    gave and received in the cell, and a cell's `members` is recounted from
    those rows whenever they changed, so it is exact, also after reversals.
    """
    deltas = list(deltas)
    cells: dict[CellKey, list[int]] = defaultdict(lambda: [0, 0])
    members: dict[tuple[CellKey, uuid.UUID], list[int]] = defaultdict(lambda: [0, 0])
    for delta in deltas:
        roles = _member_roles(delta.flow) if delta.exchanges else []
        for key in cell_keys(delta.flow):
            cell = cells[key]
            cell[0] += delta.minutes
            cell[1] += delta.exchanges
            for pseudonym, gave, received in roles:
                counts = members[(key, pseudonym)]
                counts[0] += gave * delta.exchanges
                counts[1] += received * delta.exchanges
    raised, lowered = [], []
    for (key, who), (gave, got) in members.items():
        if gave < 0 or got < 0:
            lowered.append((*key, gave, got, who))
        elif gave or got:
            raised.append((*key, who, gave, got))
    await connection.execute_many(_UPSERT_MEMBER, raised)
    await connection.execute_many(_LOWER_MEMBER, lowered)
    await connection.execute_many(_UPSERT_CELL, [(*key, m, e) for key, (m, e) in cells.items()])
    await connection.execute_many(_RECOUNT_MEMBERS, sorted({key for key, _ in members}))
    await _apply_member_months(connection, deltas)


# Members' active months, per home community (what "active members" counts) -------------

_UPSERT_MEMBER_MONTH = """
    INSERT INTO reports_member_month (community, member_key, month, gave, received)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (community, member_key, month) DO UPDATE SET
        gave = reports_member_month.gave + excluded.gave,
        received = reports_member_month.received + excluded.received
"""
_LOWER_MEMBER_MONTH = """
    UPDATE reports_member_month SET gave = gave + $4, received = received + $5
    WHERE community = $1 AND member_key = $2 AND month = $3
"""
# A year's two masks, bit (month - 1) set while the member had a live flow that month.
_SET_MEMBER_YEAR = """
    INSERT INTO reports_member_year (community, year, member_key, gave_months, received_months)
    SELECT $1, $2, $3,
        COALESCE(SUM(CASE WHEN gave > 0 THEN 1 << (month - $2 * 100 - 1) ELSE 0 END), 0),
        COALESCE(SUM(CASE WHEN received > 0 THEN 1 << (month - $2 * 100 - 1) ELSE 0 END), 0)
    FROM reports_member_month
    WHERE community = $1 AND member_key = $3 AND month BETWEEN $2 * 100 + 1 AND $2 * 100 + 12
    ON CONFLICT (community, year, member_key) DO UPDATE SET
        gave_months = excluded.gave_months, received_months = excluded.received_months
"""

MemberMonth = tuple[uuid.UUID, uuid.UUID, int]  # (home community, pseudonym, yyyymm)


def member_month_deltas(deltas: Iterable[FlowDelta]) -> dict[MemberMonth, list[int]]:
    """Live flows each member gave and received, per home community and month.

    Only exchanges count (a pool donation is not an exchange); a member's home
    is the community the flow records for their side.
    """
    found: dict[MemberMonth, list[int]] = defaultdict(lambda: [0, 0])
    for delta in deltas:
        flow = delta.flow
        if not delta.exchanges or flow.kind != "exchange":
            continue
        if flow.provider_key is not None:
            found[(flow.provider_community, flow.provider_key, flow.month)][0] += delta.exchanges
        if flow.recipient_key is not None:
            found[(flow.recipient_community, flow.recipient_key, flow.month)][1] += delta.exchanges
    return found


async def _apply_member_months(connection: Connection, deltas: Iterable[FlowDelta]) -> None:
    changes = member_month_deltas(deltas)
    raised = [(*key, gave, got) for key, (gave, got) in changes.items() if gave >= 0 and got >= 0]
    lowered = [(*key, gave, got) for key, (gave, got) in changes.items() if gave < 0 or got < 0]
    await connection.execute_many(_UPSERT_MEMBER_MONTH, [row for row in raised if row[3] or row[4]])
    await connection.execute_many(_LOWER_MEMBER_MONTH, lowered)
    years = {(community, month // 100, who) for community, who, month in changes}
    await connection.execute_many(_SET_MEMBER_YEAR, sorted(years, key=str))


async def _claim_source(
    connection: Connection, *, source_id: uuid.UUID, flow_id: uuid.UUID, minutes: int, at: datetime
) -> bool:
    """Note that `source_id` is applied; False if it already was (a repeated call)."""
    rows = await connection.fetch(
        "INSERT INTO reports_flow_change (source_id, flow_id, minutes_signed, at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (source_id) DO NOTHING RETURNING source_id",
        source_id,
        flow_id,
        minutes,
        at,
    )
    return bool(rows)


_FLOW_COLUMNS = (
    "id, kind, month, provider_community, recipient_community, category, ward, "
    "provider_band, recipient_band, provider_key, recipient_key"
)


def _flow_from_row(row: Any) -> Flow:
    def optional(value: Any) -> uuid.UUID | None:
        return None if value is None else as_uuid(value)

    return Flow(
        id=as_uuid(row["id"]),
        kind=row["kind"],
        month=int(row["month"]),
        provider_community=as_uuid(row["provider_community"]),
        recipient_community=as_uuid(row["recipient_community"]),
        category=row["category"],
        ward=row["ward"],
        provider_band=row["provider_band"],
        recipient_band=row["recipient_band"],
        provider_key=optional(row["provider_key"]),
        recipient_key=optional(row["recipient_key"]),
    )


async def _stored_flow(connection: Connection, flow_id: uuid.UUID) -> tuple[Flow, int] | None:
    row = await connection.fetchrow(
        f"SELECT {_FLOW_COLUMNS}, minutes_net FROM reports_flow WHERE id = $1", flow_id
    )
    if row is None:
        return None
    return _flow_from_row(row), int(row["minutes_net"])


async def insert_flows(connection: Connection, flows: Sequence[Flow], at: datetime) -> None:
    """Record new flows with a net of zero (their minutes arrive as deltas)."""
    await connection.execute_many(
        f"INSERT INTO reports_flow ({_FLOW_COLUMNS}, minutes_net, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12)",
        [
            (
                flow.id,
                flow.kind,
                flow.month,
                flow.provider_community,
                flow.recipient_community,
                flow.category,
                flow.ward,
                flow.provider_band,
                flow.recipient_band,
                flow.provider_key,
                flow.recipient_key,
                at,
            )
            for flow in flows
        ],
    )


async def _change_flow(
    connection: Connection, flow: Flow, net_before: int, minutes_signed: int
) -> None:
    net_after = net_before + minutes_signed
    if net_after < 0:
        raise FlowError(
            f"flow {flow.id} has {net_before} minutes; it cannot change by {minutes_signed}"
        )
    await connection.execute(
        "UPDATE reports_flow SET minutes_net = $2 WHERE id = $1", flow.id, net_after
    )
    # A flow counts as one exchange while any of its minutes stand.
    exchanges = int(net_after > 0) - int(net_before > 0)
    await apply_deltas(connection, [FlowDelta(flow, minutes_signed, exchanges)])


async def _exchange_flow(
    connection: Connection, exchange_id: uuid.UUID, recipient_id: uuid.UUID, at: datetime
) -> Flow:
    """The flow of one recipient of an exchange, with its keys as they stand now."""
    exchange = await connection.fetchrow(
        "SELECT e.provider, c.slug AS category FROM market_exchange e "
        "LEFT JOIN market_listing l ON l.id = e.listing "
        "LEFT JOIN market_category c ON c.id = l.category WHERE e.id = $1",
        exchange_id,
    )
    if exchange is None:
        raise FlowError(f"there is no exchange {exchange_id}")
    provider_id = as_uuid(exchange["provider"])
    people = {
        as_uuid(row["id"]): row
        for row in await connection.fetch(
            "SELECT id, community, ward, birth_year FROM member_member WHERE id = $1 OR id = $2",
            provider_id,
            recipient_id,
        )
    }
    provider, recipient = people.get(provider_id), people.get(recipient_id)
    if provider is None or recipient is None:
        raise FlowError(f"exchange {exchange_id} names a member who does not exist")
    year = at.astimezone(UTC).year
    return Flow(
        id=exchange_flow_id(exchange_id, recipient_id),
        kind="exchange",
        month=month_of(at),
        provider_community=as_uuid(provider["community"]),
        recipient_community=as_uuid(recipient["community"]),
        category=exchange["category"] or UNKNOWN,
        ward=ward_key(recipient["ward"]),
        provider_band=age_band(provider["birth_year"], year),
        recipient_band=age_band(recipient["birth_year"], year),
        provider_key=member_key(provider_id),
        recipient_key=member_key(recipient_id),
    )


async def record_exchange_flow(
    *,
    exchange_id: uuid.UUID,
    recipient_id: uuid.UUID,
    minutes_signed: int,
    at: datetime,
    source_id: uuid.UUID,
) -> None:
    """Mirror one posting of an exchange (one recipient's transfer) in the rollups.

    Call it inside the write transaction that makes the posting; it joins that
    transaction (or opens its own if there is none), so figures and ledger
    commit or roll back together.

    * `minutes_signed > 0`: hours moved from `recipient_id` to the exchange's
      provider. The first call for an (exchange, recipient) records the flow,
      counted in the month of `at` (the service date, UTC) with the category of
      the exchange's listing ("unknown" without one), the recipient's ward, and
      both members' age bands and home communities as they are now.
    * `minutes_signed < 0`: a reversal (the whole amount) or an adjustment
      (part of it) of that flow, e.g. by a dispute resolution. It is netted
      into the SAME cells as the original flow (its month, category, bands),
      never into the month of `at`: reports show exchanges net. A flow whose
      net reaches 0 stops counting as an exchange, and its members stop
      counting as taking part in it; a partial adjustment keeps the exchange
      and its members and lowers the minutes.
    * `at`: when the posting took effect; it picks the month of a new flow and
      is kept with the change for the record.
    * `source_id`: the id of the ledger transfer being mirrored (post, record
      or reversing transfer). A second call with the same `source_id` does
      nothing, so retries are safe.

    A negative change to a flow never recorded (an exchange completed before
    the reports existed) first records that exchange's original posting.
    Raises `FlowError` for a change that would take a flow's net below zero,
    or a negative one for an exchange that was never completed (nothing is
    written then: the caller's transaction rolls back).
    """
    if minutes_signed == 0:
        raise FlowError("a flow changes by a non-zero number of minutes")
    flow_id = exchange_flow_id(exchange_id, recipient_id)
    async with write_transaction(database.active_engine()) as transaction:
        connection = transaction.connection
        claimed = await _claim_source(
            connection, source_id=source_id, flow_id=flow_id, minutes=minutes_signed, at=at
        )
        if not claimed:
            return
        stored = await _stored_flow(connection, flow_id)
        if stored is None and minutes_signed < 0:
            stored = await _backfilled(connection, exchange_id, recipient_id)
        if stored is None:
            flow = await _exchange_flow(connection, exchange_id, recipient_id, at)
            await insert_flows(connection, [flow], at)
            stored = (flow, 0)
        await _change_flow(connection, stored[0], stored[1], minutes_signed)


def _instant(value: Any) -> datetime:
    """A timestamp Piccolo wrote: a datetime on PostgreSQL, ISO 8601 text on SQLite."""
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return instant.astimezone(UTC)


async def _backfilled(
    connection: Connection, exchange_id: uuid.UUID, recipient_id: uuid.UUID
) -> tuple[Flow, int]:
    """The flow of a completed exchange posted before flows were recorded (a database
    older than the reports): its original posting is recorded first, in the month of
    its service date, so that a correction has something to net against."""
    row = await connection.fetchrow(
        "SELECT e.minutes, e.service_date, r.transfer_id FROM market_exchange e "
        "JOIN market_exchange_recipient r ON r.exchange = e.id "
        "WHERE e.id = $1 AND r.member = $2 AND e.status = 'completed'",
        exchange_id,
        recipient_id,
    )
    if row is None or row["transfer_id"] is None:
        raise FlowError(f"exchange {exchange_id} has no completed posting to {recipient_id}")
    service_date = _instant(row["service_date"])
    flow = await _exchange_flow(connection, exchange_id, recipient_id, service_date)
    await insert_flows(connection, [flow], service_date)
    minutes = int(row["minutes"])
    await _claim_source(
        connection,
        source_id=as_uuid(row["transfer_id"]),
        flow_id=flow.id,
        minutes=minutes,
        at=service_date,
    )
    await _change_flow(connection, flow, 0, minutes)
    return flow, minutes


async def record_pool_flow(
    *,
    transfer_id: uuid.UUID,
    kind: PoolKind,
    community_id: uuid.UUID,
    member_id: uuid.UUID,
    minutes: int,
    at: datetime,
) -> None:
    """Mirror a pool donation (member -> pool) or grant (pool -> member) in the rollups.

    Call it in the posting's write transaction; a repeated `transfer_id` does nothing.
    """
    if minutes <= 0:
        raise FlowError("a donation or grant moves a positive number of minutes")
    pseudonym = member_key(member_id)
    flow = Flow(
        id=uuid.uuid5(REPORTS_NAMESPACE, f"pool:{transfer_id}"),
        kind=kind,
        month=month_of(at),
        provider_community=community_id,
        recipient_community=community_id,
        provider_key=pseudonym if kind == "donation" else None,
        recipient_key=pseudonym if kind == "grant" else None,
    )
    async with write_transaction(database.active_engine()) as transaction:
        connection = transaction.connection
        claimed = await _claim_source(
            connection, source_id=transfer_id, flow_id=flow.id, minutes=minutes, at=at
        )
        if not claimed:
            return
        await insert_flows(connection, [flow], at)
        await _change_flow(connection, flow, 0, minutes)


async def rollups_verify(connection: Connection) -> list[str]:
    """Recompute every rollup row from `reports_flow` and list where the tables differ.

    An empty list means the rollups are exactly what the recorded flows give.
    Reads every flow: for tests and occasional checks, not for each request.
    """
    expected_cells: dict[CellKey, list[int]] = defaultdict(lambda: [0, 0])
    expected_members: dict[tuple[CellKey, uuid.UUID], list[int]] = defaultdict(lambda: [0, 0])
    flows: list[FlowDelta] = []
    for row in await connection.fetch(f"SELECT {_FLOW_COLUMNS}, minutes_net FROM reports_flow"):
        flow, net = _flow_from_row(row), int(row["minutes_net"])
        live = int(net > 0)
        flows.append(FlowDelta(flow, net, live))
        for key in cell_keys(flow):
            expected_cells[key][0] += net
            expected_cells[key][1] += live
            for pseudonym, gave, received in _member_roles(flow) if live else []:
                expected_members[(key, pseudonym)][0] += gave
                expected_members[(key, pseudonym)][1] += received
    problems = []
    actual_cells = {
        _cell_key(row): (int(row["minutes"]), int(row["exchanges"]), int(row["members"]))
        for row in await connection.fetch(
            f"SELECT {CELL_COLUMNS}, minutes, exchanges, members FROM reports_cell"
        )
    }
    member_counts: dict[CellKey, int] = defaultdict(int)
    for (key, _), (gave, received) in expected_members.items():
        if gave or received:
            member_counts[key] += 1
    for key in set(expected_cells) | set(actual_cells):
        minutes, exchanges = expected_cells.get(key, [0, 0])
        wanted = (minutes, exchanges, member_counts.get(key, 0))
        if actual_cells.get(key, (0, 0, 0)) != wanted:
            problems.append(f"cell {key}: {actual_cells.get(key)} != {wanted}")
    actual_members = {
        (_cell_key(row), as_uuid(row["member_key"])): (int(row["gave"]), int(row["received"]))
        for row in await connection.fetch(
            f"SELECT {CELL_COLUMNS}, member_key, gave, received FROM reports_cell_member"
        )
    }
    for member in set(expected_members) | set(actual_members):
        wanted_counts = tuple(expected_members.get(member, [0, 0]))
        if actual_members.get(member, (0, 0)) != wanted_counts:
            problems.append(f"member {member}: {actual_members.get(member)} != {wanted_counts}")
    return problems + await _verify_member_months(connection, flows)


async def _verify_member_months(connection: Connection, flows: list[FlowDelta]) -> list[str]:
    expected = {key: tuple(counts) for key, counts in member_month_deltas(flows).items()}
    actual = {
        (as_uuid(row["community"]), as_uuid(row["member_key"]), int(row["month"])): (
            int(row["gave"]),
            int(row["received"]),
        )
        for row in await connection.fetch(
            "SELECT community, member_key, month, gave, received FROM reports_member_month"
        )
    }
    problems = [
        f"member month {key}: {actual.get(key)} != {expected.get(key)}"
        for key in set(expected) | set(actual)
        if actual.get(key, (0, 0)) != expected.get(key, (0, 0))
    ]
    masks: dict[tuple[uuid.UUID, int, uuid.UUID], list[int]] = defaultdict(lambda: [0, 0])
    for (community, who, month), (gave, received) in expected.items():
        bit = 1 << (month % 100 - 1)
        mask = masks[(community, month // 100, who)]
        mask[0] |= bit if gave else 0
        mask[1] |= bit if received else 0
    stored = {
        (as_uuid(row["community"]), int(row["year"]), as_uuid(row["member_key"])): (
            int(row["gave_months"]),
            int(row["received_months"]),
        )
        for row in await connection.fetch(
            "SELECT community, year, member_key, gave_months, received_months "
            "FROM reports_member_year"
        )
    }
    problems += [
        f"member year {key}: {stored.get(key)} != {tuple(masks.get(key, [0, 0]))}"
        for key in set(masks) | set(stored)
        if stored.get(key, (0, 0)) != tuple(masks.get(key, [0, 0]))
    ]
    return problems


def _cell_key(row: Any) -> CellKey:
    return (
        row["dimension"],
        as_uuid(row["community"]),
        int(row["month"]),
        row["side"],
        as_uuid(row["other_community"]),
        row["key_a"],
        row["key_b"],
    )


__all__ = [
    "AGE_BAND_KEYS",
    "FlowError",
    "age_band",
    "member_key",
    "month_of",
    "record_exchange_flow",
    "record_pool_flow",
    "rollups_verify",
]
