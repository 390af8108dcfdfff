"""Reminders about accepted exchanges: due at the right time, queued once, mailed in words."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from service.exchanges.reminders import reminders_sweep
from service.mail.limits import CONFIRM_REMINDER_AFTER_SECONDS, HOLD_EXPIRY_WARNING_SECONDS
from service.mail.tables import MailMessage
from tests.mail.support import Mailroom, smtp_to
from tests.support.people import Person, Town
from tests.support.smtp_peer import SmtpPeer


async def accepted_exchange(town: Town, provider: Person, recipient: Person) -> dict[str, Any]:
    service_date = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    proposed = await town.client.post(
        "/api/v1/exchanges",
        headers=recipient.headers,
        json={
            "provider_id": str(provider.id),
            "recipient_id": str(recipient.id),
            "minutes": 150,
            "service_date": service_date,
            "description": "Help with the garden",
        },
    )
    assert proposed.status_code == 201, proposed.text
    exchange_id = proposed.json()["id"]
    accepted = await town.client.post(
        f"/api/v1/exchanges/{exchange_id}/accept", headers=provider.headers
    )
    assert accepted.status_code == 200, accepted.text
    return dict(accepted.json())


async def queued_kinds(room: Mailroom) -> list[tuple[str, str]]:
    async def read() -> list[tuple[str, str]]:
        rows = await MailMessage.select(MailMessage.kind, MailMessage.to_address).run()
        return sorted((row["kind"], row["to_address"]) for row in rows)

    return await room.run(read)


async def sweep(room: Mailroom, now: datetime) -> int:
    return await room.run(lambda: reminders_sweep(engine=room.app.state.engine, now=now))


async def test_please_confirm_goes_to_the_recipient_the_day_after_once(
    town: Town, smtp_peer: SmtpPeer
) -> None:
    room = Mailroom(town.client)
    exchange = await accepted_exchange(town, town.bob, town.alice)
    before = await queued_kinds(room)
    service_date = datetime.fromisoformat(exchange["service_date"])
    day_after = service_date + timedelta(seconds=CONFIRM_REMINDER_AFTER_SECONDS)
    assert await sweep(room, day_after - timedelta(minutes=1)) == 0
    # Two sweeps at once, as two workers would run them: one reminder.
    both = await asyncio.gather(sweep(room, day_after), sweep(room, day_after))
    assert sum(both) == 1
    assert await sweep(room, day_after + timedelta(hours=1)) == 0
    added = [kind for kind in await queued_kinds(room) if kind not in before]
    assert added == [("exchange_confirm_reminder", "alice@example.org")]
    await room.send(smtp_to(smtp_peer.url))
    received = await smtp_peer.catcher.wait_for(len(before) + 1)
    [mail] = [got for got in received if got.message["Subject"].startswith("Please confirm")]
    assert mail.recipients == ["alice@example.org"]
    assert "2 hours 30 minutes" in mail.text()
    assert f"/exchanges/{exchange['id']}" in mail.text()


async def test_hours_go_back_warning_48_hours_before_the_hold_expires(town: Town) -> None:
    room = Mailroom(town.client)
    exchange = await accepted_exchange(town, town.bob, town.alice)
    before = await queued_kinds(room)
    expires_at = datetime.fromisoformat(exchange["hold_expires_at"])
    warn_from = expires_at - timedelta(seconds=HOLD_EXPIRY_WARNING_SECONDS)
    assert await sweep(room, warn_from - timedelta(minutes=1)) == 1  # the confirm reminder
    assert await sweep(room, warn_from) == 1
    assert await sweep(room, warn_from + timedelta(hours=1)) == 0
    added = [kind for kind in await queued_kinds(room) if kind not in before]
    assert ("hold_expiring", "alice@example.org") in added
    assert all(address == "alice@example.org" for _, address in added)
