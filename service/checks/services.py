"""Safeguarding checks (issue 18 item 5, ADR 0035): coordinators record them, exchanges
of help in someone's home ask for them, and a sweep warns before they run out.

A check is valid on a day when it was made on or before that day and has no expiry
or expires after it. A community with `home_check_required` refuses to propose or
accept an exchange flagged "in the member's home" unless its helper (the provider)
holds a valid check of any kind; the refusal is 409 `safeguarding_check_required`,
and the community's coordinators get a notice, written in a transaction of its own
because the refused request writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from piccolo.engine.base import Engine

from ledger import run_write
from ledger.transactions import WriteTransaction
from service import clock
from service.checks.schemas import CHECK_KIND_NAMES, CheckIn, CheckOut
from service.checks.tables import RefusalTold, SafeguardingCheck
from service.errors import Conflict, invalid_field
from service.formatting import date_words
from service.i18n import _
from service.limits import CHECK_EXPIRY_WARNING_DAYS, CHECKS_LISTED_MAX
from service.members.audit import audit_record
from service.members.mailing import mail_member
from service.members.selectors import coordinator_ids_of
from service.members.services import open_member_in_scope
from service.members.tables import Community, Member
from service.principal import Principal


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def is_valid_on(row: dict[str, Any], day: date) -> bool:
    expires_on = row["expires_on"]
    return _day(row["checked_on"]) <= day and (expires_on is None or _day(expires_on) > day)


def check_out(row: dict[str, Any], today: date) -> CheckOut:
    return CheckOut(
        id=row["id"],
        member_id=row["member"],
        kind=row["kind"],
        checked_on=_day(row["checked_on"]),
        expires_on=None if row["expires_on"] is None else _day(row["expires_on"]),
        valid=is_valid_on(row, today),
        recorded_at=row["recorded_at"],
    )


async def checks_of(member_id: uuid.UUID) -> list[CheckOut]:
    """A member's checks, newest first (the desk's member file and their export)."""
    rows = (
        await SafeguardingCheck.select()
        .where(SafeguardingCheck.member == member_id)
        .order_by(SafeguardingCheck.checked_on, ascending=False)
        .limit(CHECKS_LISTED_MAX)
        .run()
    )
    today = clock.local_today()
    return [check_out(row, today) for row in rows]


async def has_valid_check(member_id: uuid.UUID, day: date) -> bool:
    rows = (
        await SafeguardingCheck.select(SafeguardingCheck.checked_on, SafeguardingCheck.expires_on)
        .where(SafeguardingCheck.member == member_id)
        .run()
    )
    return any(is_valid_on(row, day) for row in rows)


async def check_record(
    *, engine: Engine[Any], actor: Principal, member_id: uuid.UUID, data: CheckIn
) -> CheckOut:
    """A coordinator of the member's community (or an admin) records a check; audited."""
    community_id = await open_member_in_scope(actor, member_id)
    today = clock.local_today()
    if data.checked_on > today:
        raise invalid_field("checked_on", _("cannot be in the future"))
    if data.expires_on is not None and data.expires_on <= data.checked_on:
        raise invalid_field("expires_on", _("must be after the day of the check"))
    now = clock.utc_now()
    row = {
        "id": uuid.uuid4(),
        "member": member_id,
        "kind": data.kind,
        "checked_on": data.checked_on,
        "expires_on": data.expires_on,
        "recorded_at": now,
    }

    async def work(_transaction: WriteTransaction) -> None:
        await SafeguardingCheck.insert(
            SafeguardingCheck(
                id=row["id"],
                member=member_id,
                kind=data.kind,
                checked_on=data.checked_on,
                expires_on=data.expires_on,
                recorded_by=actor.member_id,
                recorded_at=now,
            )
        ).run()
        await audit_record(
            actor_id=actor.member_id,
            actor_label=actor.label,
            action="check.record",
            target_type="member",
            target_id=str(member_id),
            community_id=community_id,
            after={
                "kind": data.kind,
                "checked_on": data.checked_on.isoformat(),
                "expires_on": data.expires_on.isoformat() if data.expires_on else None,
            },
        )

    await run_write(engine, work)
    return check_out(row, today)


async def _tell_coordinators(
    transaction: WriteTransaction,
    community_id: uuid.UUID,
    kind: str,
    context: dict[str, Any],
) -> None:
    for coordinator_id in await coordinator_ids_of(community_id):
        await mail_member(transaction, member_id=coordinator_id, kind=kind, context=context)


