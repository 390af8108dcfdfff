"""Every mailed event is also an in-app notice (issue 15), on both engines.

The audit: each event kind a feature mails (service/mail/messages.py, all but
account mail) lands in GET /api/v1/me/notices `events`, worded as the mail,
even for a member whose email is off. A closure that calls off an exchange tells
the other party by mail (through the real SMTP peer) and by notice, without the
leaving member's name; the leaving member's own notices go with their data.
"""

from __future__ import annotations

from service.mail.messages import MESSAGE_KINDS
from service.mail.tables import MailNotice
from tests.mail.support import Mailroom, smtp_to
from tests.support.exchanges import notices, ok, propose
from tests.support.people import Town
from tests.support.smtp_peer import SmtpPeer

# Account mail: sent whatever the preference, about the account, never a notice.
ACCOUNT_KINDS = {
    "password_reset",
    "password_changed",
    "email_change_confirm",
    "email_change_notice",
    "register_taken",
    "invitation",
}
EVERY_FIELD = {
    "confirm_by": "Friday 11 December 2026",
    "dispute_id": "00000000-0000-4000-8000-000000000002",
    "outcome_words": "the exchange stands as it was",
    "reason": "We are full this month",
    "conversation_id": "00000000-0000-4000-8000-000000000003",
    "concern_id": "00000000-0000-4000-8000-000000000004",
    "outcome": "We spoke to both members.",
    # Issue 18: checks, listing renewal, thanks.
    "about_member_id": "00000000-0000-4000-8000-000000000003",
    "member_name": "Bob",
    "check_name": "DBS check",
    "expires_on": "Friday 11 December 2026",
    "title": "Help with shopping",
    "listing_days": 90,
    "author_name": "Bob",
    "text": "Thank you",
    "receiver_id": "00000000-0000-4000-8000-000000000004",
    "reason_words": "They said: I am away that week",
    # Issue 19: events.
    "event_id": "00000000-0000-4000-8000-000000000005",
    "event_title": "Tuesday tea club",
    "starts_words": "Tuesday 8 December 2026 at 2 pm",
    "place": "Riverside hall",
}


async def test_every_event_kind_becomes_a_notice_even_with_email_off(town: Town) -> None:
    room = Mailroom(town.client)
    off = await town.client.put(
        "/api/v1/me/notifications", headers=town.alice.headers, json={"email": "off"}
    )
    assert off.status_code == 200, off.text
    event_kinds = sorted(MESSAGE_KINDS - ACCOUNT_KINDS)
    for kind in event_kinds:
        assert await room.queue(town.alice.id, kind, **EVERY_FIELD) is None  # no mail: off
    events = (await notices(town, town.alice))["events"]
    assert sorted(event["kind"] for event in events) == event_kinds
    for event in events:
        assert event["subject"]
        assert event["link"].startswith("/")


async def test_a_closure_that_calls_off_an_exchange_tells_the_other_party(
    town: Town, smtp_peer: SmtpPeer
) -> None:
    room = Mailroom(town.client)
    exchange = await propose(town, town.alice, town.bob, [town.alice], minutes=40)
    await ok(town, town.bob, exchange, "accept")
    bob_notices_before = await MailNotice.count().where(MailNotice.member == town.bob.id).run()
    assert bob_notices_before > 0
    closed = await town.client.delete("/api/v1/me", headers=town.bob.headers)
    assert closed.status_code == 204, closed.text

    [event] = [
        e
        for e in (await notices(town, town.alice))["events"]
        if e["kind"] == "exchange_cancelled_closure"
    ]
    assert event["link"] == f"/exchanges/{exchange['id']}"
    assert "Bob" not in event["text"]
    assert await MailNotice.count().where(MailNotice.member == town.bob.id).run() == 0
    await room.send(smtp_to(smtp_peer.url))
    received = await smtp_peer.catcher.wait_for(3)
    [mail] = [
        got for got in received if got.message["Subject"] == "An exchange has been called off"
    ]
    assert mail.recipients == ["alice@example.org"]
    assert "40 minutes" in mail.text()
