"""The admin console's rules: suspension, credit limits, member search, the audit log
and ledger health, as service functions (writes) and selectors (reads).

Every function checks that the caller is an admin before it reads anything, so
a non-admin learns nothing (403), and every write runs in one transaction with
its audit line (before and after), shared with the ledger calls it makes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from piccolo.columns.combination import WhereRaw
from piccolo.custom_types import Combinable
from piccolo.engine.base import Engine

from ledger import (
    Account,
    AccountNotFound,
    Ledger,
    LedgerError,
    LimitsBelowPosition,
    Unit,
    WriteTransaction,
    run_write,
)
from service import clock
from service.errors import Conflict, DomainError, Invalid
from service.exchanges.expiry import exchange_cancel_for_suspension, open_exchange_ids_of
from service.exchanges.tables import Exchange, ExchangeRecipient
from service.formatting import minutes_text
from service.http.cursors import cursor_invalid, decode_cursor, encode_cursor
from service.http.principal_cache import principals_changed
from service.i18n import N_, _
from service.limits import PAGE_SIZE_MAX
from service.members.audit import audit_member_change, audit_record
from service.members.tables import ApiToken, Community, Member, WebSession
from service.principal import Principal, not_found, require_admin, require_coordinator_of

SUSPENDABLE_STATUSES = ("active", "pending")
SYSTEM_PURPOSE_NAMES = {
    "issuance": N_("issuance (source of welcome credit)"),
    "pool": N_("pool (donated hours)"),
    "stripe_clearing": N_("Stripe clearing"),
    "donations": N_("donations income"),
    "fees": N_("fees"),
}
_LIKE_ESCAPE = "\\"


# Accounts ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountView:
    """An hours account as the admin console shows it."""

    account_id: uuid.UUID
    owner: str
    member_id: uuid.UUID | None
    community_id: uuid.UUID | None
    balance_minutes: int
    pending_minutes: int
    available_minutes: int
    floor_minutes: int | None
    ceiling_minutes: int | None
    closed: bool


def owner_parts(owner: str) -> tuple[str, uuid.UUID | None, str]:
    """The ledger's owner label split: ("member", id, "") or ("community", id, purpose)."""
    kind, _sep, rest = owner.partition(":")
    ident, _sep, purpose = rest.partition(":")
    try:
        return kind, uuid.UUID(ident), purpose
    except ValueError:
        return kind, None, purpose


def _account_view(account: Account, community_id: uuid.UUID | None) -> AccountView:
    kind, owner_id, _purpose = owner_parts(account.owner)
    return AccountView(
        account_id=account.id,
        owner=account.owner,
        member_id=owner_id if kind == "member" else None,
        community_id=owner_id if kind == "community" else community_id,
        balance_minutes=account.balance_minor,
        pending_minutes=account.debits_pending_minor,
        available_minutes=account.available_minor,
        floor_minutes=account.floor_minor,
        ceiling_minutes=account.ceiling_minor,
        closed=account.closed_at is not None,
    )


async def _hours_account(ledger: Ledger, account_id: uuid.UUID) -> AccountView:
    try:
        account = await ledger.account(account_id=account_id)
    except LedgerError as error:
        if isinstance(error, AccountNotFound):
            raise not_found(_("That account")) from error
        raise
    if account.unit is not Unit.HOUR:
        raise Invalid(
            code="not_an_hours_account",
            detail=_("Only accounts of hours have credit limits in minutes."),
        )
    kind, owner_id, _purpose = owner_parts(account.owner)
    community_id = None
    if kind == "member" and owner_id is not None:
        row = await Member.select(Member.community).where(Member.id == owner_id).first().run()
        community_id = row["community"] if row else None
    return _account_view(account, community_id)


async def account_in_reach(*, ledger: Ledger, actor: Principal, account_id: uuid.UUID) -> None:
    """404 unless the account exists and the actor is an admin (asked before the body)."""
    require_admin(actor)
    try:
        await ledger.account(account_id=account_id)
    except LedgerError as error:
        if isinstance(error, AccountNotFound):
            raise not_found(_("That account")) from error
        raise


