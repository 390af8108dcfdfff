"""Ledger: a batch of plain transfers written by PostgreSQL in one call (ADR 0070).

`ledger_post_plain_batch(...)` (PostgreSQL only) does, for a group-committed batch of
plain transfers (one NewTransfer a group, no chain), what the Python planner would: it
locks the accounts in id order, reads the earlier attempts at the ids under the locks,
moves the counters transfer by transfer, checks each account's unit, closure, floor
and ceiling, hashes each entry onto its account's chain, and writes the transfers,
entries and accounts. If any id was seen before, an account is missing, or any rule
would refuse, it writes nothing and raises SQLSTATE `TB001` with the reason: the
ledger then rolls the transaction back and plans the same batch in Python, which
records refusals and answers replays (ledger/plain_batch.py).

The hash's transfer part (`hash_tails`, the canonical JSON of the transfer's fields
after the entry's own items) comes from Python's own encoder (ledger/hashing.py
`transfer_hash_tail`), so the memo's escaping is Python's; PostgreSQL writes only the
entry's head, whose items are the format's name, a hex digest, a UUID and integers,
which both languages write alike. `ledger verify` recomputes every entry with
`entry_hash`, and tests/ledger/test_plain_batch.py requires the rows both ways to be
the same, byte for byte.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-07T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger: a batch of plain transfers written by PostgreSQL in one call"

# The earlier attempts are probed one index lookup per id, as in ledger_lock_for_write
# (migration ledger_2026_12_07t11_00_00): a generic plan cached while the tables were
# small must not hash the whole of ledger_transfer under the account locks.
# Accounts are looked up by position in the sorted array of locked ids; a batch is
# small (ledger/limits.py PLAIN_BATCH_ITEMS_MAX), so a linear search costs little.
_POST_PLAIN_BATCH = """
CREATE FUNCTION ledger_post_plain_batch(
    transfer_ids uuid[], debit_account_ids uuid[], credit_account_ids uuid[],
    amounts_minor bigint[], transfer_units text[], codes text[], memos text[],
    actors text[], effective_ats timestamptz[], hash_tails text[], written_at timestamptz
)
RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    locked_ids uuid[];
    units text[];
    closed boolean[];
    floors bigint[];
    ceilings bigint[];
    debits_posted_now bigint[];
    credits_posted_now bigint[];
    debits_pending_now bigint[];
    credits_pending_now bigint[];
    versions bigint[];
    heads text[];
    latest timestamptz;
    entry_accounts uuid[] := '{}';
    entry_versions bigint[] := '{}';
    entry_transfers uuid[] := '{}';
    entry_debits_posted bigint[] := '{}';
    entry_credits_posted bigint[] := '{}';
    entry_debits_pending bigint[] := '{}';
    entry_credits_pending bigint[] := '{}';
    entry_previous text[] := '{}';
    entry_hashes text[] := '{}';
    transfer_count integer := cardinality(transfer_ids);
    debit integer;
    credit integer;
    side integer;
    digest text;
