"""Piccolo's view of the safeguarding checks table (DDL in migrations/neighbours/)."""

from __future__ import annotations

from piccolo.columns import UUID, Date, ForeignKey, Timestamptz, Varchar
from piccolo.table import Table

from service.members.tables import Member


class SafeguardingCheck(Table, tablename="neighbour_check"):
    """A check a coordinator recorded for a member: DBS, a reference or an induction."""

    id = UUID(primary_key=True)
    member = ForeignKey(references=Member)
    kind = Varchar(length=12)
    checked_on = Date()
    expires_on = Date(null=True, default=None)
    recorded_by = UUID(null=True, default=None)
    recorded_at = Timestamptz()
    # When coordinators were told it expires soon: the sweep tells them once.
    reminded_at = Timestamptz(null=True, default=None)


class RefusalTold(Table, tablename="neighbour_check_refusal_told"):
    """The day coordinators were told that a helper without a valid check was refused
    help in someone's home: they are told once a day per helper, not at every attempt."""

    helper = UUID(primary_key=True)  # the key is (helper, community, told_on)
    community = UUID()
    told_on = Date()