async def account_view(*, actor: Principal, ledger: Ledger, account_id: uuid.UUID) -> AccountView:
    require_admin(actor)
    return await _hours_account(ledger, account_id)


async def account_limits_set(
    *,
    engine: Engine[Any],
    ledger: Ledger,
    actor: Principal,
    account_id: uuid.UUID,
    floor_minutes: int,
    ceiling_minutes: int | None,
    reason: str,
) -> AccountView:
    """Change an hours account's floor and ceiling; refused if the account is already past them."""
    require_admin(actor)

    async def work(_transaction: WriteTransaction) -> AccountView:
        before = await _hours_account(ledger, account_id)
        if before.closed:
            raise Conflict(code="account_closed", detail=_("This account is closed."))
        try:
            changed = await ledger.set_limits(
                account_id=account_id, floor_minor=floor_minutes, ceiling_minor=ceiling_minutes
            )
        except LedgerError as error:
            if isinstance(error, LimitsBelowPosition):
                raise _limits_problem(error, floor_minutes, ceiling_minutes) from error
            raise
        after = _account_view(changed, before.community_id)
        await audit_record(
            actor_id=actor.member_id,
            actor_label=actor.label,
            action="account.limits",
            target_type="account",
            target_id=str(account_id),
            community_id=before.community_id,
            reason=reason,
            before=_limits_json(before),
            after=_limits_json(after),
        )
        return after

    return await run_write(engine, work)


def _limits_json(view: AccountView) -> dict[str, Any]:
    return {
        "owner": view.owner,
        "floor_minutes": view.floor_minutes,
        "ceiling_minutes": view.ceiling_minutes,
        "balance_minutes": view.balance_minutes,
        "available_minutes": view.available_minutes,
    }


def _limits_problem(
    error: LedgerError, floor_minutes: int, ceiling_minutes: int | None
) -> DomainError:
    available = int(error.data.get("available_minor") or 0)
    balance = int(error.data.get("balance_minor") or 0)
    if available < floor_minutes:
        field = "floor_minutes"
        detail = _(
            "The floor cannot be above what the account has available "
            "(%(available)s): set it to %(available)s or lower."
        ) % {"available": minutes_text(available)}
    else:
        field = "ceiling_minutes"
        detail = _(
            "The ceiling cannot be below the account's balance and the hours on their way "
            "in; the balance is %(balance)s."
        ) % {"balance": minutes_text(balance)}
    return Conflict(
        code="limits_below_position",
        detail=detail,
        extra={
            "field": field,
            "available_minutes": available,
            "balance_minutes": balance,
            "floor_minutes": floor_minutes,
            "ceiling_minutes": ceiling_minutes,
        },
    )


# Members -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberRow:
    id: uuid.UUID
    display_name: str
    email: str | None
    status: str
    community: str
    community_name: str
    ward: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MemberOverview:
    member: Member
    community: Community
    account: AccountView


async def _member(member_id: uuid.UUID) -> Member:
    member = await Member.objects().where(Member.id == member_id).first().run()
    if member is None:
        raise not_found(_("That member"))
    return member


async def member_overview(
    *, actor: Principal, ledger: Ledger, member_id: uuid.UUID
) -> MemberOverview:
    """A member with their community and hours account, for an admin."""
    require_admin(actor)
    member = await _member(member_id)
    community = await Community.objects().where(Community.id == member.community).first().run()
    assert community is not None  # noqa: S101 - a foreign key
    account = await _hours_account(ledger, member.hour_account_id)
    return MemberOverview(member=member, community=community, account=account)


