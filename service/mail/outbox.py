"""The outbox: mail is queued in the same transaction as the event that causes it.

States of a message (mail_message.status):

    queued --claim--> queued (attempts + 1, not due again for MAIL_CLAIM_LEASE_SECONDS)
    queued --sent----> sent                       (the SMTP server accepted it)
    queued --failed--> queued (due after an exponential backoff)
    queued --failed--> dead   (after MAIL_ATTEMPTS_MAX attempts, with the last error)
    dead   --retry---> queued (an admin, audited; attempts start again)

A claim is a short write transaction: on PostgreSQL `SELECT ... FOR UPDATE SKIP
LOCKED` so that two workers never pick the same rows; on SQLite the single
writer (BEGIN IMMEDIATE behind the in-process lock) serialises claims. The
claim pushes `next_attempt_at` past a lease, so a worker killed after claiming
leaves the message due again once the lease has passed, and nobody else sends
it meanwhile. A worker killed after the SMTP server accepted a message but
before it was marked sent sends it again after the lease: delivery is at least
once, and the stable Message-ID lets mail software drop that rare duplicate.

Event mail follows the member's preference: `off` queues nothing (the in-app
notice remains), `daily` and `weekly` hold the message until the next digest,
when the worker sends all of a member's held messages as one.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from piccolo.engine.postgres import PostgresEngine

from ledger import run_write
from ledger.transactions import WriteTransaction
from service.i18n import _
from service.mail.limits import (
    MAIL_ATTEMPTS_MAX,
    MAIL_CLAIM_LEASE_SECONDS,
    MAIL_ERROR_CHARS_MAX,
    MAIL_RETRY_BASE_SECONDS,
    MAIL_RETRY_DELAY_SECONDS_MAX,
)
from service.mail.tables import MailMessage, MailPreference
from service.principal import Principal, not_found, require_admin

logger = logging.getLogger("timebank.mail")

EmailFrequency = Literal["immediate", "daily", "weekly", "off"]
MailStatus = Literal["queued", "sent", "dead"]
EMAIL_FREQUENCY_DEFAULT: EmailFrequency = "immediate"
DIGEST_HOUR_UTC = 7  # digests go out in the morning
MONDAY = 0


@dataclass(frozen=True, slots=True)
class ClaimedMail:
    id: uuid.UUID
    member_id: uuid.UUID | None
    to_address: str
    kind: str
    context: dict[str, Any]
    is_event: bool
    digest: bool
    attempts: int  # including the attempt this claim starts


def utc_now() -> datetime:
    return datetime.now(UTC)


def _require_open(transaction: WriteTransaction) -> None:
    # Queuing outside the event's own transaction could lose or invent a message.
    engine = MailMessage._meta.db  # noqa: SLF001 - the engine the table is bound to
    current = engine.current_transaction.get()
    assert current is not None, "mail_queue needs the caller's open write transaction"  # noqa: S101
    assert current.connection is transaction.connection.raw, "a different transaction"  # noqa: S101


async def mail_queue(
    transaction: WriteTransaction,
    *,
    kind: str,
    to_address: str,
    context: Mapping[str, Any],
    member_id: uuid.UUID | None = None,
    is_event: bool = False,
    sensitive: bool = False,
    due_at: datetime | None = None,
    digest: bool = False,
) -> uuid.UUID:
    """Queue one message inside the caller's write transaction; it commits or rolls back with it."""
    _require_open(transaction)
    now = utc_now()
    message_id = uuid.uuid4()
    await MailMessage.insert(
        MailMessage(
            id=message_id,
            member=member_id,
            to_address=to_address,
            kind=kind,
            context_json=json.dumps(dict(context), default=str, sort_keys=True),
            sensitive=sensitive,
            is_event=is_event,
            digest=digest,
            status="queued",
            attempts=0,
            next_attempt_at=due_at or now,
            created_at=now,
        )
    ).run()
    return message_id


