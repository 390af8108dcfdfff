"""Piccolo's view of the concern table (the DDL is in migrations/safety/)."""

from __future__ import annotations

from piccolo.columns import UUID, ForeignKey, Text, Timestamptz, Varchar
from piccolo.table import Table

from service.exchanges.tables import Exchange
from service.listings.tables import Listing
from service.members.tables import Community, Member
from service.messages.tables import Conversation


class Concern(Table, tablename="safety_concern"):
    """A worry a member reported to the coordinators of their community."""

    id = UUID(primary_key=True)
    community = ForeignKey(references=Community)
    reporter = ForeignKey(references=Member)
    text = Text()
    about_member = ForeignKey(references=Member, null=True)
    listing = ForeignKey(references=Listing, null=True)
    exchange = ForeignKey(references=Exchange, null=True)
    conversation = ForeignKey(references=Conversation, null=True)
    status = Varchar(length=10)
    outcome = Text(null=True, default=None)
    closed_by = ForeignKey(references=Member, null=True)
    closed_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
