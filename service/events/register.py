"""The register after a meeting, and the hosts' hours for it (ADR 0041).

From the meeting's start on, a coordinator records who came. The first register also
credits each host `host_minutes` from the community pool, in ONE ledger chain whose
transfer ids are derived from the meeting (`ids.py`); the meeting's `credited_at` is
claimed in the same write, so a repeated or concurrent register corrects who came
but never moves hours twice, and answers with the same credits. An empty pool refuses
the whole register (409 `pool_insufficient`): nothing is half written.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from piccolo.engine.base import Engine

from ledger import ExceedsFloor, Ledger, LedgerError, NewTransfer, Unit, run_write
from ledger.transactions import WriteTransaction
from service import clock
from service.errors import Conflict, invalid_field
from service.events.common import (
    aware,
    lock_occurrence,
    require_event_coordinator,
    visible_occurrence,
)
from service.events.ids import host_credit_chain_id, host_credit_id
from service.events.schemas import AttendanceIn, AttendanceOut, HostCreditOut
from service.events.tables import EventAttendance, EventHost, EventOccurrence
from service.formatting import date_words
from service.i18n import _
from service.members.audit import audit_record
from service.members.tables import Community, Member
from service.principal import Principal
from service.rollups.services import record_pool_flow

HOST_CREDIT_CODE = "grant"  # a grant from the pool, as reports and `reports rebuild` read it


async def _community_members(community_id: uuid.UUID, ids: list[uuid.UUID]) -> list[uuid.UUID]:
    unique = list(dict.fromkeys(ids))
    if not unique:
        return []
    rows = (
        await Member.select(Member.id)
        .where(Member.id.is_in(unique) & (Member.community == community_id))
        .run()
    )
    if len(rows) != len(unique):
        raise invalid_field("attended_ids", _("every one must be a member of the community"))
    return unique


async def hosts_of(series_id: uuid.UUID) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        await EventHost.select(
            EventHost.member,
            EventHost.member.hour_account_id.as_alias("account_id"),
            EventHost.member.display_name.as_alias("display_name"),
        )
        .where(EventHost.series == series_id)
        .order_by(EventHost.member)
        .run()
    )
    return rows


def _credits(row: dict[str, Any], hosts: list[dict[str, Any]]) -> list[HostCreditOut]:
    """The hosts' credits of a meeting, worked out from the meeting alone (same answer
    on every repeat)."""
    if row["credited_at"] is None or row["host_minutes"] <= 0:
        return []
    return [
        HostCreditOut(
            member_id=host["member"],
            minutes=row["host_minutes"],
            transfer_id=host_credit_id(row["id"], host["member"]),
        )
        for host in hosts
    ]


async def attendance_of(occurrence_id: uuid.UUID) -> list[uuid.UUID]:
    rows = (
        await EventAttendance.select(EventAttendance.member)
        .where(EventAttendance.occurrence == occurrence_id)
        .order_by(EventAttendance.member)
        .run()
    )
    return [row["member"] for row in rows]


async def attendance_record(
    *,
    engine: Engine[Any],
    ledger: Ledger,
    actor: Principal,
    occurrence_id: uuid.UUID,
    data: AttendanceIn,
    now: datetime | None = None,
) -> AttendanceOut:
    """Record who came; the first time, credit the hosts from the pool (audited)."""
    row = await visible_occurrence(actor, occurrence_id)
    require_event_coordinator(actor, row["community"])
    now = now or clock.utc_now()
    if row["cancelled_at"] is not None:
        raise Conflict(code="event_cancelled", detail=_("That meeting was cancelled."))
    if now < aware(row["starts_at"]):
        raise Conflict(
            code="event_not_started",
            detail=_("The register can be taken once the meeting has started."),
        )
    attended = await _community_members(row["community"], data.attended_ids)
    hosts = await hosts_of(row["series"])

    async def work(_transaction: WriteTransaction) -> datetime | None:
        await lock_occurrence(occurrence_id)
        await _write_register(occurrence_id, attended, actor, now)
        claimed = (
            await EventOccurrence.update(
                {EventOccurrence.credited_at: now, EventOccurrence.register_taken_at: now}
            )
            .where((EventOccurrence.id == occurrence_id) & EventOccurrence.credited_at.is_null())
            .returning(EventOccurrence.id)
            .run()
        )
        if not claimed:
            again = (
                await EventOccurrence.select(EventOccurrence.credited_at)
                .where(EventOccurrence.id == occurrence_id)
                .first()
                .run()
            )
            return None if again is None else aware(again["credited_at"])
        await _credit_hosts(ledger, actor, row, hosts)
        await audit_record(
            actor_id=actor.member_id,
            actor_label=actor.label,
            action="event.register",
            target_type="event",
            target_id=str(occurrence_id),
            community_id=row["community"],
            after={
                "attended": len(attended),
                "hosts_credited": len(hosts) if row["host_minutes"] > 0 else 0,
                "host_minutes": row["host_minutes"],
            },
        )
        return now

    credited_at = await run_write(engine, work)
    return AttendanceOut(
        event_id=occurrence_id,
        attended_ids=sorted(attended),
        hosts_credited=_credits({**row, "credited_at": credited_at}, hosts),
        credited_at=credited_at,
    )


async def _write_register(
    occurrence_id: uuid.UUID, attended: list[uuid.UUID], actor: Principal, now: datetime
) -> None:
    """The register as given: a corrected one replaces the last (credits stay as they were)."""
    await (
        EventAttendance.delete()
        .where(
            (EventAttendance.occurrence == occurrence_id) & EventAttendance.member.not_in(attended)
            if attended
            else EventAttendance.occurrence == occurrence_id
        )
        .run()
    )
    already = set(await attendance_of(occurrence_id))
    new = [member for member in attended if member not in already]
    if new:
        await EventAttendance.insert(
            *[
                EventAttendance(
                    id=uuid.uuid4(),
                    occurrence=occurrence_id,
                    member=member,
                    recorded_by=actor.member_id,
                    recorded_at=now,
                )
                for member in new
            ]
        ).run()


async def _credit_hosts(
    ledger: Ledger, actor: Principal, row: dict[str, Any], hosts: list[dict[str, Any]]
) -> None:
    minutes = row["host_minutes"]
    if minutes <= 0 or not hosts:
        return
    community = (
        await Community.select(Community.pool_account_id)
        .where(Community.id == row["community"])
        .first()
        .run()
    )
    assert community is not None  # noqa: S101 - foreign key
    pool_account_id = community["pool_account_id"]
    starts_at = aware(row["starts_at"])
    memo = f"Hosting {row['title']} on {date_words(starts_at)}"
    operations = [
        NewTransfer(
            id=host_credit_id(row["id"], host["member"]),
            debit_account_id=pool_account_id,
            credit_account_id=host["account_id"],
            amount_minor=minutes,
            unit=Unit.HOUR,
            code=HOST_CREDIT_CODE,
            actor=actor.label,
            memo=memo,
            effective_at=starts_at,
        )
        for host in hosts
    ]
    try:
        transfers = await ledger.chain(
            operations=operations, chain_id=host_credit_chain_id(row["id"])
        )
    except LedgerError as error:
        if isinstance(error, ExceedsFloor) and error.data.get("account_id") == str(pool_account_id):
            raise Conflict(
                code="pool_insufficient",
                detail=_(
                    "The pool has only %(minutes)s minutes, "
                    "not enough to credit the hosts. Nothing was recorded."
                )
                % {"minutes": error.data.get("available_minor")},
                extra={"available_minutes": error.data.get("available_minor")},
            ) from error
        raise
    for host, transfer in zip(hosts, transfers, strict=True):
        await record_pool_flow(
            transfer_id=transfer.id,
            kind="grant",
            community_id=row["community"],
            member_id=host["member"],
            minutes=minutes,
            at=starts_at,
        )
