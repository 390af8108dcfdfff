"""The stored replies of keyed requests (DDL in migrations/market/, where the table was born)."""

from __future__ import annotations

from piccolo.columns import Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class IdempotencyKey(Table, tablename="market_idempotency_key"):
    caller = Varchar(length=80, primary_key=True)
    key = Varchar(length=255)
    method = Varchar(length=10)
    path = Varchar(length=300)
    body_sha256 = Varchar(length=64)
    status = Integer()
    content_type = Varchar(length=100)
    body = Text()
    created_at = Timestamptz()
