"""Gifts, pool donations, pool grants and statements: hours moved outside exchanges."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from piccolo.engine.base import Engine

from ledger import (
    Ledger,
    LedgerError,
    Transfer,
    Unit,
    WriteTransaction,
    run_write,
    write_transaction,
)
from ledger.errors import TransferNotFound
from service import database
from service.http.idempotency import derived_id
from service.members.audit import audit_record
from service.members.tables import Community, Member
from service.principal import Principal, not_found, require_active, require_coordinator_of
from service.problems import Problem
from service.rollups.services import record_pool_flow


@dataclass(frozen=True, slots=True)
class Party:
    """One side of a transfer as a member sees it: a person or a community account."""

    kind: str  # "member" or a community account purpose ("pool", "issuance", ...)
    member_id: uuid.UUID | None
    display_name: str


async def _member_by_account(account_id: uuid.UUID) -> Member | None:
    return await Member.objects().where(Member.hour_account_id == account_id).first().run()


_PURPOSE_NAMES = {
    "pool": "Community pool",
    "issuance": "Welcome credit",
}


async def party_of(account_id: uuid.UUID) -> Party:
    member = await _member_by_account(account_id)
    if member is not None:
        return Party("member", member.id, member.display_name)
    for purpose, label in _PURPOSE_NAMES.items():
        column = getattr(Community, f"{purpose}_account_id")
        community = await Community.objects().where(column == account_id).first().run()
        if community is not None:
            return Party(purpose, None, f"{label} ({community.name})")
    return Party("system", None, "Timebank")


async def gift(
    *,
    ledger: Ledger,
    principal: Principal,
    minutes: int,
    to_member_id: uuid.UUID | None,
    to_pool: bool,
    memo: str,
    idempotency_key: str | None,
) -> Transfer:
    """A member gives hours to another member, or donates them to their community's pool."""
    require_active(principal)
    sender = await Member.objects().where(Member.id == principal.member_id).first().run()
    if sender is None:
        raise not_found("That member")
    if to_pool:
        community = await Community.objects().where(Community.id == sender.community).first().run()
        assert community is not None  # noqa: S101 - members always have a community
        credit_account, code = community.pool_account_id, "donation"
    else:
        recipient = await _gift_recipient(sender, to_member_id)
        credit_account, code = recipient.hour_account_id, "gift"

    async def post(_transaction: WriteTransaction) -> Transfer:
        transfer = await ledger.transfer(
            id=derived_id(caller_id=principal.member_id, key=idempotency_key, purpose=code),
            debit_account_id=sender.hour_account_id,
            credit_account_id=credit_account,
            amount_minor=minutes,
            unit=Unit.HOUR,
            code=code,
            actor=principal.label,
            memo=memo,
        )
        if to_pool:  # council figures count donations, in the same transaction
            await record_pool_flow(
                transfer_id=transfer.id,
                kind="donation",
                community_id=sender.community,
                member_id=sender.id,
                minutes=transfer.amount_minor,
                at=transfer.effective_at,
            )
        return transfer

    return await run_write(database.active_engine(), post)


async def _gift_recipient(sender: Member, to_member_id: uuid.UUID | None) -> Member:
    if to_member_id == sender.id:
        raise Problem(status=422, code="gift_to_self", detail="You cannot give hours to yourself.")
    recipient = await Member.objects().where(Member.id == to_member_id).first().run()
    if recipient is None or recipient.status != "active":
        raise not_found("That member")
    return recipient


