"""Piccolo's view of the block table (the DDL is in migrations/safety/)."""

from __future__ import annotations

from piccolo.columns import UUID, ForeignKey, Timestamptz
from piccolo.table import Table

from service.members.tables import Member


class Block(Table, tablename="safety_block"):
    """`blocker` no longer hears from `blocked`; each hides from the other."""

    id = UUID(primary_key=True)
    blocker = ForeignKey(references=Member)
    blocked = ForeignKey(references=Member)
    created_at = Timestamptz()
