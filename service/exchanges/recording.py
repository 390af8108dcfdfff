"""A coordinator records an exchange that already happened, for members not online."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from piccolo.engine.base import Engine

from ledger import (
    ExceedsFloor,
    Ledger,
    LedgerError,
    NewTransfer,
    Unit,
    WriteTransaction,
    run_write,
)
from service import clock
from service.errors import Invalid, invalid_field
from service.exchanges.ids import (
    record_transfer_id,
    recording_id,
)
from service.exchanges.schemas import RecordIn
from service.exchanges.selectors import (
    Party,
    people_of,
)
from service.exchanges.services import EXCHANGE_CODE
from service.exchanges.steps import (
    description_checked,
    history_event,
    insufficient_credit,
    service_date_checked,
    service_date_problems,
)
from service.exchanges.tables import Exchange, ExchangeRecipient
from service.formatting import iso_day
from service.i18n import _
from service.limits import MEMO_CHARS_MAX
from service.members.accounts import member_account_id
from service.members.audit import audit_record
from service.principal import Principal, not_found
from service.rollups.services import record_exchange_flow


async def recorded_parties(
    actor: Principal, data: RecordIn, *, provider_records: bool = False
) -> dict[uuid.UUID, Party]:
    """Both members, active, in a community the actor coordinates (admins: any); with
    `provider_records`, the provider may record it too (a pair's visit, ADR 0040)."""
    people = await people_of([data.provider_id, data.recipient_id])
    by_provider = provider_records and actor.member_id == data.provider_id
    for member_id in (data.provider_id, data.recipient_id):
        person = people.get(member_id)
        # Coordinators reach members of their own community only: others are "not found".
        if person is None or person.community_id is None:
            raise not_found("That member")
        if not (by_provider or actor.is_admin or actor.coordinates(person.community_id)):
            raise not_found("That member")
    for field, member_id in (
        ("provider_id", data.provider_id),
        ("recipient_id", data.recipient_id),
    ):
        if people[member_id].status != "active":
            raise invalid_field(field, f"{member_id} is not an active member")
    return people


def record_problems(
    provider_id: uuid.UUID | None, recipient_id: uuid.UUID | None, service_date: datetime | None
) -> list[Invalid]:
    """What is wrong with a recording before anything is read: the same member on both
    sides, a date out of range. Each part may be missing (None): a form asks this with
    what it could read, so every error shows at once."""
    problems: list[Invalid] = []
    if provider_id is not None and provider_id == recipient_id:
        problems.append(
            invalid_field("recipient_id", _("the provider cannot also be the recipient"))
        )
    return problems + service_date_problems(service_date, future_allowed=False)


async def exchange_record(
    *,
    engine: Engine[Any],
    ledger: Ledger,
    actor: Principal,
    data: RecordIn,
    idempotency_key: str | None = None,
    keyed_id: uuid.UUID | None = None,
    in_home: bool = False,
    provider_records: bool = False,
) -> uuid.UUID:
    """Record a completed exchange for two members: one transfer, dated the service date.

    `keyed_id`, when given, is the id to use (a pair's visit derives it from its plan
    and date, ADR 0040), so recording the same thing again moves nothing again;
    `provider_records` lets the provider record it as well as a coordinator.
    """
    now = clock.utc_now()
    problems = record_problems(data.provider_id, data.recipient_id, data.service_date)
    if problems:
        raise problems[0]
    service_date = service_date_checked(data.service_date, now, future_allowed=False)
    description = description_checked(data.description)
    people = await recorded_parties(actor, data, provider_records=provider_records)
    community_id = people[data.provider_id].community_id
    exchange_id = keyed_id or recording_id(actor.member_id, idempotency_key)
    role = "coordinator" if community_id and actor.coordinates(community_id) else "admin"
    ledger_actor = (
        actor.label
        if provider_records and actor.member_id == data.provider_id
        else f"{role}:{actor.member_id}"
    )

    async def work(_transaction: WriteTransaction) -> None:
        try:
            applied = await ledger.apply(
                operation=NewTransfer(
                    id=record_transfer_id(exchange_id),
                    debit_account_id=member_account_id(data.recipient_id),
                    credit_account_id=member_account_id(data.provider_id),
                    amount_minor=data.minutes,
                    unit=Unit.HOUR,
                    code=EXCHANGE_CODE,
                    actor=ledger_actor,
                    memo=description[:MEMO_CHARS_MAX],
                    effective_at=service_date,
                )
            )
        except LedgerError as error:
            if isinstance(error, ExceedsFloor):
                raise insufficient_credit(
                    error,
                    short_member=data.recipient_id,
                    name=people[data.recipient_id].display_name,
                    caller=actor,
                ) from error
            raise
        if applied.replayed:
            # The same keyed recording was made before (a retry, a concurrent twin): the
            # ledger says so under the accounts' locks, so it is written and audited once.
            return
        transfer = applied.transfer
        await Exchange.insert(
            Exchange(
                id=exchange_id,
                community=community_id,
                provider=data.provider_id,
                proposer=actor.member_id,
                minutes=data.minutes,
                service_date=service_date,
                description=description,
                listing=None,
                in_home=in_home,
                status="completed",
                recorded_by=actor.member_id,
                hold_expires_at=None,
                chain_id=None,
                created_at=now,
                updated_at=now,
            )
        ).run()
        await ExchangeRecipient.insert(
            ExchangeRecipient(
                exchange=exchange_id, member=data.recipient_id, transfer_id=transfer.id
            )
        ).run()
        await record_exchange_flow(
            exchange_id=exchange_id,
            recipient_id=data.recipient_id,
            minutes_signed=data.minutes,
            at=service_date,
            source_id=transfer.id,
        )
        await history_event(
            exchange_id,
            actor,
            "record",
            now,
            note=f"service date {iso_day(service_date)}",
        )
        await audit_record(
            actor_id=actor.member_id,
            actor_label=actor.label,
            action="exchange.record",
            target_type="exchange",
            target_id=str(exchange_id),
            community_id=community_id,
            reason="recorded on behalf of the members",
            after={
                "provider_id": str(data.provider_id),
                "recipient_id": str(data.recipient_id),
                "minutes": data.minutes,
                "service_date": service_date.isoformat(),
                "transfer_id": str(transfer.id),
            },
        )

    await run_write(engine, work)
    return exchange_id
