"""Piccolo's view of the dispute tables (the DDL and its CHECKs are in migrations/disputes/)."""

from __future__ import annotations

from piccolo.columns import UUID, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from service.exchanges.tables import Exchange
from service.members.tables import Community, Member


class Dispute(Table, tablename="dispute_dispute"):
    """One per exchange: opened by a party, resolved once by an admin."""

    id = UUID(primary_key=True)
    exchange = ForeignKey(references=Exchange, unique=True)
    community = ForeignKey(references=Community)
    opened_by = ForeignKey(references=Member)
    reason = Text()
    status = Varchar(length=10)
    outcome = Varchar(length=10, null=True, default=None)
    resolution_note = Text(null=True, default=None)
    resolved_by = ForeignKey(references=Member, null=True)
    resolved_at = Timestamptz(null=True, default=None)
    opened_at = Timestamptz()


class DisputeStatement(Table, tablename="dispute_statement"):
    """A party's account of what happened (append-only)."""

    id = UUID(primary_key=True)
    dispute = ForeignKey(references=Dispute)
    author = ForeignKey(references=Member)
    body = Text()
    at = Timestamptz()


class DisputeCorrection(Table, tablename="dispute_correction"):
    """What a resolution did for one recipient: the reversing transfer, if any.

    `agreed_floor_minutes` is the provider's floor before an override moved it,
    so the account can show how far below its agreed floor it now stands;
    `agreed_ceiling_minutes` is the recipient's ceiling before an override raised it.
    """

    dispute = ForeignKey(references=Dispute, primary_key=True)
    recipient = ForeignKey(references=Member)
    outcome = Varchar(length=10)
    minutes = Integer()
    original_transfer_id = UUID()
    reversal_transfer_id = UUID(null=True, default=None)
    provider_account_id = UUID()
    agreed_floor_minutes = Integer(null=True, default=None)
    below_floor_minutes = Integer(default=0)
    agreed_ceiling_minutes = Integer(null=True, default=None)
