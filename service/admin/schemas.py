"""Request and response shapes of the admin console's API (msgspec: validation is declared)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from service.limits import ACCOUNT_CEILING_MINUTES_MAX, ACCOUNT_FLOOR_MINUTES_MIN
from service.members.schemas import MemberStatus, Reason, RoleOut, Strict

FloorMinutes = Annotated[int, Meta(ge=ACCOUNT_FLOOR_MINUTES_MIN, le=0)]
CeilingMinutes = Annotated[int, Meta(ge=0, le=ACCOUNT_CEILING_MINUTES_MAX)]


class MemberStatusIn(Strict):
    """Suspend a member, or reinstate a suspended one; the reason goes in the audit log."""

    action: Literal["suspend", "reinstate"]
    reason: Reason


class LimitsIn(Strict):
    """New limits of an hours account: both are given every time (PUT replaces them).

    `ceiling_minutes` is required but may be null (no ceiling), so that leaving
    it out by mistake cannot silently remove a ceiling.
    """

    floor_minutes: FloorMinutes
    ceiling_minutes: CeilingMinutes | None
    reason: Reason


class AdminAccountOut(msgspec.Struct, kw_only=True):
    account_id: uuid.UUID
    unit: Literal["HOUR"]
    owner: str  # the ledger's owner label: member:<id> or community:<id>:<purpose>
    member_id: uuid.UUID | None
    balance_minutes: int
    pending_minutes: int
    available_minutes: int
    floor_minutes: int | None
    ceiling_minutes: int | None
    closed: bool


class AdminMemberOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    display_name: str
    email: str | None
    status: MemberStatus
    community: str
    community_id: uuid.UUID
    ward: str
    roles: list[RoleOut]
    created_at: datetime
    approved_at: datetime | None
    account: AdminAccountOut


class MemberRowOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    display_name: str
    email: str | None
    status: MemberStatus
    community: str
    ward: str
    created_at: datetime


class MemberPage(msgspec.Struct, kw_only=True):
    items: list[MemberRowOut]
    next_cursor: str | None


class AuditEntryOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    at: datetime
    actor_id: uuid.UUID | None
    actor_label: str
    actor_name: str | None
    action: str
    target_type: str
    target_id: str
    community_id: uuid.UUID | None
    reason: str
    before: dict[str, Any]
    after: dict[str, Any]
    request_id: str


class AuditPage(msgspec.Struct, kw_only=True):
    items: list[AuditEntryOut]
    next_cursor: str | None


class VerifyProblemOut(msgspec.Struct, kw_only=True):
    check: str
    detail: str
    account_id: uuid.UUID | None
    version: int | None
    transfer_id: uuid.UUID | None


class VerifyOut(msgspec.Struct, kw_only=True):
    ok: bool
    checked_accounts: int
    checked_entries: int
    checked_transfers: int
    units: list[str]
    # verify() stops at the first discrepancy: at most one problem is listed.
    problems: list[VerifyProblemOut]
    summary: str


class TrialBalanceAccountOut(msgspec.Struct, kw_only=True):
    account_id: uuid.UUID
    owner: str
    debits_posted_minor: int
    credits_posted_minor: int
    balance_minor: int


class TrialBalanceUnitOut(msgspec.Struct, kw_only=True):
    unit: str
    minor_unit: Literal["minute", "penny"]
    accounts: list[TrialBalanceAccountOut]
    total_debits_minor: int
    total_credits_minor: int
    sum_of_balances_minor: int  # zero when the unit balances
    balanced: bool


class TrialBalanceOut(msgspec.Struct, kw_only=True):
    units: list[TrialBalanceUnitOut]
    balanced: bool


class AdminNoteOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    body: str
    written_by: str  # the admin's display name
    written_at: datetime


class AdminNotesOut(msgspec.Struct, kw_only=True):
    items: list[AdminNoteOut]
