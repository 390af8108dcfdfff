"""Password reset, password change, email change and coordinators' codes through the API."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from service.mail.outbox import utc_now
from service.mail.tables import MailMessage
from service.recovery.tables import ResetToken
from tests.mail.support import Mailroom, smtp_to
from tests.support.people import PASSWORD, Town
from tests.support.smtp_peer import Received, SmtpPeer

NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"https?://\S+")


def link_in(received: Received) -> str:
    [link] = [url for url in LINK.findall(received.text()) if "/unsubscribe/" not in url]
    return link


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


async def sign_in_status(town: Town, email: str, password: str) -> int:
    response = await town.client.post(
        "/api/v1/auth/token", json={"email": email, "password": password}
    )
    return response.status_code


async def test_reset_link_mailed_used_once_and_every_session_ends(
    town: Town, smtp_peer: SmtpPeer
) -> None:
    client = town.client
    room = Mailroom(client)
    known = await client.post("/api/v1/auth/password-reset", json={"email": "Alice@Example.org"})
    unknown = await client.post("/api/v1/auth/password-reset", json={"email": "nobody@example.org"})
    malformed = await client.post("/api/v1/auth/password-reset", json={"email": "not an address"})
    assert known.status_code == unknown.status_code == malformed.status_code == 202
    assert known.content == unknown.content == malformed.content
    assert await room.count() == 1

    assert await room.send(smtp_to(smtp_peer.url)) == 1
    [mail] = await smtp_peer.catcher.wait_for(1)
    assert mail.recipients == ["alice@example.org"]
    assert mail.message["Subject"] == "Set a new password"
    assert mail.message["List-Unsubscribe"] is None  # account mail always comes
    link = link_in(mail)
    assert urlsplit(link).path == "/reset-password"
    # The secret left the database with the message.
    rows = await room.run(lambda: MailMessage.select(MailMessage.context_json).run())
    assert token_of(link) not in str(rows)

    confirmed = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token_of(link), "password": NEW_PASSWORD},
    )
    assert confirmed.status_code == 204, confirmed.text
    assert (await client.get("/api/v1/me", headers=town.alice.headers)).status_code == 401
    assert await sign_in_status(town, town.alice.email, PASSWORD) == 401
    assert await sign_in_status(town, town.alice.email, NEW_PASSWORD) == 201
    again = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token_of(link), "password": "yet another passphrase"},
    )
    assert again.status_code == 400
    assert again.json()["code"] == "reset_token_invalid"
    assert await sign_in_status(town, town.alice.email, NEW_PASSWORD) == 201
    # Bob's sessions were not touched.
    assert (await client.get("/api/v1/me", headers=town.bob.headers)).status_code == 200


async def test_an_expired_link_is_refused(town: Town, smtp_peer: SmtpPeer) -> None:
    client = town.client
    room = Mailroom(client)
    await client.post("/api/v1/auth/password-reset", json={"email": town.bob.email})
    await room.send(smtp_to(smtp_peer.url))
    [mail] = await smtp_peer.catcher.wait_for(1)
    past = utc_now() - timedelta(seconds=1)
    # An hour and a second later, as far as the token can tell.
    moved = {ResetToken.created_at: past - timedelta(hours=1), ResetToken.expires_at: past}
    await room.run(lambda: ResetToken.update(moved, force=True).run())
    late = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token_of(link_in(mail)), "password": NEW_PASSWORD},
    )
    assert late.status_code == 400
    assert late.json()["code"] == "reset_token_invalid"
    assert await sign_in_status(town, town.bob.email, PASSWORD) == 201


async def test_reset_requests_are_rate_limited_per_email(town: Town) -> None:
    statuses = []
    for _ in range(4):
        response = await town.client.post(
            "/api/v1/auth/password-reset", json={"email": "someone@example.org"}
        )
        statuses.append(response.status_code)
    assert statuses == [202, 202, 202, 429]
    bad = await town.client.post("/api/v1/auth/password-reset", json={"email": "x", "extra": 1})
    assert bad.status_code in (400, 422)


async def test_changing_password_needs_the_current_one_and_ends_other_sessions(town: Town) -> None:
    client = town.client
    other = await client.post(
        "/api/v1/auth/token", json={"email": town.alice.email, "password": PASSWORD}
    )
    other_headers = {"Authorization": f"Bearer {other.json()['token']}"}
    wrong = await client.put(
        "/api/v1/me/password",
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
        headers=town.alice.headers,
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "current_password"
    short = await client.put(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=town.alice.headers,
    )
    assert short.status_code in (400, 422)
    changed = await client.put(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=town.alice.headers,
    )
    assert changed.status_code == 204, changed.text
    assert (await client.get("/api/v1/me", headers=town.alice.headers)).status_code == 200
    assert (await client.get("/api/v1/me", headers=other_headers)).status_code == 401
    assert await sign_in_status(town, town.alice.email, NEW_PASSWORD) == 201
    anonymous = await client.put(
        "/api/v1/me/password",
        json={"current_password": NEW_PASSWORD, "new_password": PASSWORD},
    )
    assert anonymous.status_code == 401


async def test_email_change_is_confirmed_from_the_new_address_and_told_to_the_old(
    town: Town, smtp_peer: SmtpPeer
) -> None:
    client = town.client
    room = Mailroom(client)
    wrong = await client.post(
        "/api/v1/me/email",
        json={"password": "not my password", "new_email": "alice@new.example.org"},
        headers=town.alice.headers,
    )
    assert wrong.status_code == 422
    asked = await client.post(
        "/api/v1/me/email",
        json={"password": PASSWORD, "new_email": "alice@new.example.org"},
        headers=town.alice.headers,
    )
    assert asked.status_code == 202, asked.text
    assert await room.send(smtp_to(smtp_peer.url)) == 2
    received = await smtp_peer.catcher.wait_for(2)
    by_recipient = {mail.recipients[0]: mail for mail in received}
    assert set(by_recipient) == {"alice@new.example.org", "alice@example.org"}
    assert "a***@new.example.org" in by_recipient["alice@example.org"].text()
    link = link_in(by_recipient["alice@new.example.org"])
    assert urlsplit(link).path == "/account/email/confirm"
    me = await client.get("/api/v1/me", headers=town.alice.headers)
    assert me.json()["email"] == "alice@example.org"
    confirmed = await client.post("/api/v1/auth/email/confirm", json={"token": token_of(link)})
    assert confirmed.status_code == 204, confirmed.text
    me = await client.get("/api/v1/me", headers=town.alice.headers)
    assert me.json()["email"] == "alice@new.example.org"
    assert await sign_in_status(town, "alice@new.example.org", PASSWORD) == 201
    again = await client.post("/api/v1/auth/email/confirm", json={"token": token_of(link)})
    assert again.status_code == 400


async def test_a_coordinators_code_resets_a_member_of_their_own_community_once(
    town: Town,
) -> None:
    client = town.client
    path = f"/api/v1/coordinator/members/{town.bob.id}/reset-code"
    assert (await client.post(path, headers=town.alice.headers)).status_code in (403, 404)
    outsider = f"/api/v1/coordinator/members/{town.carol.id}/reset-code"
    assert (await client.post(outsider, headers=town.coordinator.headers)).status_code == 404
    issued = await client.post(path, headers=town.coordinator.headers)
    assert issued.status_code == 201, issued.text
    code = issued.json()["code"]
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    typed = " " + code.lower().replace("-", " ") + " "  # as read out and typed on a phone
    used = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": typed, "password": NEW_PASSWORD}
    )
    assert used.status_code == 204, used.text
    assert await sign_in_status(town, town.bob.email, NEW_PASSWORD) == 201
    again = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": code, "password": PASSWORD + "x"}
    )
    assert again.status_code == 400
    audit = await client.get(
        "/api/v1/admin/audit?action=member.reset_code_issued", headers=town.admin.headers
    )
    assert audit.status_code == 200
    assert str(town.bob.id) in audit.text
