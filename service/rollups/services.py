"""Rollups: the aggregate rows council figures are read from, kept in step with postings.

Every hour that moves in an exchange, a pool donation or a pool grant is one
*flow* (one provider, one recipient, minutes). A flow is recorded once in
`reports_flow` with the dimensions it is counted under, frozen at the time of
the help (month, category, the recipient's ward, both age bands, both home
communities), and then added to the rollups:

* `reports_cell`: minutes, exchanges and distinct members per fine cell
  (dimension, community, month, side, other community, key_a, key_b); an
  exchange's flow also carries whether it was one-to-one and across
  generations, the impact report's cells (ADR 0051);
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
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from ledger import write_transaction
from ledger.sql import Connection, as_uuid
from service import database
from service.rollups.flows import (
    AGE_BAND_KEYS,
    CELL_COLUMNS,
    DIMENSION_MONTH,
    FLOW_COLUMN_COUNT,
    FLOW_COLUMNS,
    REPORTS_NAMESPACE,
    SIDE_PROVIDER,
    UNKNOWN,
    CellKey,
    Flow,
    FlowDelta,
    FlowError,
    PoolKind,
    age_band,
    cell_keys,
    exchange_flow_id,
    flow_from_row,
    flow_values,
    intergenerational,
    member_key,
    member_month_deltas,
    member_roles,
    month_of,
    ward_key,
)

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
        roles = member_roles(delta.flow) if delta.exchanges else []
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


async def _stored_flow(connection: Connection, flow_id: uuid.UUID) -> tuple[Flow, int] | None:
    row = await connection.fetchrow(
        f"SELECT {FLOW_COLUMNS}, minutes_net FROM reports_flow WHERE id = $1", flow_id
    )
    if row is None:
        return None
    return flow_from_row(row), int(row["minutes_net"])


async def insert_flows(connection: Connection, flows: Sequence[Flow], at: datetime) -> None:
    """Record new flows with a net of zero (their minutes arrive as deltas)."""
    slots = ", ".join(f"${n}" for n in range(1, FLOW_COLUMN_COUNT + 3))
    await connection.execute_many(
        f"INSERT INTO reports_flow ({FLOW_COLUMNS}, minutes_net, created_at) VALUES ({slots})",
        [(*flow_values(flow), 0, at) for flow in flows],
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
        "SELECT e.provider, c.slug AS category, (SELECT COUNT(*) FROM market_exchange_recipient "
        "r WHERE r.exchange = e.id) AS recipients FROM market_exchange e "
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
        one_to_one=int(exchange["recipients"]) == 1,
        intergenerational=intergenerational(provider["birth_year"], recipient["birth_year"], year),
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


# What callers read from here; the flow model itself lives in flows.py.
__all__ = [
    "AGE_BAND_KEYS",
    "CELL_COLUMNS",
    "DIMENSION_MONTH",
    "REPORTS_NAMESPACE",
    "SIDE_PROVIDER",
    "UNKNOWN",
    "CellKey",
    "Flow",
    "FlowDelta",
    "FlowError",
    "age_band",
    "apply_deltas",
    "cell_keys",
    "exchange_flow_id",
    "insert_flows",
    "intergenerational",
    "member_key",
    "member_month_deltas",
    "month_of",
    "record_exchange_flow",
    "record_pool_flow",
    "ward_key",
]