def _search_where(text: str) -> Combinable:
    """Members whose name or email contains `text` (any case), or whose id it is."""
    try:
        return Member.id == uuid.UUID(text)
    except ValueError:
        pass
    escaped = (
        text.lower()
        .replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
        .replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )
    pattern = f"%{escaped}%"
    # Emails are stored lower-cased; lower() on SQLite folds ASCII letters only.
    return WhereRaw(
        "(lower(member_member.display_name) LIKE {} ESCAPE '\\' "
        "OR member_member.email LIKE {} ESCAPE '\\')",
        pattern,
        pattern,
    )


async def members_search(
    *,
    actor: Principal,
    text: str = "",
    status: str | None = None,
    community: str | None = None,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[MemberRow], str | None]:
    """Members by name, email or id (every member if `text` is blank), by name, one page."""
    require_admin(actor)
    assert 1 <= limit <= PAGE_SIZE_MAX  # noqa: S101 - the caller bounds it
    where: Combinable = Member.id.is_not_null()
    if text.strip():
        where &= _search_where(text.strip())
    if status is not None:
        where &= Member.status == status
    if community is not None:
        where &= Member.community.slug == community
    if cursor is not None:
        name, last_id = decode_cursor(cursor, 2)
        try:
            after_id = uuid.UUID(last_id)
        except ValueError:
            raise cursor_invalid() from None
        where &= (Member.display_name > name) | (
            (Member.display_name == name) & (Member.id > after_id)
        )
    rows = (
        await Member.select(
            Member.id,
            Member.display_name,
            Member.email,
            Member.status,
            Member.community.slug.as_alias("community_slug"),
            Member.community.name.as_alias("community_name"),
            Member.ward,
            Member.created_at,
        )
        .where(where)
        .order_by(Member.display_name, Member.id)
        .limit(limit + 1)
        .run()
    )
    found = [
        MemberRow(
            id=row["id"],
            display_name=row["display_name"],
            email=row["email"],
            status=row["status"],
            community=row["community_slug"],
            community_name=row["community_name"],
            ward=row["ward"],
            created_at=row["created_at"],
        )
        for row in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = found[-1]
        next_cursor = encode_cursor(last.display_name, str(last.id))
    return found, next_cursor


async def member_recent_exchange_ids(
    *, actor: Principal, member_id: uuid.UUID, limit: int
) -> list[uuid.UUID]:
    """The member's latest exchanges (as provider or recipient), newest first."""
    require_admin(actor)
    as_recipient = Exchange.id.is_in(
        ExchangeRecipient.select(ExchangeRecipient.exchange).where(
            ExchangeRecipient.member == member_id
        )
    )
    rows = (
        await Exchange.select(Exchange.id)
        .where((Exchange.provider == member_id) | as_recipient)
        .order_by(Exchange.created_at, Exchange.id, ascending=False)
        .limit(limit)
        .run()
    )
    return [row["id"] for row in rows]


async def member_names(member_ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    ids = list({member_id for member_id in member_ids if member_id is not None})
    if not ids:
        return {}
    rows = await Member.select(Member.id, Member.display_name).where(Member.id.is_in(ids)).run()
    return {row["id"]: row["display_name"] for row in rows}


async def member_id_by_email(email: str) -> uuid.UUID | None:
    row = await Member.select(Member.id).where(Member.email == email.strip().lower()).first().run()
    return None if row is None else uuid.UUID(str(row["id"]))


# Suspension -------------------------------------------------------------------------


def _state_problem(code: str, detail: str, status: str) -> DomainError:
    return Conflict(code=code, detail=detail, extra={"member_status": status})


async def member_suspend(
    *,
    engine: Engine[Any],
    ledger: Ledger,
    actor: Principal,
    member_id: uuid.UUID,
    reason: str,
    pending_review: bool = False,
) -> Member:
    """Suspend a member: they cannot sign in or move hours, and their open exchanges end.

    `pending_review`: suspended from a safeguarding concern (service/concerns/), where
    a coordinator of the member's own community may do it too, until an admin reviews.

    In one write transaction: the status flips (a conditional UPDATE, so of two
    admins at once exactly one succeeds), every proposed or accepted exchange
    they take part in is cancelled with its holds voided, their sessions end,
    their API tokens are revoked, and the audit log records all of it.
    """
    if pending_review and not actor.is_admin:
        require_coordinator_of(actor, (await _member(member_id)).community)
    else:
        require_admin(actor)
    if member_id == actor.member_id:
        raise Conflict(
            code="cannot_suspend_self",
            detail=_("You cannot suspend your own account. Ask another admin."),
        )

    async def work(_transaction: WriteTransaction) -> None:
        member = await _member(member_id)
        if member.status == "suspended":
            raise _state_problem(
                "already_suspended", _("This member is already suspended."), "suspended"
            )
        if member.status not in SUSPENDABLE_STATUSES:
            raise _state_problem(
                "member_closed",
                _("This account is closed, so it cannot be suspended."),
                member.status,
            )
        await _flip_status(member_id, source=member.status, target="suspended")
        open_ids = await open_exchange_ids_of(member_id)
        outcomes = {
            str(exchange_id): await exchange_cancel_for_suspension(
                engine=engine, ledger=ledger, actor=actor, exchange_id=exchange_id
            )
            for exchange_id in open_ids
        }
        sessions, tokens = await _end_credentials(member_id)
        await audit_member_change(
            actor,
            action="member.suspend_pending_review" if pending_review else "member.suspend",
            member_id=member_id,
            community_id=member.community,
            reason=reason,
            before={"status": member.status, "open_exchanges": sorted(outcomes)},
            after={
                "status": "suspended",
                "exchanges": outcomes,
                "sessions_ended": sessions,
                "tokens_revoked": tokens,
            },
        )

    await run_write(engine, work)
    return await _member(member_id)


async def member_reinstate(
    *, engine: Engine[Any], actor: Principal, member_id: uuid.UUID, reason: str
) -> Member:
    """Lift a suspension: active again, or back to waiting if never approved.

    Exchanges cancelled by the suspension stay cancelled, and the member signs
    in afresh (their sessions and tokens ended with the suspension).
    """
    require_admin(actor)

    async def work(_transaction: WriteTransaction) -> None:
        member = await _member(member_id)
        if member.status != "suspended":
            raise _state_problem(
                "not_suspended",
                _("This member is not suspended, so there is nothing to lift."),
                member.status,
            )
        target = "active" if member.approved_at is not None else "pending"
        await _flip_status(member_id, source="suspended", target=target)
        await audit_member_change(
            actor,
            action="member.reinstate",
            member_id=member_id,
            community_id=member.community,
            reason=reason,
            before={"status": "suspended"},
            after={"status": target},
        )

    await run_write(engine, work)
    return await _member(member_id)


async def _flip_status(member_id: uuid.UUID, *, source: str, target: str) -> None:
    principals_changed()  # the version moves once this commits (ADR 0043)
    flipped = (
        await Member.update({Member.status: target})
        .where((Member.id == member_id) & (Member.status == source))
        .returning(Member.id)
        .run()
    )
    if not flipped:
        # Someone changed the member between our read and this write.
        raise Conflict(
            code="member_changed",
            detail=_("This member was changed at the same moment. Please look again and retry."),
        )


async def _end_credentials(member_id: uuid.UUID) -> tuple[int, int]:
    """End every web session and revoke every API token; returns how many of each."""
    now = clock.utc_now()
    principals_changed()  # the version moves once this commits (ADR 0043)
    sessions = (
        await WebSession.update({WebSession.ended_at: now})
        .where((WebSession.member == member_id) & WebSession.ended_at.is_null())
        .returning(WebSession.id)
        .run()
    )
    tokens = (
        await ApiToken.update({ApiToken.revoked_at: now})
        .where((ApiToken.member == member_id) & ApiToken.revoked_at.is_null())
        .returning(ApiToken.id)
        .run()
    )
    return len(sessions), len(tokens)
