"""Piccolo's view of introduced pairs and their visit plans (DDL in migrations/neighbours/)."""

from __future__ import annotations

from piccolo.columns import UUID, Boolean, Date, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.table import Table

from service.members.tables import Community, Member


class FriendshipPair(Table, tablename="friendship_pair"):
    """An older and a younger member a coordinator introduced (once: UNIQUE pair)."""

    id = UUID(primary_key=True)
    community = ForeignKey(references=Community)
    older = ForeignKey(references=Member)
    younger = ForeignKey(references=Member)
    introduced_by = UUID(null=True, default=None)
    introduced_at = Timestamptz()
    status = Varchar(length=8)  # active | ended
    ended_at = Timestamptz(null=True, default=None)


class VisitPlan(Table, tablename="friendship_visit_plan"):
    """A pair's standing arrangement for regular visits (one per pair, changed in place).

    Visits fall on `weekday` (0 Monday) every 7 or 14 days, the first on or after
    `starts_on`; each recorded visit is an exchange whose id is derived from this
    plan's id and the visit's date, so a visit is recorded once.
    """

    id = UUID(primary_key=True)
    pair = ForeignKey(references=FriendshipPair)
    minutes = Integer()
    cadence = Varchar(length=12)  # weekly | fortnightly
    weekday = Integer()
    starts_on = Date()
    provider = ForeignKey(references=Member)
    recipient = ForeignKey(references=Member)
    in_home = Boolean(default=True)
    status = Varchar(length=8)  # active | ended
    updated_by = UUID(null=True, default=None)
    updated_at = Timestamptz()
