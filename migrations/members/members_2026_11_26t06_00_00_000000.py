"""Members, communities, roles, sessions, API tokens and the audit log.

Raw DDL per engine: column types are the ones Piccolo reads back into Python
values on each engine (UUID, TIMESTAMPTZ, BOOLEAN, VARCHAR, TEXT, INTEGER),
plus the rules Piccolo cannot declare: CHECKs, partial unique indexes and
the audit log's append-only triggers.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-26T06:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "members: areas, communities, members, roles, sessions, tokens, audit log"

TABLES = [
    """
    CREATE TABLE member_area (
        id UUID PRIMARY KEY,
        name VARCHAR(100) NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
        slug VARCHAR(60) NOT NULL UNIQUE,
        created_at TIMESTAMPTZ NOT NULL
    )
    """,
    """
    CREATE TABLE member_community (
        id UUID PRIMARY KEY,
        name VARCHAR(100) NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
        slug VARCHAR(60) NOT NULL UNIQUE,
        area UUID NOT NULL REFERENCES member_area (id),
        requires_approval BOOLEAN NOT NULL,
        welcome_credit_minutes INTEGER NOT NULL CHECK (welcome_credit_minutes BETWEEN 0 AND 6000),
        member_floor_minutes INTEGER NOT NULL CHECK (member_floor_minutes BETWEEN -60000 AND 0),
        member_ceiling_minutes INTEGER CHECK (member_ceiling_minutes BETWEEN 0 AND 600000),
        dispute_window_days INTEGER NOT NULL CHECK (dispute_window_days BETWEEN 1 AND 365),
        small_cell_k INTEGER NOT NULL CHECK (small_cell_k BETWEEN 2 AND 100),
        issuance_account_id UUID NOT NULL,
        pool_account_id UUID NOT NULL,
        stripe_clearing_account_id UUID NOT NULL,
        donations_account_id UUID NOT NULL,
        fees_account_id UUID NOT NULL,
        created_at TIMESTAMPTZ NOT NULL
    )
    """,
    """
    CREATE TABLE member_member (
        id UUID PRIMARY KEY,
        email VARCHAR(254) UNIQUE,
        password_hash TEXT,
        display_name VARCHAR(80) NOT NULL,
        community UUID NOT NULL REFERENCES member_community (id),
        ward VARCHAR(80) NOT NULL,
        birth_year INTEGER CHECK (birth_year BETWEEN 1900 AND 2100),
        skills TEXT NOT NULL CHECK (length(skills) <= 1000),
        status VARCHAR(20) NOT NULL
            CHECK (status IN ('pending', 'active', 'suspended', 'closed')),
        hour_account_id UUID NOT NULL UNIQUE,
        welcome_transfer_id UUID,
        consented_at TIMESTAMPTZ,
        created_at TIMESTAMPTZ NOT NULL,
        approved_at TIMESTAMPTZ,
        closed_at TIMESTAMPTZ,
        CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
        CHECK (status = 'closed' OR (email IS NOT NULL AND password_hash IS NOT NULL))
    )
    """,
    "CREATE INDEX member_member_community ON member_member (community, status)",
    """
    CREATE TABLE member_role_grant (
        id UUID PRIMARY KEY,
        member UUID NOT NULL REFERENCES member_member (id),
        role VARCHAR(20) NOT NULL CHECK (role IN ('coordinator', 'council', 'admin')),
        community UUID REFERENCES member_community (id),
        area UUID REFERENCES member_area (id),
        reason TEXT NOT NULL,
        granted_by UUID,
        granted_at TIMESTAMPTZ NOT NULL,
        revoked_at TIMESTAMPTZ,
        revoked_by UUID,
        revoke_reason TEXT,
        -- Each role carries exactly the scope it needs.
        CHECK ((role = 'coordinator') = (community IS NOT NULL)),
        CHECK ((role = 'council') = (area IS NOT NULL))
    )
    """,
    # At most one live grant of a role per scope.
    "CREATE UNIQUE INDEX member_role_grant_live ON member_role_grant "
    "(member, role, coalesce(community, area, member)) WHERE revoked_at IS NULL",
    """
    CREATE TABLE member_session (
        id UUID PRIMARY KEY,
        token_hash VARCHAR(64) NOT NULL UNIQUE,
        member UUID NOT NULL REFERENCES member_member (id),
        created_at TIMESTAMPTZ NOT NULL,
        last_seen_at TIMESTAMPTZ NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL,
        ended_at TIMESTAMPTZ
    )
    """,
    "CREATE INDEX member_session_member ON member_session (member)",
    """
    CREATE TABLE member_api_token (
        id UUID PRIMARY KEY,
        token_hash VARCHAR(64) NOT NULL UNIQUE,
        member UUID NOT NULL REFERENCES member_member (id),
        created_at TIMESTAMPTZ NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL,
        last_used_at TIMESTAMPTZ,
        revoked_at TIMESTAMPTZ
    )
    """,
    "CREATE INDEX member_api_token_member ON member_api_token (member)",
    """
    CREATE TABLE member_audit (
        id UUID PRIMARY KEY,
        at TIMESTAMPTZ NOT NULL,
        actor_id UUID,
        actor_label VARCHAR(120) NOT NULL,
        action VARCHAR(60) NOT NULL,
        target_type VARCHAR(40) NOT NULL,
        target_id VARCHAR(64) NOT NULL,
        community UUID REFERENCES member_community (id),
        reason TEXT NOT NULL,
        before_json TEXT NOT NULL,
        after_json TEXT NOT NULL,
        request_id VARCHAR(64) NOT NULL
    )
    """,
    "CREATE INDEX member_audit_at ON member_audit (at)",
    "CREATE INDEX member_audit_target ON member_audit (target_type, target_id)",
]

SQLITE_TRIGGERS = [
    "CREATE TRIGGER member_audit_no_update BEFORE UPDATE ON member_audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE refused'); END",
    "CREATE TRIGGER member_audit_no_delete BEFORE DELETE ON member_audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: DELETE refused'); END",
]

POSTGRES_TRIGGERS = [
    "CREATE TRIGGER member_audit_append_only BEFORE UPDATE OR DELETE ON member_audit "
    "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()",
    "CREATE TRIGGER member_audit_no_truncate BEFORE TRUNCATE ON member_audit "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="members", description=DESCRIPTION)

    async def create_member_schema() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        postgres = isinstance(engine, PostgresEngine)
        for statement in TABLES + (POSTGRES_TRIGGERS if postgres else SQLITE_TRIGGERS):
            await engine.run_ddl(statement)

    manager.add_raw(create_member_schema)
    return manager
