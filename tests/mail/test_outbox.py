"""The outbox against a real SMTP server on loopback, on both engines."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest

from ledger import run_write
from ledger.transactions import WriteTransaction
from service.mail.limits import MAIL_ATTEMPTS_MAX, MAIL_CLAIM_LEASE_SECONDS
from service.mail.outbox import mail_claim, utc_now
from service.mail.worker import transport_for
from service.members.mailing import mail_member
from tests.mail.support import EXCHANGE_ID, Mailroom, smtp_to
from tests.support.people import Town
from tests.support.smtp_peer import DroppingServer, SmtpPeer


async def test_a_queued_message_arrives_with_recipient_subject_hours_and_link(
    town: Town, smtp_peer: SmtpPeer
) -> None:
    app = town.client.app
    room = Mailroom(town.client)
    message_id = await room.queue(town.alice.id)
    assert message_id is not None
    assert await room.send(smtp_to(smtp_peer.url)) == 1
    [got] = await smtp_peer.catcher.wait_for(1)
    assert got.recipients == ["alice@example.org"]
    assert got.message["Subject"] == "Bob has accepted your exchange"
    assert "Riverside" in got.message["From"]
    link = f"{app.state.settings.public_base_url}/exchanges/{EXCHANGE_ID}"
    assert link in got.text()
    assert f'href="{link}"' in got.html()
    assert "1 hour 30 minutes" in got.text()
    # Hours are said in words, never as raw minutes (links, with their random ids and
    # signatures, are left out of this check).
    words = re.sub(r"https?://\S+", "", got.text())
    assert not re.search(r"\b90\b", words)
    assert got.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    row = await room.row(message_id)
    assert row["status"] == "sent"
    assert row["attempts"] == 1


async def test_the_unsubscribe_link_turns_email_off_in_one_click(
    town: Town, smtp_peer: SmtpPeer
) -> None:
    app = town.client.app
    room = Mailroom(town.client)
    await room.queue(town.alice.id)
    await room.send(smtp_to(smtp_peer.url))
    [got] = await smtp_peer.catcher.wait_for(1)
    url = str(got.message["List-Unsubscribe"]).strip("<>")
    # As mail programs read it: a plain <URL>, not an RFC 2047 encoded word.
    assert f"List-Unsubscribe: <{url}>\r\n".encode() in got.raw
    assert url in got.text()
    path = url.removeprefix(app.state.settings.public_base_url)
    page = await town.client.get(path)
    assert page.status_code == 200
    assert "Stop emails" in page.text
    # What a mail program's unsubscribe button sends (RFC 8058): no cookie, no CSRF token.
    town.client.cookies.clear()
    done = await town.client.post(
        path,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200, done.text
    me = await town.client.get("/api/v1/me/notifications", headers=town.alice.headers)
    assert me.json() == {"email": "off"}
    assert await room.queue(town.alice.id) is None
    forged = path[:-4] + "AAAA"
    assert (
        await town.client.post(forged, content=b"List-Unsubscribe=One-Click")
    ).status_code == 404


async def test_mail_queued_in_a_transaction_that_rolls_back_is_never_sent(town: Town) -> None:
    app = town.client.app
    room = Mailroom(town.client)

    async def event_that_fails(transaction: WriteTransaction) -> None:
        await mail_member(
            transaction, member_id=town.alice.id, kind="exchange_accepted", context={}
        )
        raise RuntimeError("the event itself failed")

    with pytest.raises(RuntimeError):
        await room.run(lambda: run_write(app.state.engine, event_that_fails))
    assert await room.count() == 0


async def test_a_worker_killed_after_claiming_leaves_the_message_sent_exactly_once(
    town: Town, smtp_peer: SmtpPeer
) -> None:
    room = Mailroom(town.client)
    message_id = await room.queue(town.alice.id)
    assert message_id is not None
    now = utc_now()
    # The first worker claims the message and dies before it sends anything.
    [claimed] = await room.run(lambda: mail_claim(now=now, limit=10))
    assert claimed.id == message_id
    transport = smtp_to(smtp_peer.url)
    # A restarted worker leaves it alone while the dead worker's lease runs...
    assert await room.send(transport, now=now + timedelta(seconds=1)) == 0
    # ...then sends it once, and never again.
    after_lease = now + timedelta(seconds=MAIL_CLAIM_LEASE_SECONDS + 1)
    assert await room.send(transport, now=after_lease) == 1
    assert await room.send(transport, now=after_lease + timedelta(days=1)) == 0
    received = await smtp_peer.catcher.wait_for(1)
    assert len(received) == 1
    assert (await room.row(message_id))["attempts"] == 2


async def test_two_workers_at_once_send_every_message_once(town: Town, smtp_peer: SmtpPeer) -> None:
    room = Mailroom(town.client)
    count = 12
    for person in (town.alice, town.bob, town.carol) * (count // 3):
        await room.queue(person.id)
    transport = smtp_to(smtp_peer.url)
    sent = await asyncio.gather(room.send(transport), room.send(transport), room.send(transport))
    assert sum(sent) == count
    received = await smtp_peer.catcher.wait_for(count)
    message_ids = [str(got.message["Message-ID"]) for got in received]
    assert len(message_ids) == count
    assert len(set(message_ids)) == count
    assert await room.count("sent") == count


async def test_a_refusing_server_means_retries_with_backoff_then_dead_then_admin_retry(
    town: Town, smtp_peer: SmtpPeer
) -> None:
    room = Mailroom(town.client)
    message_id = await room.queue(town.alice.id)
    assert message_id is not None
    smtp_peer.catcher.refuse = True
    transport = smtp_to(smtp_peer.url)
    now = utc_now()
    delays = []
    for attempt in range(1, MAIL_ATTEMPTS_MAX + 1):
        assert await room.send(transport, now=now) == 0
        row = await room.row(message_id)
        assert row["attempts"] == attempt
        assert "451" in row["last_error"]
        if attempt < MAIL_ATTEMPTS_MAX:
            assert row["status"] == "queued"
            delays.append(row["next_attempt_at"] - now)
            # Not due again before its backoff has passed.
            assert await room.send(transport, now=now + delays[-1] / 2) == 0
            now = row["next_attempt_at"]
    assert delays == sorted(delays)
    assert delays[1] == 2 * delays[0]
    assert (await room.row(message_id))["status"] == "dead"
    assert await room.send(transport, now=now + timedelta(days=30)) == 0

    listed = await town.client.get("/api/v1/admin/outbox?status=dead", headers=town.admin.headers)
    assert [item["id"] for item in listed.json()["items"]] == [str(message_id)]
    assert listed.json()["items"][0]["last_error"].startswith("SMTP")
    refused = await town.client.post(
        f"/api/v1/admin/outbox/{message_id}/retry", headers=town.alice.headers
    )
    assert refused.status_code == 403
    retried = await town.client.post(
        f"/api/v1/admin/outbox/{message_id}/retry", headers=town.admin.headers
    )
    assert retried.status_code == 200, retried.text
    smtp_peer.catcher.refuse = False
    assert await room.send(transport) == 1
    assert len(await smtp_peer.catcher.wait_for(1)) == 1
    again = await town.client.post(
        f"/api/v1/admin/outbox/{message_id}/retry", headers=town.admin.headers
    )
    assert again.status_code == 404


async def test_a_server_that_drops_the_connection_leaves_the_message_queued(town: Town) -> None:
    room = Mailroom(town.client)
    message_id = await room.queue(town.alice.id)
    assert message_id is not None
    server = DroppingServer()
    await server.start()
    try:
        now = utc_now()
        assert await room.send(smtp_to(server.url), now=now) == 0
    finally:
        await server.stop()
    assert server.connections == 1
    row = await room.row(message_id)
    assert row["status"] == "queued"
    assert row["attempts"] == 1
    assert row["last_error"]
    assert row["next_attempt_at"] > now


async def test_without_smtp_url_messages_become_eml_files(town: Town) -> None:
    app = town.client.app
    room = Mailroom(town.client)
    await room.queue(town.alice.id)
    transport = transport_for(app.state.settings)
    assert await room.send(transport) == 1
    files = list(transport.folder.glob("*.eml"))  # type: ignore[attr-defined]
    assert len(files) == 1
    content = files[0].read_text()
    assert "Subject: Bob has accepted your exchange" in content
    assert "To: alice@example.org" in content


async def test_daily_digest_holds_messages_and_sends_them_together(
    town: Town, smtp_peer: SmtpPeer
) -> None:
    room = Mailroom(town.client)
    saved = await town.client.put(
        "/api/v1/me/notifications", json={"email": "daily"}, headers=town.alice.headers
    )
    assert saved.status_code == 200, saved.text
    first = await room.queue(town.alice.id)
    second = await room.queue(town.alice.id, kind="exchange_completed", other_name="Carol")
    assert first is not None and second is not None
    transport = smtp_to(smtp_peer.url)
    assert await room.send(transport) == 0
    due = (await room.row(first))["next_attempt_at"]
    assert due.hour == 7
    assert await room.send(transport, now=due) == 2
    [digest] = await smtp_peer.catcher.wait_for(1)
    assert digest.message["Subject"] == "News from Riverside"
    assert "Bob has accepted your exchange" in digest.text()
    assert "You have received 1 hour 30 minutes" in digest.text()


async def test_preferences_api_validates_and_is_per_member(town: Town) -> None:
    client = town.client
    assert (await client.get("/api/v1/me/notifications", headers=town.bob.headers)).json() == {
        "email": "immediate"
    }
    bad = await client.put(
        "/api/v1/me/notifications", json={"email": "hourly"}, headers=town.bob.headers
    )
    assert bad.status_code in (400, 422)
    unknown = await client.put(
        "/api/v1/me/notifications", json={"email": "off", "sms": 1}, headers=town.bob.headers
    )
    assert unknown.status_code in (400, 422)
    await client.put("/api/v1/me/notifications", json={"email": "weekly"}, headers=town.bob.headers)
    assert (await client.get("/api/v1/me/notifications", headers=town.bob.headers)).json() == {
        "email": "weekly"
    }
    assert (await client.get("/api/v1/me/notifications", headers=town.alice.headers)).json() == {
        "email": "immediate"
    }
    assert (await client.get("/api/v1/me/notifications")).status_code == 401
    assert (await client.get("/api/v1/admin/outbox", headers=town.alice.headers)).status_code == 403