async def mail_to_member(
    transaction: WriteTransaction,
    *,
    member_id: uuid.UUID,
    to_address: str,
    names: Mapping[str, str],
    kind: str,
    context: Mapping[str, Any],
    account_mail: bool = False,
) -> uuid.UUID | None:
    """Queue mail to a member, following their preference (the caller looked them up).

    Event mail: None when their email is `off`; held for the next digest when
    `daily` or `weekly`. `account_mail` (password reset, email change) always
    goes, at once. Features call `service.members.mailing.mail_member`.
    """
    frequency = await email_frequency_of(member_id)
    if not account_mail and frequency == "off":
        return None
    digest = not account_mail and frequency in ("daily", "weekly")
    return await mail_queue(
        transaction,
        kind=kind,
        to_address=to_address,
        context={**names, **context},
        member_id=member_id,
        is_event=not account_mail,
        sensitive=account_mail,
        digest=digest,
        due_at=next_digest_at(utc_now(), frequency) if digest else None,
    )


def next_digest_at(now: datetime, frequency: EmailFrequency) -> datetime:
    """The next morning (daily), or the next Monday morning (weekly), after `now`."""
    morning = now.replace(hour=DIGEST_HOUR_UTC, minute=0, second=0, microsecond=0)
    if morning <= now:
        morning += timedelta(days=1)
    if frequency == "weekly":
        morning += timedelta(days=(MONDAY - morning.weekday()) % 7)
    return morning


# Preferences ------------------------------------------------------------------------


async def email_frequency_of(member_id: uuid.UUID) -> EmailFrequency:
    row = (
        await MailPreference.select(MailPreference.email)
        .where(MailPreference.member == member_id)
        .first()
        .run()
    )
    return row["email"] if row is not None else EMAIL_FREQUENCY_DEFAULT


async def email_frequency_set(*, member_id: uuid.UUID, frequency: EmailFrequency) -> None:
    engine = MailPreference._meta.db  # noqa: SLF001

    async def work(_transaction: WriteTransaction) -> None:
        now = utc_now()
        updated = (
            await MailPreference.update(
                {MailPreference.email: frequency, MailPreference.updated_at: now}
            )
            .where(MailPreference.member == member_id)
            .returning(MailPreference.member)
            .run()
        )
        if not updated:
            await MailPreference.insert(
                MailPreference(member=member_id, email=frequency, updated_at=now)
            ).run()

    await run_write(engine, work)


# The worker's side ----------------------------------------------------------------


async def mail_claim(*, now: datetime, limit: int) -> list[ClaimedMail]:
    """Take up to `limit` due messages for this worker (see the module docstring)."""
    engine = MailMessage._meta.db  # noqa: SLF001

    async def work(_transaction: WriteTransaction) -> list[dict[str, Any]]:
        query = (
            MailMessage.select(
                MailMessage.id,
                MailMessage.member,
                MailMessage.to_address,
                MailMessage.kind,
                MailMessage.context_json,
                MailMessage.is_event,
                MailMessage.digest,
                MailMessage.attempts,
            )
            .where((MailMessage.status == "queued") & (MailMessage.next_attempt_at <= now))
            .order_by(MailMessage.next_attempt_at)
            .limit(limit)
        )
        if isinstance(engine, PostgresEngine):
            query = query.lock_rows("UPDATE", skip_locked=True)
        rows: list[dict[str, Any]] = await query.run()
        if rows:
            await (
                MailMessage.update(
                    {
                        MailMessage.attempts: MailMessage.attempts + 1,
                        MailMessage.next_attempt_at: now
                        + timedelta(seconds=MAIL_CLAIM_LEASE_SECONDS),
                    }
                )
                .where(MailMessage.id.is_in([row["id"] for row in rows]))
                .run()
            )
        return rows

    rows = await run_write(engine, work)
    return [
        ClaimedMail(
            id=row["id"],
            member_id=row["member"],
            to_address=row["to_address"],
            kind=row["kind"],
            context=json.loads(row["context_json"]),
            is_event=bool(row["is_event"]),
            digest=bool(row["digest"]),
            attempts=row["attempts"] + 1,
        )
        for row in rows
    ]


