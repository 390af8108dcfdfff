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
    status = Varchar(length=12, default="open")
    created_at = Timestamptz()
    updated_at = Timestamptz()