BEGIN
    SELECT array_agg(a.id ORDER BY a.id), array_agg(a.unit ORDER BY a.id),
        array_agg(a.closed_at IS NOT NULL ORDER BY a.id),
        array_agg(a.floor_minor ORDER BY a.id), array_agg(a.ceiling_minor ORDER BY a.id),
        array_agg(a.debits_posted ORDER BY a.id), array_agg(a.credits_posted ORDER BY a.id),
        array_agg(a.debits_pending ORDER BY a.id), array_agg(a.credits_pending ORDER BY a.id),
        array_agg(a.version ORDER BY a.id), array_agg(a.head_hash ORDER BY a.id),
        max(a.updated_at)
    INTO locked_ids, units, closed, floors, ceilings, debits_posted_now, credits_posted_now,
        debits_pending_now, credits_pending_now, versions, heads, latest
    FROM (
        SELECT * FROM ledger_account
        WHERE id = ANY(debit_account_ids || credit_account_ids) ORDER BY id FOR UPDATE
    ) AS a;
    -- A new statement, so a new snapshot: it sees what a writer we waited for recorded.
    PERFORM 1
    FROM unnest(transfer_ids) AS asked(id)
    LEFT JOIN LATERAL (
        SELECT lt.id FROM ledger_transfer AS lt WHERE lt.id = asked.id OFFSET 0
    ) AS t ON true
    LEFT JOIN LATERAL (
        SELECT lf.transfer_id AS id FROM ledger_failure AS lf
        WHERE lf.transfer_id = asked.id OFFSET 0
    ) AS f ON true
    WHERE t.id IS NOT NULL OR f.id IS NOT NULL;
    IF FOUND THEN
        RAISE EXCEPTION 'plain batch declined: an id was seen before' USING ERRCODE = 'TB001';
    END IF;
    -- Entries of one account never go back in time (the planner would move the instant).
    IF latest > written_at THEN
        RAISE EXCEPTION 'plain batch declined: an account is newer' USING ERRCODE = 'TB001';
    END IF;
    FOR item IN 1 .. transfer_count LOOP
        debit := array_position(locked_ids, debit_account_ids[item]);
        credit := array_position(locked_ids, credit_account_ids[item]);
        IF debit IS NULL OR credit IS NULL OR debit = credit
            OR units[debit] <> transfer_units[item]
            OR units[credit] <> transfer_units[item]
            OR closed[debit] OR closed[credit] THEN
            RAISE EXCEPTION 'plain batch declined: an account refuses'
                USING ERRCODE = 'TB001';
        END IF;
        debits_posted_now[debit] := debits_posted_now[debit] + amounts_minor[item];
        credits_posted_now[credit] := credits_posted_now[credit] + amounts_minor[item];
        IF floors[debit] IS NOT NULL AND credits_posted_now[debit] - debits_posted_now[debit]
                - debits_pending_now[debit] < floors[debit]
            OR ceilings[credit] IS NOT NULL AND credits_posted_now[credit]
                - debits_posted_now[credit] + credits_pending_now[credit] > ceilings[credit]
        THEN
            RAISE EXCEPTION 'plain batch declined: a limit refuses' USING ERRCODE = 'TB001';
        END IF;
        FOREACH side IN ARRAY ARRAY[debit, credit] LOOP
            versions[side] := versions[side] + 1;
            -- entry_hash's payload: the entry's own items, then the transfer's tail.
            digest := encode(sha256(convert_to(concat(
                '["timebank-ledger-v1","', heads[side], '","', locked_ids[side], '",',
                versions[side], ',', debits_posted_now[side], ',', credits_posted_now[side],
                ',', debits_pending_now[side], ',', credits_pending_now[side], ',',
                hash_tails[item]), 'UTF8')), 'hex');
            entry_accounts := entry_accounts || locked_ids[side];
            entry_versions := entry_versions || versions[side];
            entry_transfers := entry_transfers || transfer_ids[item];
            entry_debits_posted := entry_debits_posted || debits_posted_now[side];
            entry_credits_posted := entry_credits_posted || credits_posted_now[side];
            entry_debits_pending := entry_debits_pending || debits_pending_now[side];
            entry_credits_pending := entry_credits_pending || credits_pending_now[side];
            entry_previous := entry_previous || heads[side];
            entry_hashes := entry_hashes || digest;
            heads[side] := digest;
        END LOOP;
    END LOOP;
    INSERT INTO ledger_transfer (
        id, kind, unit, debit_account_id, credit_account_id, amount_minor, pending_id,
        reverses_id, chain_id, expires_at, code, memo, actor, override_limits,
        effective_at, recorded_at)
    SELECT t.id, 'single', t.unit, t.debit, t.credit, t.amount, NULL, NULL, NULL, NULL,
        t.code, t.memo, t.actor, false, coalesce(t.effective_at, written_at), written_at
    FROM unnest(transfer_ids, transfer_units, debit_account_ids, credit_account_ids,
        amounts_minor, codes, memos, actors, effective_ats)
        AS t(id, unit, debit, credit, amount, code, memo, actor, effective_at);
    INSERT INTO ledger_entry (
        account_id, version, transfer_id, debits_posted, credits_posted, debits_pending,
        credits_pending, balance_minor, recorded_at, previous_hash, hash)
    SELECT e.account_id, e.version, e.transfer_id, e.debits_posted, e.credits_posted,
        e.debits_pending, e.credits_pending, e.credits_posted - e.debits_posted,
        written_at, e.previous_hash, e.hash
    FROM unnest(entry_accounts, entry_versions, entry_transfers, entry_debits_posted,
        entry_credits_posted, entry_debits_pending, entry_credits_pending, entry_previous,
        entry_hashes)
        AS e(account_id, version, transfer_id, debits_posted, credits_posted,
             debits_pending, credits_pending, previous_hash, hash);
    UPDATE ledger_account AS account
    SET debits_posted = changed.debits_posted, credits_posted = changed.credits_posted,
        version = changed.version, head_hash = changed.head_hash, updated_at = written_at
    FROM unnest(locked_ids, debits_posted_now, credits_posted_now, versions, heads)
        AS changed(id, debits_posted, credits_posted, version, head_hash)
    WHERE account.id = changed.id;
    RETURN transfer_count;
END
$$
"""


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def create_function() -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("no database engine configured")
        if isinstance(engine, PostgresEngine):
            await engine.run_ddl(_POST_PLAIN_BATCH)

    manager.add_raw(create_function)
    return manager
