"""Tables of communities, members, roles, sessions, tokens and the audit log.

The DDL (with CHECKs, partial unique indexes and the audit log's append-only
triggers) is in migrations/members/; these classes are Piccolo's view of it.
"""

from __future__ import annotations

from piccolo.columns import (
    UUID,
    Boolean,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table


class Area(Table, tablename="member_area"):
    """A council area: a council viewer sees the communities in one."""

    id = UUID(primary_key=True)
    name = Varchar(length=100)
    slug = Varchar(length=60, unique=True)
    created_at = Timestamptz()


class Community(Table, tablename="member_community"):
    id = UUID(primary_key=True)
    name = Varchar(length=100)
    slug = Varchar(length=60, unique=True)
    area = ForeignKey(references=Area)
    requires_approval = Boolean(default=False)
    welcome_credit_minutes = Integer(default=120)
    member_floor_minutes = Integer(default=-600)
    member_ceiling_minutes = Integer(null=True, default=None)
    dispute_window_days = Integer(default=30)
    small_cell_k = Integer(default=5)
    # Members of other communities read non-sensitive listing descriptions (ADR 0020).
    visitors_see_descriptions = Boolean(default=False)
    # Days after "marked done" before an exchange confirms by itself; None: the setting.
    autoconfirm_days = Integer(null=True, default=None)
    # Days a listing stays up before its member must renew it (issue 18).
    listing_days = Integer(default=90)
    # Help in someone's home needs the helper's valid safeguarding check (ADR 0035).
    home_check_required = Boolean(default=False)
    issuance_account_id = UUID()
    pool_account_id = UUID()
    stripe_clearing_account_id = UUID()
    donations_account_id = UUID()
    fees_account_id = UUID()
    created_at = Timestamptz()


class Member(Table, tablename="member_member"):
    id = UUID(primary_key=True)
    # Null once the account is closed and personal data erased.
    email = Varchar(length=254, null=True, unique=True)
    password_hash = Text(null=True)
    display_name = Varchar(length=80)
    community = ForeignKey(references=Community)
    ward = Varchar(length=80, default="")
    birth_year = Integer(null=True, default=None)
    skills = Text(default="")
    # What they would like help with, shown on their profile (issue 18).
    help_wanted = Text(default="")
    # Kept for members who are not online: a coordinator rings them (issue 16).
    phone = Varchar(length=40, default="")
    status = Varchar(length=20)
    hour_account_id = UUID()
    welcome_transfer_id = UUID(null=True, default=None)
    consented_at = Timestamptz(null=True, default=None)
    # Since when a coordinator of their community may act for them (null: may not,
    # unless the member has no login; ADR 0031).
    coordinator_may_act_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    approved_at = Timestamptz(null=True, default=None)
    # "en" or "cy" as the member chose; null: not chosen, the browser decides (ADR 0048).
    language = Varchar(length=8, null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)


class RoleGrant(Table, tablename="member_role_grant"):
    id = UUID(primary_key=True)
    member = ForeignKey(references=Member)
    role = Varchar(length=20)
    community = ForeignKey(references=Community, null=True)
    area = ForeignKey(references=Area, null=True)
    reason = Text()
    granted_by = UUID(null=True, default=None)
    granted_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    revoked_by = UUID(null=True, default=None)
    revoke_reason = Text(null=True, default=None)


class WebSession(Table, tablename="member_session"):
    """A signed-in browser. The cookie holds a random token; we keep its hash."""

    id = UUID(primary_key=True)
    token_hash = Varchar(length=64, unique=True)
    member = ForeignKey(references=Member)
    created_at = Timestamptz()
    last_seen_at = Timestamptz()
    expires_at = Timestamptz()
    ended_at = Timestamptz(null=True, default=None)
    # The member this coordinator's browser acts for, if any (ADR 0031).
    acting_for = UUID(null=True, default=None)


class ApiToken(Table, tablename="member_api_token"):
    id = UUID(primary_key=True)
    token_hash = Varchar(length=64, unique=True)
    member = ForeignKey(references=Member)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class AuditEntry(Table, tablename="member_audit"):
    """Append-only: triggers refuse UPDATE and DELETE on both engines."""

    id = UUID(primary_key=True)
    at = Timestamptz()
    actor_id = UUID(null=True, default=None)
    actor_label = Varchar(length=120)
    action = Varchar(length=60)
    target_type = Varchar(length=40)
    target_id = Varchar(length=64)
    community = ForeignKey(references=Community, null=True)
    reason = Text(default="")
    before_json = Text(default="{}")
    after_json = Text(default="{}")
    request_id = Varchar(length=64, default="")


class AdminNote(Table, tablename="member_admin_note"):
    """An admin's private note on a member (ADR 0033): never shown to the member, in the
    directory or in their export; erased when the account is closed."""

    id = UUID(primary_key=True)
    member = ForeignKey(references=Member)
    body = Text()
    written_by = UUID(null=True, default=None)  # the admin; null once they are erased
    written_at = Timestamptz()
