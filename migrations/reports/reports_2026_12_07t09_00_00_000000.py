"""Reports: the impact report's rollup cells (ADR 0051).

Each exchange flow now carries two flags frozen at the time of the help:
`one_to_one` (the exchange had this one recipient) and `intergenerational`
(one side under 35, the other 65 or over, ages being the flow's year minus the
birth year). Flows add to a fifth dimension of cells, "impact", keyed by those
flags (key_a "one"/"group", key_b "inter"/"other"), so the impact report reads
rollups as the flows reports do instead of every exchange.

Existing flows are brought up to date here: their flags from the exchanges
they mirror, then their impact cells and cell members, exactly as the write
path would have made them (`rollups_verify` checks the result). The constants
are written out, not imported: a migration is a snapshot of its day.
"""

import uuid

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

from ledger.sql import Connection, as_uuid
from ledger.transactions import write_transaction

ID = "2026-12-07T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "reports: one-to-one and intergenerational flags, impact cells"

REPORTS_NAMESPACE = uuid.UUID("3c0f5b7e-2a41-5d8e-b1f4-6e2c9a7d0b35")
YOUNGER_BELOW_YEARS = 35
OLDER_FROM_YEARS = 65
BACKFILL_CHUNK_ROWS = 2000

COLUMNS = [
    "ALTER TABLE reports_flow ADD COLUMN one_to_one INTEGER NOT NULL DEFAULT 0"
    " CHECK (one_to_one IN (0, 1))",
    "ALTER TABLE reports_flow ADD COLUMN intergenerational INTEGER NOT NULL DEFAULT 0"
    " CHECK (intergenerational IN (0, 1))",
]

# Recipients of exchanges, a chunk at a time in (exchange, member) order.
_RECIPIENTS = (
    "SELECT r.exchange, r.member, p.birth_year AS provider_born,"
    " q.birth_year AS recipient_born,"
    " (SELECT COUNT(*) FROM market_exchange_recipient o WHERE o.exchange = r.exchange)"
    " AS recipients"
    " FROM market_exchange_recipient r JOIN market_exchange e ON e.id = r.exchange"
    " JOIN member_member p ON p.id = e.provider JOIN member_member q ON q.id = r.member"
    " WHERE r.exchange > $1 OR (r.exchange = $1 AND r.member > $2)"
    " ORDER BY r.exchange, r.member LIMIT $3"
)
_AGE = "(month / 100 - CAST({} AS INTEGER))"
_SET_FLAGS = (
    "UPDATE reports_flow SET one_to_one = $2, intergenerational = CASE"
    " WHEN CAST($3 AS INTEGER) IS NULL OR CAST($4 AS INTEGER) IS NULL THEN 0"
    f" WHEN ({_AGE.format('$3')} < {YOUNGER_BELOW_YEARS}"
    f" AND {_AGE.format('$4')} >= {OLDER_FROM_YEARS})"
    f" OR ({_AGE.format('$3')} >= {OLDER_FROM_YEARS}"
    f" AND {_AGE.format('$4')} < {YOUNGER_BELOW_YEARS}) THEN 1 ELSE 0 END"
    " WHERE id = $1 AND kind = 'exchange'"
)

# Where a flow is counted: under the provider's community, and under the recipient's
# too when that is another one (as service/rollups/flows.py attributes every flow).
_SIDES = (
    "SELECT provider_community AS community, 'p' AS side,"
    " recipient_community AS other_community, {columns} FROM reports_flow"
    " WHERE kind = 'exchange'{live}"
    " UNION ALL SELECT recipient_community, 'r', provider_community, {columns}"
    " FROM reports_flow WHERE kind = 'exchange'"
    " AND recipient_community <> provider_community{live}"
)
_KEYS = (
    "month, CASE WHEN one_to_one = 1 THEN 'one' ELSE 'group' END AS key_a,"
    " CASE WHEN intergenerational = 1 THEN 'inter' ELSE 'other' END AS key_b"
)
CELLS = (
    "INSERT INTO reports_cell (dimension, community, month, side, other_community, key_a,"
    " key_b, minutes, exchanges, members)"
    " SELECT 'impact', community, month, side, other_community, key_a, key_b,"
    " SUM(minutes_net), SUM(CASE WHEN minutes_net > 0 THEN 1 ELSE 0 END), 0"
    " FROM ("
    + _SIDES.format(columns=f"{_KEYS}, minutes_net", live="")
    + ") AS sides GROUP BY community, month, side, other_community, key_a, key_b"
)
_ROLES = (
    f"{_KEYS}, provider_key AS member_key, 1 AS gave, 0 AS received",
    f"{_KEYS}, recipient_key AS member_key, 0 AS gave, 1 AS received",
)
CELL_MEMBERS = (
    "INSERT INTO reports_cell_member (dimension, community, month, side, other_community,"
    " key_a, key_b, member_key, gave, received)"
    " SELECT 'impact', community, month, side, other_community, key_a, key_b, member_key,"
    " SUM(gave), SUM(received) FROM ("
    + " UNION ALL ".join(
        _SIDES.format(columns=columns, live=" AND minutes_net > 0") for columns in _ROLES
    )
    + ") AS roles GROUP BY community, month, side, other_community, key_a, key_b, member_key"
)
MEMBER_COUNTS = (
    "UPDATE reports_cell SET members = (SELECT COUNT(*) FROM reports_cell_member m"
    " WHERE m.dimension = reports_cell.dimension AND m.community = reports_cell.community"
    " AND m.month = reports_cell.month AND m.side = reports_cell.side"
    " AND m.other_community = reports_cell.other_community"
    " AND m.key_a = reports_cell.key_a AND m.key_b = reports_cell.key_b"
    " AND m.gave + m.received > 0) WHERE dimension = 'impact'"
)


def flow_id(exchange_id: uuid.UUID, member_id: uuid.UUID) -> uuid.UUID:
    """service.rollups.flows.exchange_flow_id as it was on this migration's day."""
    return uuid.uuid5(REPORTS_NAMESPACE, f"exchange:{exchange_id}:{member_id}")


async def backfill(connection: Connection) -> None:
    """Flags of the flows already recorded, then their impact cells and cell members."""
    after = (uuid.UUID(int=0), uuid.UUID(int=0))
    while True:
        rows = await connection.fetch(_RECIPIENTS, *after, BACKFILL_CHUNK_ROWS)
        if not rows:
            break
        await connection.execute_many(
            _SET_FLAGS,
            [
                (
                    flow_id(as_uuid(row["exchange"]), as_uuid(row["member"])),
                    int(int(row["recipients"]) == 1),
                    row["provider_born"],
                    row["recipient_born"],
                )
                for row in rows
            ],
        )
        after = (as_uuid(rows[-1]["exchange"]), as_uuid(rows[-1]["member"]))
    for statement in (CELLS, CELL_MEMBERS, MEMBER_COUNTS):
        await connection.execute(statement)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="reports", description=DESCRIPTION)

    async def add_impact_cells() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in COLUMNS:
            await engine.run_ddl(statement)
        async with write_transaction(engine) as transaction:
            await backfill(transaction.connection)

    manager.add_raw(add_impact_cells)
    return manager
