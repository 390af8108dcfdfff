"""Ledger ids derived from an exchange, so a repeated step reuses them (UUIDv5)."""

from __future__ import annotations

import uuid

from ledger import expire_id
from service.http.idempotency import derived_id


def hold_transfer_id(exchange_id: uuid.UUID, member_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(exchange_id, f"hold:{member_id}")


def post_transfer_id(exchange_id: uuid.UUID, member_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(exchange_id, f"post:{member_id}")


def void_transfer_id(exchange_id: uuid.UUID, member_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(exchange_id, f"void:{member_id}")


def expire_transfer_id(pending_id: uuid.UUID) -> uuid.UUID:
    """The id `Ledger.expire_due` derives too, so both ways of expiring agree."""
    return expire_id(pending_id)


def proposal_id(caller_id: uuid.UUID, idempotency_key: str | None) -> uuid.UUID:
    """A proposal's id: with an Idempotency-Key, the same for every retry of it."""
    return derived_id(caller_id=caller_id, key=idempotency_key, purpose="exchange.propose")


def recording_id(caller_id: uuid.UUID, idempotency_key: str | None) -> uuid.UUID:
    """A recorded exchange's id: with an Idempotency-Key, the same for every retry of it."""
    return derived_id(caller_id=caller_id, key=idempotency_key, purpose="exchange.record")


def record_transfer_id(exchange_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(exchange_id, "record")


def chain_id_for(exchange_id: uuid.UUID, step: str) -> uuid.UUID:
    return uuid.uuid5(exchange_id, f"chain:{step}")