async def mail_mark_sent(*, message_ids: list[uuid.UUID], now: datetime) -> None:
    engine = MailMessage._meta.db  # noqa: SLF001

    async def work(_transaction: WriteTransaction) -> None:
        mine = MailMessage.id.is_in(message_ids) & (MailMessage.status == "queued")
        # A secret (a reset link) leaves the database once it has been handed over.
        await (
            MailMessage.update({MailMessage.context_json: "{}"})
            .where(
                mine & (MailMessage.sensitive == True)  # noqa: E712 - Piccolo builds SQL from ==
            )
            .run()
        )
        await (
            MailMessage.update(
                {MailMessage.status: "sent", MailMessage.sent_at: now, MailMessage.last_error: None}
            )
            .where(mine)
            .run()
        )

    await run_write(engine, work)


def retry_delay_seconds(attempts: int) -> int:
    """Exponential backoff after the `attempts`-th failure: 30 s, 60 s, 120 s, ... capped."""
    return int(min(MAIL_RETRY_BASE_SECONDS * 2 ** (attempts - 1), MAIL_RETRY_DELAY_SECONDS_MAX))


async def mail_mark_failed(*, claimed: list[ClaimedMail], error: str, now: datetime) -> None:
    engine = MailMessage._meta.db  # noqa: SLF001
    error = error[:MAIL_ERROR_CHARS_MAX]

    async def work(_transaction: WriteTransaction) -> None:
        for mail in claimed:
            dead = mail.attempts >= MAIL_ATTEMPTS_MAX
            changes: dict[Any, Any] = {MailMessage.last_error: error}
            if dead:
                changes[MailMessage.status] = "dead"
            else:
                delay = timedelta(seconds=retry_delay_seconds(mail.attempts))
                changes[MailMessage.next_attempt_at] = now + delay
            await (
                MailMessage.update(changes)
                .where((MailMessage.id == mail.id) & (MailMessage.status == "queued"))
                .run()
            )

    await run_write(engine, work)


# The admin's side -----------------------------------------------------------------


async def outbox_list(
    *, actor: Principal, status: MailStatus | None, limit: int
) -> list[dict[str, Any]]:
    require_admin(actor)
    query = MailMessage.select(
        MailMessage.id,
        MailMessage.to_address,
        MailMessage.kind,
        MailMessage.status,
        MailMessage.attempts,
        MailMessage.next_attempt_at,
        MailMessage.last_error,
        MailMessage.created_at,
        MailMessage.sent_at,
    )
    if status is not None:
        query = query.where(MailMessage.status == status)
    rows: list[dict[str, Any]] = (
        await query.order_by(MailMessage.created_at, ascending=False).limit(limit).run()
    )
    return rows


async def outbox_retry(*, actor: Principal, message_id: uuid.UUID) -> None:
    """Queue a dead message again; anything not dead -> 404.

    Not in the audit log: the outbox sits below the members package (which owns
    the log) and resending a message changes nobody's data; it is logged instead.
    """
    require_admin(actor)
    engine = MailMessage._meta.db  # noqa: SLF001

    async def work(_transaction: WriteTransaction) -> None:
        revived = (
            await MailMessage.update(
                {
                    MailMessage.status: "queued",
                    MailMessage.attempts: 0,
                    MailMessage.next_attempt_at: utc_now(),
                }
            )
            .where((MailMessage.id == message_id) & (MailMessage.status == "dead"))
            .returning(MailMessage.kind)
            .run()
        )
        if not revived:
            raise not_found(_("That failed message"))
        logger.info("mail %s queued again by %s", message_id, actor.member_id)

    await run_write(engine, work)


__all__ = ["mail_queue", "mail_to_member"]