async def home_check_refusal(
    *,
    engine: Engine[Any],
    community_id: uuid.UUID,
    helper_id: uuid.UUID,
    exchange_id: uuid.UUID | None,
) -> None:
    """Refuse help in someone's home when the community asks for a check the helper lacks.

    Call before the exchange's own write transaction: the coordinators' notice is
    written in a transaction of its own, since the refused step writes nothing.
    """
    community = (
        await Community.select(Community.home_check_required)
        .where(Community.id == community_id)
        .first()
        .run()
    )
    if community is None or not community["home_check_required"]:
        return
    if await has_valid_check(helper_id, clock.local_today()):
        return
    helper = await Member.select(Member.display_name).where(Member.id == helper_id).first().run()
    context = {
        "about_member_id": str(helper_id),
        "member_name": helper["display_name"] if helper else "",
        "exchange_id": str(exchange_id) if exchange_id else "",
    }

    async def tell(transaction: WriteTransaction) -> None:
        # Once a day per helper: a member trying again should not flood the coordinators.
        first_today = (
            await RefusalTold.insert(
                RefusalTold(helper=helper_id, community=community_id, told_on=clock.local_today())
            )
            .on_conflict(action="DO NOTHING")
            .returning(RefusalTold.helper)
            .run()
        )
        if first_today:
            await _tell_coordinators(transaction, community_id, "check_required", context)

    await run_write(engine, tell)
    raise Conflict(
        code="safeguarding_check_required",
        detail=_(
            "Help in someone's home needs the helper's safeguarding check, and theirs is "
            "missing or out of date. The coordinators have been told."
        ),
        extra={"member_id": str(helper_id)},
    )


async def checks_expiry_sweep(*, engine: Engine[Any], now: datetime) -> int:
    """Tell coordinators, once, of checks that run out within CHECK_EXPIRY_WARNING_DAYS.

    A check already replaced by a later one of the same kind is not worth a warning.
    """
    today = clock.local_day(now)
    horizon = today + timedelta(days=CHECK_EXPIRY_WARNING_DAYS)
    rows = (
        await SafeguardingCheck.select(
            SafeguardingCheck.id,
            SafeguardingCheck.member,
            SafeguardingCheck.kind,
            SafeguardingCheck.expires_on,
            SafeguardingCheck.member.community.as_alias("community"),
            SafeguardingCheck.member.display_name.as_alias("member_name"),
            SafeguardingCheck.member.status.as_alias("member_status"),
        )
        .where(
            SafeguardingCheck.reminded_at.is_null()
            & SafeguardingCheck.expires_on.is_not_null()
            & (SafeguardingCheck.expires_on <= horizon)
            & (SafeguardingCheck.expires_on > today)
        )
        .run()
    )
    due = [row for row in rows if row["member_status"] != "closed"]
    told = 0
    for row in due:
        if await _replaced(row, today):
            continue

        async def work(transaction: WriteTransaction, row: dict[str, Any] = row) -> bool:
            claimed = (
                await SafeguardingCheck.update({SafeguardingCheck.reminded_at: now})
                .where(
                    (SafeguardingCheck.id == row["id"]) & SafeguardingCheck.reminded_at.is_null()
                )
                .returning(SafeguardingCheck.id)
                .run()
            )
            if not claimed:
                return False  # another worker told them
            context = {
                "about_member_id": str(row["member"]),
                "member_name": row["member_name"],
                "check_name": CHECK_KIND_NAMES[row["kind"]],
                "expires_on": date_words(_day(row["expires_on"])),
                "expires_day": _day(row["expires_on"]).isoformat(),
            }
            await _tell_coordinators(transaction, row["community"], "check_expiring", context)
            return True

        if await run_write(engine, work):
            told += 1
    return told


async def _replaced(row: dict[str, Any], today: date) -> bool:
    others = (
        await SafeguardingCheck.select(SafeguardingCheck.expires_on, SafeguardingCheck.checked_on)
        .where(
            (SafeguardingCheck.member == row["member"])
            & (SafeguardingCheck.kind == row["kind"])
            & (SafeguardingCheck.id != row["id"])
        )
        .run()
    )
    expiry = _day(row["expires_on"])
    return any(
        is_valid_on(other, today)
        and (other["expires_on"] is None or _day(other["expires_on"]) > expiry)
        for other in others
    )


async def checks_erase(member_ids: Iterable[uuid.UUID]) -> None:
    """A closing member's checks go with their personal data (inside the closure)."""
    for member_id in member_ids:
        await SafeguardingCheck.delete().where(SafeguardingCheck.member == member_id).run()
        await RefusalTold.delete().where(RefusalTold.helper == member_id).run()
