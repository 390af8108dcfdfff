"""Reset tokens and email changes. The DDL, with its CHECKs, is in migrations/recovery/."""

from __future__ import annotations

from piccolo.columns import UUID, Timestamptz, Varchar
from piccolo.table import Table


class ResetToken(Table, tablename="recovery_reset_token"):
    """A single-use way to set a new password: a mailed link (1 hour) or a
    coordinator's code read out on the phone (24 hours). Only its SHA-256 is kept."""

    id = UUID(primary_key=True)
    member = UUID()
    token_hash = Varchar(length=64, unique=True)
    kind = Varchar(length=10)  # link or code
    issued_by = UUID(null=True, default=None)  # the coordinator, for a code
    created_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class EmailChange(Table, tablename="recovery_email_change"):
    """A new address waiting for its owner to follow the link sent to it."""

    id = UUID(primary_key=True)
    member = UUID()
    new_email = Varchar(length=254)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
