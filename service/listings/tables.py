"""Piccolo's view of the listing tables (DDL in migrations/market/)."""

from __future__ import annotations

from piccolo.columns import UUID, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from service.members.tables import Community, Member


class Category(Table, tablename="market_category"):
    id = UUID(primary_key=True)
    slug = Varchar(length=40, unique=True)
    name = Varchar(length=80)
    position = Integer()
    active = Boolean(default=True)


class Listing(Table, tablename="market_listing"):
    id = UUID(primary_key=True)
    member = ForeignKey(references=Member)
    community = ForeignKey(references=Community)
    kind = Varchar(length=10)
    title = Varchar(length=120)
    description = Text()
    category = ForeignKey(references=Category)
    ward = Varchar(length=80, default="")
    availability = Varchar(length=200, default="")
    # "This says something personal about me": description for the community only.
    sensitive = Boolean(default=False)
    status = Varchar(length=12, default="open")
    # Help given in the member's home: may need a safeguarding check (ADR 0035).
    in_home = Boolean(default=False)
    # Paused by its member, or past `expires_at`: out of search, kept for the owner.
    paused_at = Timestamptz(null=True, default=None)
    expires_at = Timestamptz(null=True, default=None)
    renew_reminded_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
