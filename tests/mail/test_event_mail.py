"""Every event that needs a member mails them, from the event's own transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from service.mail.tables import MailMessage
from tests.mail.support import Mailroom, smtp_to
from tests.support.people import PASSWORD, Person, Town
from tests.support.smtp_peer import SmtpPeer


async def queued(room: Mailroom) -> list[tuple[str, str]]:
    async def read() -> list[tuple[str, str]]:
        rows = (
            await MailMessage.select(MailMessage.kind, MailMessage.to_address)
            .order_by(MailMessage.created_at)
            .run()
        )
        return [(row["kind"], row["to_address"]) for row in rows]

    return await room.run(read)


async def new_mail(room: Mailroom, before: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return (await queued(room))[len(before) :]


async def post(town: Town, who: Person, path: str, body: dict[str, Any] | None = None) -> Any:
    response = await town.client.post(path, headers=who.headers, json=body or {})
    assert response.status_code in (200, 201), response.text
    return response.json()


async def test_an_exchange_mails_each_step_to_the_other_side(
    town: Town, smtp_peer: SmtpPeer
) -> None:
    room = Mailroom(town.client)
    before = await queued(room)
    exchange = await post(
        town,
        town.alice,
        "/api/v1/exchanges",
        {
            "provider_id": str(town.bob.id),
            "recipient_id": str(town.alice.id),
            "minutes": 90,
            "service_date": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
            "description": "A lift to the clinic",
        },
    )
    assert await new_mail(room, before) == [("exchange_proposed", town.bob.email)]
    before = await queued(room)
    await post(town, town.bob, f"/api/v1/exchanges/{exchange['id']}/accept")
    assert await new_mail(room, before) == [("exchange_accepted", town.alice.email)]
    before = await queued(room)
    await post(town, town.alice, f"/api/v1/exchanges/{exchange['id']}/complete")
    assert await new_mail(room, before) == [("exchange_completed", town.bob.email)]
    before = await queued(room)
    dispute = await post(
        town, town.alice, f"/api/v1/exchanges/{exchange['id']}/dispute", {"reason": "Too long"}
    )
    assert await new_mail(room, before) == [("dispute_opened", town.bob.email)]
    before = await queued(room)
    await post(
        town,
        town.admin,
        f"/api/v1/admin/disputes/{dispute['id']}/resolve",
        {"outcome": "upheld", "note": "Both agree it happened."},
    )
    decided = await new_mail(room, before)
    assert sorted(decided) == sorted(
        [("dispute_decided", town.bob.email), ("dispute_decided", town.alice.email)]
    )

    assert await room.send(smtp_to(smtp_peer.url)) >= 6
    received = await smtp_peer.catcher.wait_for(6)
    subjects = {(got.recipients[0], str(got.message["Subject"])) for got in received}
    assert (town.bob.email, "Alice has suggested an exchange") in subjects
    assert (town.alice.email, "Bob has accepted your exchange") in subjects
    assert (town.bob.email, "You have received 1 hour 30 minutes") in subjects
    [proposal] = [got for got in received if "suggested" in str(got.message["Subject"])]
    assert f"/exchanges/{exchange['id']}" in proposal.text()


async def test_approval_mails_the_new_member(town: Town) -> None:
    room = Mailroom(town.client)
    before = await queued(room)
    await post(town, town.admin, f"/api/v1/coordinator/members/{town.pending.id}/approve")
    assert await new_mail(room, before) == [("membership_approved", town.pending.email)]


async def test_registering_with_a_taken_address_tells_its_owner(town: Town) -> None:
    room = Mailroom(town.client)
    before = await queued(room)
    response = await town.client.post(
        "/api/v1/auth/register",
        json={
            "email": town.alice.email.upper(),
            "password": PASSWORD,
            "display_name": "Someone Else",
            "community": "riverside",
        },
    )
    assert response.status_code == 201  # answered like a new address (ADR 0020)
    assert await new_mail(room, before) == [("register_taken", town.alice.email)]


async def test_off_means_no_event_mail_but_account_mail_still_comes(town: Town) -> None:
    room = Mailroom(town.client)
    await town.client.put(
        "/api/v1/me/notifications", json={"email": "off"}, headers=town.bob.headers
    )
    before = await queued(room)
    await post(
        town,
        town.alice,
        "/api/v1/exchanges",
        {
            "provider_id": str(town.bob.id),
            "recipient_id": str(town.alice.id),
            "minutes": 30,
            "service_date": datetime.now(UTC).isoformat(),
            "description": "Tea and a chat",
        },
    )
    assert await new_mail(room, before) == []
    await town.client.post("/api/v1/auth/password-reset", json={"email": town.bob.email})
    assert await new_mail(room, before) == [("password_reset", town.bob.email)]
