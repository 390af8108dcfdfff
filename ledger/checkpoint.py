"""Checkpoints: tamper evidence anchored outside the database (ADR 0017).

Hash chains prove history consistent with itself, but their heads live in the
same database: someone able to drop the triggers can cut the newest transfers
off, recompute every hash and rewind the account rows, and verify() passes.
A checkpoint is a small file, kept by the operator outside the database,
holding every account's chain heads (entry version and hash, account change
sequence and hash) and the entry count, signed with HMAC-SHA256 under a key
that comes from the environment and is never stored in the database.

`verify --checkpoint FILE` then proves that nothing before the checkpoint was
removed, reordered or rewound: each signed head must still be the entry (or
change) at that version, and verify() has already shown every chain to be
consistent, so the whole prefix up to the head is unchanged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID

from ledger import errors
from ledger.limits import CHECKPOINT_FILE_BYTES_MAX, CHECKPOINT_KEY_CHARS_MIN
from ledger.sql import Connection, as_uuid
from ledger.verify import Discrepancy, VerifyReport, verify

CHECKPOINT_FORMAT = "timebank-ledger-checkpoint-v1"
CHECKPOINT_KEY_ENV = "TIMEBANK_CHECKPOINT_KEY"


@dataclass(frozen=True, slots=True)
class Head:
    """One account's chain heads when the checkpoint was taken."""

    account_id: UUID
    version: int  # entries 1..version
    head_hash: str
    changes: int  # account changes 1..changes
    changes_hash: str


@dataclass(frozen=True, slots=True)
class Checkpoint:
    taken_at: datetime
    entries: int
    account_changes: int
    heads: tuple[Head, ...]


def checkpoint_key(environ: Mapping[str, str]) -> bytes:
    """The signing key from the environment (never from the database)."""
    key = environ.get(CHECKPOINT_KEY_ENV, "")
    if len(key) < CHECKPOINT_KEY_CHARS_MIN:
        raise errors.CheckpointKeyInvalid(
            variable=CHECKPOINT_KEY_ENV, min_chars=CHECKPOINT_KEY_CHARS_MIN
        )
    return key.encode()


# Reading heads ------------------------------------------------------------------

_HEADS = (
    "SELECT a.id, a.version, a.head_hash, coalesce(c.sequence, 0) AS changes, "
    "coalesce(c.hash, '') AS changes_hash FROM ledger_account a "
    "LEFT JOIN ledger_account_change c ON c.account_id = a.id AND c.sequence = "
    "(SELECT max(m.sequence) FROM ledger_account_change m WHERE m.account_id = a.id) "
    "ORDER BY a.id"
)


async def read_checkpoint(connection: Connection, taken_at: datetime) -> Checkpoint:
    """Every chain head, read on the caller's (snapshot) connection."""
    rows = await connection.fetch(_HEADS)
    entries = await connection.fetchrow("SELECT count(*) AS n FROM ledger_entry")
    changes = await connection.fetchrow("SELECT count(*) AS n FROM ledger_account_change")
    return Checkpoint(
        taken_at=taken_at,
        entries=int(entries["n"]) if entries else 0,
        account_changes=int(changes["n"]) if changes else 0,
        heads=tuple(
            Head(
                as_uuid(row["id"]),
                row["version"],
                row["head_hash"],
                row["changes"],
                row["changes_hash"],
            )
            for row in rows
        ),
    )


async def verify_with_checkpoint(
    connection: Connection, checkpoint: Checkpoint | None
) -> VerifyReport:
    """verify(), then every signed head against the history (one snapshot)."""
    report = await verify(connection)
    if report.ok and checkpoint is not None:
        report.discrepancy = await _compare_heads(connection, checkpoint)
    return report


