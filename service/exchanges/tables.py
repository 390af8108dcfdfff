"""Piccolo's view of the exchange tables (DDL in migrations/market/)."""

from __future__ import annotations

from piccolo.columns import UUID, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from service.listings.tables import Listing
from service.members.tables import Community, Member


class Exchange(Table, tablename="market_exchange"):
    id = UUID(primary_key=True)
    community = ForeignKey(references=Community)
    provider = ForeignKey(references=Member)
    proposer = ForeignKey(references=Member)
    minutes = Integer()
    service_date = Timestamptz()
    description = Text()
    listing = ForeignKey(references=Listing, null=True)
    status = Varchar(length=12)
    # Help given in the member's home (ADR 0035).
    in_home = Boolean(default=False)
    recorded_by = ForeignKey(references=Member, null=True)
    hold_expires_at = Timestamptz(null=True, default=None)
    chain_id = UUID(null=True, default=None)
    # The provider said the help happened; unless a recipient confirms or calls it
    # off first, the sweep completes it at `autoconfirm_at` (before the hold expires).
    marked_done_at = Timestamptz(null=True, default=None)
    autoconfirm_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class ExchangeRecipient(Table, tablename="market_exchange_recipient"):
    # The real key is (exchange, member); Piccolo needs one primary-key column
    # to be declared, and these rows are only ever selected by exchange.
    exchange = ForeignKey(references=Exchange, primary_key=True)
    member = ForeignKey(references=Member)
    pending_transfer_id = UUID(null=True, default=None)
    transfer_id = UUID(null=True, default=None)


class ExchangeEvent(Table, tablename="market_exchange_event"):
    """Append-only history of an exchange: who did what, when."""

    id = UUID(primary_key=True)
    exchange = ForeignKey(references=Exchange)
    at = Timestamptz()
    actor = ForeignKey(references=Member, null=True)
    actor_label = Varchar(length=120)
    action = Varchar(length=30)
    note = Text(default="")
    # The coordinator who did this for `actor` (ADR 0031); null when the actor did it.
    recorded_by = ForeignKey(references=Member, null=True)
