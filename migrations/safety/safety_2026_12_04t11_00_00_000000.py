"""Safety between members: blocks, conversations and their messages, concerns.

A conversation is between two members (`member_a` sorts before `member_b`), about
nothing in particular or about one listing or exchange (`topic`), and there is
one per pair and topic (the UNIQUE index), so a second "Ask a question" reuses it.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-04T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "safety: member blocks, conversations, messages and safeguarding concerns"

STATEMENTS = [
    """
    CREATE TABLE safety_block (
        id UUID PRIMARY KEY,
        blocker UUID NOT NULL REFERENCES member_member (id),
        blocked UUID NOT NULL REFERENCES member_member (id),
        created_at TIMESTAMPTZ NOT NULL,
        CHECK (blocker <> blocked)
    )
    """,
    "CREATE UNIQUE INDEX safety_block_pair ON safety_block (blocker, blocked)",
    "CREATE INDEX safety_block_blocked ON safety_block (blocked)",
    """
    CREATE TABLE safety_conversation (
        id UUID PRIMARY KEY,
        community UUID NOT NULL REFERENCES member_community (id),
        member_a UUID NOT NULL REFERENCES member_member (id),
        member_b UUID NOT NULL REFERENCES member_member (id),
        topic VARCHAR(60) NOT NULL DEFAULT '',
        listing UUID REFERENCES market_listing (id),
        exchange UUID REFERENCES market_exchange (id),
        a_read_at TIMESTAMPTZ,
        b_read_at TIMESTAMPTZ,
        created_at TIMESTAMPTZ NOT NULL,
        last_message_at TIMESTAMPTZ NOT NULL,
        CHECK (member_a <> member_b)
    )
    """,
    "CREATE UNIQUE INDEX safety_conversation_pair ON safety_conversation"
    " (member_a, member_b, topic)",
    "CREATE INDEX safety_conversation_b ON safety_conversation (member_b)",
    """
    CREATE TABLE safety_message (
        id UUID PRIMARY KEY,
        conversation UUID NOT NULL REFERENCES safety_conversation (id),
        author UUID NOT NULL REFERENCES member_member (id),
        body TEXT NOT NULL CHECK (length(body) <= 2000),
        sent_at TIMESTAMPTZ NOT NULL
    )
    """,
    "CREATE INDEX safety_message_thread ON safety_message (conversation, sent_at)",
    "CREATE INDEX safety_message_author ON safety_message (author, sent_at)",
    """
    CREATE TABLE safety_concern (
        id UUID PRIMARY KEY,
        community UUID NOT NULL REFERENCES member_community (id),
        reporter UUID NOT NULL REFERENCES member_member (id),
        text TEXT NOT NULL CHECK (length(text) BETWEEN 1 AND 2000),
        about_member UUID REFERENCES member_member (id),
        listing UUID REFERENCES market_listing (id),
        exchange UUID REFERENCES market_exchange (id),
        conversation UUID REFERENCES safety_conversation (id),
        status VARCHAR(10) NOT NULL CHECK (status IN ('open', 'closed')),
        outcome TEXT CHECK (length(outcome) <= 2000),
        closed_by UUID REFERENCES member_member (id),
        closed_at TIMESTAMPTZ,
        created_at TIMESTAMPTZ NOT NULL,
        CHECK ((status = 'closed') = (outcome IS NOT NULL)),
        CHECK ((status = 'closed') = (closed_at IS NOT NULL))
    )
    """,
    "CREATE INDEX safety_concern_queue ON safety_concern (community, status, created_at)",
    "CREATE INDEX safety_concern_reporter ON safety_concern (reporter)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="safety", description=DESCRIPTION)

    async def create_safety_schema() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        # The same DDL on both engines.
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_safety_schema)
    return manager
