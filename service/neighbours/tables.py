"""Piccolo's view of the thanks table (DDL in migrations/neighbours/)."""

from __future__ import annotations

from piccolo.columns import UUID, ForeignKey, Text, Timestamptz
from piccolo.table import Table

from service.exchanges.tables import Exchange
from service.members.tables import Member


class Thanks(Table, tablename="neighbour_thanks"):
    """One party's short thank-you to the other after a completed exchange."""

    id = UUID(primary_key=True)
    exchange = ForeignKey(references=Exchange)
    author = ForeignKey(references=Member)
    receiver = ForeignKey(references=Member)
    text = Text()
    created_at = Timestamptz()
    # The receiver hid it from their profile (it stays in both members' exports).
    hidden_at = Timestamptz(null=True, default=None)
