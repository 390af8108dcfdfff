"""Helpers for mail tests: queue a message the way an event does, run worker passes.

Everything that touches the database runs on the loop that serves the app,
where its PostgreSQL connection pool lives (the test client runs the app in a
thread of its own).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from litestar import Litestar
from litestar.testing import AsyncTestClient

from ledger import run_write
from ledger.transactions import WriteTransaction
from service.mail.tables import MailMessage
from service.mail.transport import MailTransport, SmtpTransport
from service.mail.worker import identity_for, mail_send_due
from service.members.mailing import mail_member
from service.settings import smtp_server_of

T = TypeVar("T")
EXCHANGE_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")
ACCEPTED = {
    "other_name": "Bob",
    "minutes": 90,
    "description": "A lift to the clinic",
    "service_date": "Friday 4 December 2026",
    "exchange_id": str(EXCHANGE_ID),
}


def smtp_to(url: str) -> SmtpTransport:
    return SmtpTransport(smtp_server_of(url), mail_from="bank@example.org")


class Mailroom:
    def __init__(self, client: AsyncTestClient[Litestar]) -> None:
        self.client = client
        self.app = client.app

    def run(self, make: Callable[[], Awaitable[T]]) -> Awaitable[T]:
        # The app runs on the test's own loop (tests/support/app.py): call it directly.
        return make()

    async def queue(
        self, member_id: uuid.UUID, kind: str = "exchange_accepted", **context: Any
    ) -> uuid.UUID | None:
        async def work(transaction: WriteTransaction) -> uuid.UUID | None:
            return await mail_member(
                transaction, member_id=member_id, kind=kind, context={**ACCEPTED, **context}
            )

        return await self.run(lambda: run_write(self.app.state.engine, work))

    async def send(self, transport: MailTransport, now: datetime | None = None) -> int:
        identity = identity_for(self.app.state.settings)
        return await self.run(
            lambda: mail_send_due(transport=transport, identity=identity, now=now)
        )

    async def row(self, message_id: uuid.UUID) -> dict[str, Any]:
        async def read() -> Any:
            return await MailMessage.select().where(MailMessage.id == message_id).first().run()

        row = await self.run(read)
        assert row is not None
        return dict(row)

    async def count(self, status: str | None = None) -> int:
        async def read() -> int:
            query = MailMessage.count()
            if status is not None:
                query = query.where(MailMessage.status == status)
            return int(await query.run())

        return await self.run(read)
