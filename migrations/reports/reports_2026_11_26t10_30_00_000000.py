"""Reports: members' active months per home community, for exact distinct counts fast.

`reports_member_month` counts each member's live flows per home community and
month (maintained with the rollups); `reports_member_year` keeps, per home
community, year and member, two 12-bit masks of the months they gave and
received in. Counting active members over any run of months then reads one
narrow row per member and year instead of one per member and month.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-26T10:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "reports: member months and member years (month masks)"

STATEMENTS = [
    """
    CREATE TABLE reports_member_month (
        community UUID NOT NULL,
        member_key UUID NOT NULL,
        month INTEGER NOT NULL CHECK (month BETWEEN 190001 AND 299912),
        gave INTEGER NOT NULL CHECK (gave >= 0),
        received INTEGER NOT NULL CHECK (received >= 0),
        PRIMARY KEY (community, member_key, month)
    )
    """,
    """
    CREATE TABLE reports_member_year (
        community UUID NOT NULL,
        year INTEGER NOT NULL CHECK (year BETWEEN 1900 AND 2999),
        member_key UUID NOT NULL,
        gave_months INTEGER NOT NULL CHECK (gave_months BETWEEN 0 AND 4095),
        received_months INTEGER NOT NULL CHECK (received_months BETWEEN 0 AND 4095),
        PRIMARY KEY (community, year, member_key)
    )
    """,
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="reports", description=DESCRIPTION)

    async def create_member_activity() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_member_activity)
    return manager
