"""Ledger ids derived from a meeting, so a repeated register moves nothing twice (UUIDv5)."""

from __future__ import annotations

import uuid


def host_credit_id(occurrence_id: uuid.UUID, host_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(occurrence_id, f"host:{host_id}")


def host_credit_chain_id(occurrence_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(occurrence_id, "chain:hosts")
