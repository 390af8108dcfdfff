"""verify(): recompute everything the ledger stores and report the first discrepancy.

Checks, in this order (ledger.md guarantee 11):
1. each account's entries: versions 1..n without gaps, each entry's previous
   hash equal to the chain so far, each hash recomputed from the entry and its
   transfer, each counter recomputed from the transfer's effect, each running
   balance, each recorded_at equal to its transfer's;
2. each account row against its last entry (counters, version, head hash),
   and each account's change log (ledger/account_changes.py): sequence 1..n,
   chained and recomputed hashes, the first link an opening or backfill, and
   its last state equal to the row's floor, ceiling and closed_at;
3. every transfer has exactly one entry on each of its two accounts;
4. every reversal tally equals the sum of that transfer's reversals;
5. per unit, posted debits equal posted credits and pending debits equal
   pending credits (zero sum).
Memory stays bounded: accounts are read a page at a time and each account's
entries are streamed in order. The caller gives a connection holding one
snapshot (transactions.snapshot_connection), so live writes read as nothing
or as whole transfers, never as half of one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from ledger.account_changes import change_from_row, fetch_changes
from ledger.hashing import (
    account_change_genesis,
    account_change_hash,
    entry_hash,
    genesis_hash,
)
from ledger.limits import VERIFY_ACCOUNTS_PER_PAGE
from ledger.model import AccountChange, AccountChangeKind, Transfer, TransferKind
from ledger.rows import ACCOUNT_COLUMNS, TRANSFER_COLUMNS, AccountState, account_state
from ledger.rows import transfer_from_row as _transfer_from_row
from ledger.sql import Connection, Row, as_datetime, as_uuid

Counters = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class Discrepancy:
    check: str
    detail: str
    account_id: UUID | None = None
    version: int | None = None
    transfer_id: UUID | None = None

    def describe(self) -> str:
        where = [
            f"{name} {value}"
            for name, value in (
                ("account", self.account_id),
                ("version", self.version),
                ("transfer", self.transfer_id),
            )
            if value is not None
        ]
        return f"{self.check}: {self.detail}" + (f" ({', '.join(where)})" if where else "")


@dataclass(slots=True)
class VerifyReport:
    accounts_checked: int = 0
    entries_checked: int = 0
    account_changes_checked: int = 0
    transfers_checked: int = 0
    units_checked: list[str] = field(default_factory=list)
    discrepancy: Discrepancy | None = None

    @property
    def ok(self) -> bool:
        return self.discrepancy is None

    def summary(self) -> str:
        counts = (
            f"{self.accounts_checked} accounts, {self.entries_checked} entries, "
            f"{self.transfers_checked} transfers, {self.account_changes_checked} account changes, "
            f"units {', '.join(self.units_checked) or '-'}"
        )
        if self.discrepancy is None:
            return f"ledger verified: {counts}; no discrepancy"
        return f"ledger discrepancy: {self.discrepancy.describe()}; checked {counts}"


class _Found(Exception):  # noqa: N818 - internal control flow, never escapes
    def __init__(self, discrepancy: Discrepancy) -> None:
        self.discrepancy = discrepancy


async def verify(connection: Connection) -> VerifyReport:
    report = VerifyReport()
    try:
        await _verify_accounts(connection, report)
        await _verify_transfers(connection, report)
        await _verify_tallies(connection)
        await _verify_zero_sum(connection, report)
    except _Found as found:
        report.discrepancy = found.discrepancy
    return report


async def _verify_accounts(connection: Connection, report: VerifyReport) -> None:
    after: UUID | None = None
    while True:
        condition = "WHERE id > $2 " if after is not None else ""
        args: list[object] = [VERIFY_ACCOUNTS_PER_PAGE] + ([after] if after is not None else [])
        rows = await connection.fetch(
            f"SELECT {ACCOUNT_COLUMNS} FROM ledger_account {condition}ORDER BY id LIMIT $1", *args
        )
        for row in rows:
            account = account_state(row)
            report.entries_checked += await _verify_account(connection, account)
            report.account_changes_checked += await _verify_account_changes(connection, account)
            report.accounts_checked += 1
            after = account.id
        if len(rows) < VERIFY_ACCOUNTS_PER_PAGE:
            return


_ENTRY_QUERY = (
    "SELECT e.version AS e_version, e.transfer_id AS e_transfer_id, "
    "e.debits_posted AS e_dp, e.credits_posted AS e_cp, e.debits_pending AS e_dpend, "
    "e.credits_pending AS e_cpend, e.balance_minor AS e_balance, e.recorded_at AS e_recorded_at, "
    "e.previous_hash AS e_previous_hash, e.hash AS e_hash, p.amount_minor AS pending_amount, "
    + ", ".join(f"t.{column.strip()}" for column in TRANSFER_COLUMNS.split(","))
    + " FROM ledger_entry e LEFT JOIN ledger_transfer t ON t.id = e.transfer_id "
    "LEFT JOIN ledger_transfer p ON p.id = t.pending_id "
    "WHERE e.account_id = $1 AND e.version > $2 ORDER BY e.version LIMIT $3"
)
_ENTRIES_PER_QUERY = 1_000


async def _verify_account(connection: Connection, account: AccountState) -> int:
    chain_hash = genesis_hash(account.id, account.unit)
    counters: Counters = (0, 0, 0, 0)
    version = 0
    while True:
        rows = await connection.fetch(_ENTRY_QUERY, account.id, version, _ENTRIES_PER_QUERY)
        for row in rows:
            version += 1
            chain_hash, counters = _verify_entry(account, row, version, chain_hash, counters)
        if len(rows) < _ENTRIES_PER_QUERY:
            break
    _verify_account_row(account, version, chain_hash, counters)
    return version


def _verify_entry(
    account: AccountState, row: Row, version: int, chain_hash: str, counters: Counters
) -> tuple[str, Counters]:
    def fail(check: str, detail: str) -> _Found:
        transfer_id = as_uuid(row["e_transfer_id"])
        return _Found(Discrepancy(check, detail, account.id, version, transfer_id))

    if row["e_version"] != version:
        raise fail("entry_sequence", f"expected version {version}, found {row['e_version']}")
    if row["id"] is None:
        raise fail("entry_transfer", "the entry's transfer does not exist")
    transfer = _transfer_from_row(row)
    if account.id not in (transfer.debit_account_id, transfer.credit_account_id):
        raise fail("entry_transfer", "the transfer does not touch this account")
    if row["e_previous_hash"] != chain_hash:
        raise fail("hash_chain", "previous_hash does not match the chain so far")
    expected = _apply(counters, _delta(transfer, account.id, row["pending_amount"]))
    stored: Counters = (row["e_dp"], row["e_cp"], row["e_dpend"], row["e_cpend"])
    if stored != expected:
        raise fail("running_counters", f"stored {stored}, recomputed {expected}")
    if row["e_balance"] != expected[1] - expected[0]:
        raise fail(
            "running_balance", f"stored {row['e_balance']}, recomputed {expected[1] - expected[0]}"
        )
    if as_datetime(row["e_recorded_at"]) != transfer.recorded_at:
        raise fail("entry_time", "recorded_at differs from the transfer's")
    digest = entry_hash(
        previous_hash=chain_hash,
        account_id=account.id,
        version=version,
        transfer=transfer,
        counters_after=expected,
    )
    if row["e_hash"] != digest:
        raise fail("entry_hash", "the entry or its transfer was changed after it was written")
    return digest, expected


def _delta(transfer: Transfer, account_id: UUID, pending_amount: int | None) -> Counters:
    amount = transfer.amount_minor
    debit_side = transfer.debit_account_id == account_id
    held = pending_amount if pending_amount is not None else amount
    kind = transfer.kind
    if kind in (TransferKind.SINGLE, TransferKind.REVERSAL):
        return (amount, 0, 0, 0) if debit_side else (0, amount, 0, 0)
    if kind is TransferKind.PENDING:
        return (0, 0, amount, 0) if debit_side else (0, 0, 0, amount)
    if kind is TransferKind.POST:
        return (amount, 0, -held, 0) if debit_side else (0, amount, 0, -held)
    return (0, 0, -held, 0) if debit_side else (0, 0, 0, -held)


def _apply(counters: Counters, delta: Counters) -> Counters:
    return (
        counters[0] + delta[0],
        counters[1] + delta[1],
        counters[2] + delta[2],
        counters[3] + delta[3],
    )


def _verify_account_row(
    account: AccountState, version: int, chain_hash: str, counters: Counters
) -> None:
    def fail(check: str, detail: str) -> _Found:
        return _Found(Discrepancy(check, detail, account.id))

    if account.counters != counters:
        raise fail("account_counters", f"row has {account.counters}, entries give {counters}")
    if account.version != version:
        raise fail("account_version", f"row has {account.version}, entries give {version}")
    if account.head_hash != chain_hash:
        raise fail("account_head_hash", "the row's head hash is not the last entry's hash")


_CHANGES_PER_QUERY = 1_000
_FIRST_CHANGE_KINDS = frozenset({AccountChangeKind.OPENED, AccountChangeKind.BACKFILLED})


async def _verify_account_changes(connection: Connection, account: AccountState) -> int:
    chain_hash = account_change_genesis(account.id, account.unit)
    sequence = 0
    last: AccountChange | None = None
    while True:
        rows = await fetch_changes(connection, account.id, after=sequence, limit=_CHANGES_PER_QUERY)
        for row in rows:
            sequence += 1
            change, stored_hash = change_from_row(row, account.unit, account.owner)
            _verify_change(account, change, stored_hash, sequence, chain_hash)
            chain_hash, last = stored_hash, change
        if len(rows) < _CHANGES_PER_QUERY:
            break
    if last is None:
        raise _Found(Discrepancy("account_changes", "the account has no change log", account.id))
    row_state = (account.floor_minor, account.ceiling_minor, account.closed_at)
    logged = (last.floor_minor, last.ceiling_minor, last.closed_at)
    if row_state != logged:
        raise _Found(
            Discrepancy(
                "account_limits",
                f"row has floor, ceiling, closed_at {row_state}, the change log gives {logged}",
                account.id,
            )
        )
    return sequence


def _verify_change(
    account: AccountState, change: AccountChange, stored_hash: str, sequence: int, chain_hash: str
) -> None:
    def fail(detail: str) -> _Found:
        return _Found(Discrepancy("account_changes", f"change {sequence}: {detail}", account.id))

    if change.sequence != sequence:
        raise fail(f"expected sequence {sequence}, found {change.sequence}")
    if (sequence == 1) != (change.kind in _FIRST_CHANGE_KINDS):
        raise fail(f"kind {change.kind} out of place")
    if change.previous_hash != chain_hash:
        raise fail("previous_hash does not match the log so far")
    if account_change_hash(change) != stored_hash:
        raise fail("the change, or the account's unit or owner, was altered after it was written")


async def _verify_transfers(connection: Connection, report: VerifyReport) -> None:
    rows = await connection.fetch(
        "SELECT t.id, t.debit_account_id, t.credit_account_id, "
        "(SELECT count(*) FROM ledger_entry e WHERE e.transfer_id = t.id "
        " AND e.account_id = t.debit_account_id) AS debit_entries, "
        "(SELECT count(*) FROM ledger_entry e WHERE e.transfer_id = t.id "
        " AND e.account_id = t.credit_account_id) AS credit_entries, "
        "(SELECT count(*) FROM ledger_entry e WHERE e.transfer_id = t.id) AS all_entries "
        "FROM ledger_transfer t WHERE NOT ("
        "(SELECT count(*) FROM ledger_entry e WHERE e.transfer_id = t.id) = 2 AND "
        "EXISTS (SELECT 1 FROM ledger_entry e WHERE e.transfer_id = t.id "
        " AND e.account_id = t.debit_account_id) AND "
        "EXISTS (SELECT 1 FROM ledger_entry e WHERE e.transfer_id = t.id "
        " AND e.account_id = t.credit_account_id)) ORDER BY t.id LIMIT 1"
    )
    if rows:
        row = rows[0]
        raise _Found(
            Discrepancy(
                "transfer_entries",
                f"expected one entry per account, found debit {row['debit_entries']}, "
                f"credit {row['credit_entries']}, total {row['all_entries']}",
                transfer_id=as_uuid(row["id"]),
            )
        )
    count = await connection.fetchrow("SELECT count(*) AS n FROM ledger_transfer")
    report.transfers_checked = int(count["n"]) if count else 0


async def _verify_tallies(connection: Connection) -> None:
    rows = await connection.fetch(
        "SELECT o.id, o.amount_minor, coalesce(tally.reversed_minor, 0) AS tallied, "
        "coalesce((SELECT sum(r.amount_minor) FROM ledger_transfer r "
        " WHERE r.reverses_id = o.id), 0) AS reversed "
        "FROM ledger_transfer o LEFT JOIN ledger_reversal_tally tally ON tally.transfer_id = o.id "
        "WHERE tally.transfer_id IS NOT NULL OR EXISTS "
        "(SELECT 1 FROM ledger_transfer r WHERE r.reverses_id = o.id)"
    )
    for row in rows:
        if row["tallied"] != row["reversed"] or row["reversed"] > row["amount_minor"]:
            raise _Found(
                Discrepancy(
                    "reversal_tally",
                    f"tally {row['tallied']}, reversals {row['reversed']}, "
                    f"original {row['amount_minor']}",
                    transfer_id=as_uuid(row["id"]),
                )
            )


async def _verify_zero_sum(connection: Connection, report: VerifyReport) -> None:
    rows = await connection.fetch(
        "SELECT u.code, coalesce(sum(a.debits_posted), 0) AS dp, "
        "coalesce(sum(a.credits_posted), 0) AS cp, coalesce(sum(a.debits_pending), 0) AS dpend, "
        "coalesce(sum(a.credits_pending), 0) AS cpend "
        "FROM ledger_unit u LEFT JOIN ledger_account a ON a.unit = u.code "
        "GROUP BY u.code ORDER BY u.code"
    )
    for row in rows:
        report.units_checked.append(row["code"])
        if row["dp"] != row["cp"] or row["dpend"] != row["cpend"]:
            raise _Found(
                Discrepancy(
                    "zero_sum",
                    f"unit {row['code']}: posted debits {row['dp']} vs credits {row['cp']}, "
                    f"pending debits {row['dpend']} vs credits {row['cpend']}",
                )
            )