async def _compare_heads(connection: Connection, checkpoint: Checkpoint) -> Discrepancy | None:
    for head in checkpoint.heads:
        found = await _head_now(connection, head)
        if found is not None:
            return found
    current = await read_checkpoint(connection, checkpoint.taken_at)
    if current.entries < checkpoint.entries or current.account_changes < checkpoint.account_changes:
        return Discrepancy(
            "checkpoint_count",
            f"the checkpoint counted {checkpoint.entries} entries and "
            f"{checkpoint.account_changes} account changes, the database has "
            f"{current.entries} and {current.account_changes}",
        )
    return None


async def _head_now(connection: Connection, head: Head) -> Discrepancy | None:
    if head.version > 0:
        row = await connection.fetchrow(
            "SELECT hash FROM ledger_entry WHERE account_id = $1 AND version = $2",
            head.account_id,
            head.version,
        )
        if row is None or row["hash"] != head.head_hash:
            what = "is gone" if row is None else "differs"
            return Discrepancy(
                "checkpoint_entries",
                f"the entry signed at the checkpoint {what}: history was removed, "
                "reordered or rewound",
                head.account_id,
                head.version,
            )
    change = await connection.fetchrow(
        "SELECT hash FROM ledger_account_change WHERE account_id = $1 AND sequence = $2",
        head.account_id,
        head.changes,
    )
    if change is None or change["hash"] != head.changes_hash:
        what = "is gone" if change is None else "differs"
        return Discrepancy(
            "checkpoint_account_changes",
            f"the account change {head.changes} signed at the checkpoint {what}",
            head.account_id,
        )
    return None


# The signed file ------------------------------------------------------------------


def _payload(checkpoint: Checkpoint) -> dict[str, object]:
    return {
        "format": CHECKPOINT_FORMAT,
        "taken_at": checkpoint.taken_at.isoformat(),
        "entries": checkpoint.entries,
        "account_changes": checkpoint.account_changes,
        "heads": [
            [str(h.account_id), h.version, h.head_hash, h.changes, h.changes_hash]
            for h in checkpoint.heads
        ],
    }


def _signature(payload: Mapping[str, object], key: bytes) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, canonical, hashlib.sha256).hexdigest()


def checkpoint_to_text(checkpoint: Checkpoint, key: bytes) -> str:
    payload = _payload(checkpoint)
    signed = {**payload, "hmac_sha256": _signature(payload, key)}
    return json.dumps(signed, sort_keys=True, indent=1) + "\n"


def checkpoint_from_text(text: str, key: bytes) -> Checkpoint:
    """Parse and authenticate a checkpoint file; CheckpointInvalid if anything is off."""
    if len(text) > CHECKPOINT_FILE_BYTES_MAX:
        raise errors.CheckpointInvalid(detail="too large", max_bytes=CHECKPOINT_FILE_BYTES_MAX)
    try:
        signed = json.loads(text)
        given = signed.pop("hmac_sha256")
        valid = isinstance(given, str) and hmac.compare_digest(given, _signature(signed, key))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise errors.CheckpointInvalid(detail="not a checkpoint file") from error
    if not valid or signed.get("format") != CHECKPOINT_FORMAT:
        raise errors.CheckpointInvalid(detail="the signature does not match this key")
    # Signed by our own key, so its shape is the one _payload wrote.
    return Checkpoint(
        taken_at=datetime.fromisoformat(signed["taken_at"]),
        entries=signed["entries"],
        account_changes=signed["account_changes"],
        heads=tuple(
            Head(UUID(account_id), version, head_hash, changes, changes_hash)
            for account_id, version, head_hash, changes, changes_hash in signed["heads"]
        ),
    )


def save_checkpoint(path: Path, checkpoint: Checkpoint, key: bytes) -> None:
    """Write the signed file whole or not at all (a temporary file, then a rename)."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(checkpoint_to_text(checkpoint, key), encoding="utf-8")
    partial.replace(path)


def load_checkpoint(path: Path, key: bytes) -> Checkpoint:
    try:
        with path.open("rb") as file:
            raw = file.read(CHECKPOINT_FILE_BYTES_MAX + 1)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise errors.CheckpointInvalid(detail=f"cannot read {path}: {error}") from error
    return checkpoint_from_text(text, key)