async def pool_grant(
    *,
    engine: Engine[Any],
    ledger: Ledger,
    principal: Principal,
    member_id: uuid.UUID,
    minutes: int,
    reason: str,
    idempotency_key: str | None,
) -> Transfer:
    """A coordinator grants hours from the community pool to a member in need (audited)."""
    member = await Member.objects().where(Member.id == member_id).first().run()
    if member is None:
        raise not_found("That member")
    require_coordinator_of(principal, member.community)
    if member.status != "active":
        raise Problem(status=409, code="member_not_active", detail="That member is not active.")
    community = await Community.objects().where(Community.id == member.community).first().run()
    assert community is not None  # noqa: S101 - foreign key
    async with write_transaction(engine):
        try:
            transfer = await ledger.transfer(
                id=derived_id(caller_id=principal.member_id, key=idempotency_key, purpose="grant"),
                debit_account_id=community.pool_account_id,
                credit_account_id=member.hour_account_id,
                amount_minor=minutes,
                unit=Unit.HOUR,
                code="grant",
                actor=principal.label,
                memo=reason,
            )
        except LedgerError as error:
            if error.code == "exceeds_floor" and error.data.get("account_id") == str(
                community.pool_account_id
            ):
                raise Problem(
                    status=409,
                    code="pool_insufficient",
                    detail=f"The pool has only {error.data.get('available_minor')} minutes.",
                    extra={"available_minutes": error.data.get("available_minor")},
                ) from error
            raise
        await record_pool_flow(
            transfer_id=transfer.id,
            kind="grant",
            community_id=community.id,
            member_id=member.id,
            minutes=transfer.amount_minor,
            at=transfer.effective_at,
        )
        await audit_record(
            actor_id=principal.member_id,
            actor_label=principal.label,
            action="pool.grant",
            target_type="member",
            target_id=str(member.id),
            community_id=community.id,
            reason=reason,
            after={"minutes": minutes, "transfer_id": str(transfer.id)},
        )
    return transfer


async def transfer_visible_to(
    *, ledger: Ledger, principal: Principal, transfer_id: uuid.UUID
) -> Transfer:
    """A transfer, for its parties, their communities' coordinators and admins; else 404."""
    try:
        transfer = await ledger.get_transfer(transfer_id=transfer_id)
    except TransferNotFound:
        raise not_found("That transfer") from None
    if principal.is_admin:
        return transfer
    for account_id in (transfer.debit_account_id, transfer.credit_account_id):
        member = await _member_by_account(account_id)
        if member is not None and (
            member.id == principal.member_id or principal.coordinates(member.community)
        ):
            return transfer
    raise not_found("That transfer")


@dataclass(frozen=True, slots=True)
class StatementItem:
    transfer_id: uuid.UUID
    code: str
    counterparty: str
    minutes: int
    balance_after_minutes: int
    memo: str
    effective_at: datetime
    recorded_at: datetime
    on_hold: bool


async def statement_page(
    *, ledger: Ledger, principal: Principal, limit: int, cursor: str | None
) -> tuple[list[StatementItem], str | None]:
    member = await Member.objects().where(Member.id == principal.member_id).first().run()
    if member is None:
        raise not_found("That member")
    page = await ledger.statement(account_id=member.hour_account_id, limit=limit, cursor=cursor)
    names: dict[uuid.UUID, str] = {}
    items = []
    for line in page.lines:
        transfer = line.transfer
        other = (
            transfer.credit_account_id
            if transfer.debit_account_id == member.hour_account_id
            else transfer.debit_account_id
        )
        if other not in names:
            names[other] = (await party_of(other)).display_name
        items.append(
            StatementItem(
                transfer_id=transfer.id,
                code=transfer.code,
                counterparty=names[other],
                minutes=line.change_minor,
                balance_after_minutes=line.balance_after_minor,
                memo=transfer.memo,
                effective_at=transfer.effective_at,
                recorded_at=line.recorded_at,
                on_hold=transfer.kind.value == "pending",
            )
        )
    return items, page.next_cursor


STATEMENT_CSV_COLUMNS = (
    "recorded_at",
    "effective_at",
    "code",
    "counterparty",
    "minutes",
    "balance_after_minutes",
    "memo",
    "transfer_id",
)


async def statement_csv(*, ledger: Ledger, principal: Principal) -> str:
    """The whole statement, newest first, as CSV (cells that look like formulas are quoted)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(STATEMENT_CSV_COLUMNS)
    cursor: str | None = None
    while True:
        items, cursor = await statement_page(
            ledger=ledger, principal=principal, limit=500, cursor=cursor
        )
        for item in items:
            writer.writerow(
                [
                    item.recorded_at.isoformat(),
                    item.effective_at.isoformat(),
                    item.code,
                    _csv_safe(item.counterparty),
                    item.minutes,
                    item.balance_after_minutes,
                    _csv_safe(item.memo),
                    str(item.transfer_id),
                ]
            )
        if cursor is None:
            return buffer.getvalue()


def _csv_safe(text: str) -> str:
    # Spreadsheets run cells starting with these as formulas (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
