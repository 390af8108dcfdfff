"""The mail worker: claims due messages, sends them, records the outcome.

It runs as a task of the app's lifespan (every process runs one; the claim
keeps them from sending a message twice, see service/mail/outbox.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from itertools import groupby
from pathlib import Path

from litestar import Litestar

from service.mail.compose import MailIdentity, compose
from service.mail.limits import (
    MAIL_BATCH_MAX,
    MAIL_POLL_SECONDS,
    MAIL_SHUTDOWN_SECONDS,
)
from service.mail.outbox import (
    ClaimedMail,
    mail_claim,
    mail_mark_failed,
    mail_mark_sent,
    utc_now,
)
from service.mail.transport import FileTransport, MailTransport, SmtpTransport
from service.settings import Settings

logger = logging.getLogger("timebank.mail")


def transport_for(settings: Settings) -> MailTransport:
    server = settings.mail.smtp_server
    if server is None:
        return FileTransport(Path(settings.data_dir))
    return SmtpTransport(server, mail_from=settings.mail.mail_from)


def identity_for(settings: Settings) -> MailIdentity:
    return MailIdentity(
        base_url=settings.public_base_url,
        mail_from=settings.mail.mail_from,
        secret_key=settings.secret_key,
    )


async def mail_send_due(
    *,
    transport: MailTransport,
    identity: MailIdentity,
    now: datetime | None = None,
    limit: int = MAIL_BATCH_MAX,
) -> int:
    """One pass: claim what is due and try to send it. Returns how many rows were sent."""
    now = now or utc_now()
    claimed = await mail_claim(now=now, limit=limit)
    sent = 0
    for group in _envelopes(claimed):
        if await _send_one(transport, identity, group, now=now):
            sent += len(group)
    return sent


def _envelopes(claimed: list[ClaimedMail]) -> list[list[ClaimedMail]]:
    """Each message alone, except digest items: one envelope an address."""
    singles = [[mail] for mail in claimed if not mail.digest]
    held = sorted((mail for mail in claimed if mail.digest), key=lambda mail: mail.to_address)
    digests = [list(group) for _, group in groupby(held, key=lambda mail: mail.to_address)]
    return singles + digests


async def _send_one(
    transport: MailTransport, identity: MailIdentity, group: list[ClaimedMail], *, now: datetime
) -> bool:
    try:
        message = compose(identity, group)
        await transport.deliver(message, name=f"{now:%Y%m%dT%H%M%S}-{group[0].id}")
    except Exception as error:  # noqa: BLE001 - any failure is recorded and retried
        logger.warning("mail %s not sent: %s", group[0].id, type(error).__name__)
        await mail_mark_failed(claimed=group, error=_describe(error), now=now)
        return False
    await mail_mark_sent(message_ids=[mail.id for mail in group], now=now)
    return True


def _describe(error: Exception) -> str:
    text = str(error).strip() or "no detail"
    return f"{type(error).__name__}: {text}"


async def mail_worker_forever(
    *,
    transport: MailTransport,
    identity: MailIdentity,
    interval_seconds: float,
    stop: asyncio.Event,
) -> None:
    """Send due mail every `interval_seconds` until `stop` is set.

    A pass in progress finishes before it stops."""
    while not stop.is_set():
        try:
            sent = await mail_send_due(transport=transport, identity=identity)
        except Exception:
            # A database hiccup must not end the worker; the next pass tries again.
            logger.exception("mail worker pass failed")
            sent = 0
        if sent < MAIL_BATCH_MAX:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_seconds)


@contextlib.asynccontextmanager
async def mail_worker_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Send queued mail every MAIL_POLL_SECONDS while the app runs."""
    settings: Settings = app.state.settings
    if not settings.mail.worker_enabled:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(
        mail_worker_forever(
            transport=transport_for(settings),
            identity=identity_for(settings),
            interval_seconds=MAIL_POLL_SECONDS,
            stop=stop,
        ),
        name="mail-worker",
    )
    try:
        yield
    finally:
        # Let a pass finish rather than cancel it inside a query or an SMTP
        # conversation (a message accepted but not marked sent would go twice).
        stop.set()
        try:
            await asyncio.wait_for(task, MAIL_SHUTDOWN_SECONDS)
        except TimeoutError:
            logger.warning("mail worker did not stop in time; cancelled")
