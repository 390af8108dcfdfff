"""Piccolo's view of the wellbeing tables (the DDL is in migrations/wellbeing/)."""

from __future__ import annotations

from piccolo.columns import UUID, ForeignKey, Integer, Timestamptz
from piccolo.table import Table

from service.members.tables import Member


class CheckIn(Table, tablename="wellbeing_checkin"):
    """One check-in: the four ONS questions (0-10) and the three UCLA items (1-3)."""

    id = UUID(primary_key=True)
    member = ForeignKey(references=Member)
    taken_at = Timestamptz()
    consented_at = Timestamptz()
    life_satisfaction = Integer()
    worthwhile = Integer()
    happy_yesterday = Integer()
    anxious_yesterday = Integer()
    lack_companionship = Integer()
    left_out = Integer()
    isolated = Integer()


class Skip(Table, tablename="wellbeing_skip"):
    """The member's latest "not now": the offer comes back after the interval."""

    member = ForeignKey(references=Member, primary_key=True)
    skipped_at = Timestamptz()
