"""Piccolo's view of the conversation tables (the DDL is in migrations/safety/)."""

from __future__ import annotations

from piccolo.columns import UUID, ForeignKey, Text, Timestamptz, Varchar
from piccolo.table import Table

from service.exchanges.tables import Exchange
from service.listings.tables import Listing
from service.members.tables import Community, Member


class Conversation(Table, tablename="safety_conversation"):
    """Two members, in id order, about nothing in particular or one `topic`."""

    id = UUID(primary_key=True)
    community = ForeignKey(references=Community)
    member_a = ForeignKey(references=Member)
    member_b = ForeignKey(references=Member)
    topic = Varchar(length=60, default="")
    listing = ForeignKey(references=Listing, null=True)
    exchange = ForeignKey(references=Exchange, null=True)
    a_read_at = Timestamptz(null=True, default=None)
    b_read_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    last_message_at = Timestamptz()


class Message(Table, tablename="safety_message"):
    id = UUID(primary_key=True)
    conversation = ForeignKey(references=Conversation)
    author = ForeignKey(references=Member)
    body = Text()
    sent_at = Timestamptz()
