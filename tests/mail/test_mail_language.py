"""A mail is written in its reader's language: the one the member chose, else English."""

from __future__ import annotations

import uuid

from service.members.tables import Member
from tests.mail.smtp_peer import SmtpPeer
from tests.mail.support import Mailroom, smtp_to
from tests.support.people import Town


async def _choose_language(room: Mailroom, member_id: uuid.UUID, language: str | None) -> None:
    async def write() -> None:
        await Member.update({Member.language: language}).where(Member.id == member_id).run()

    await room.run(write)


async def test_a_member_who_chose_welsh_gets_the_mail_in_welsh(
    town: Town, smtp_peer: SmtpPeer
) -> None:
    room = Mailroom(town.client)
    await _choose_language(room, town.alice.id, "cy")
    await room.queue(town.alice.id)
    assert await room.send(smtp_to(smtp_peer.url)) == 1
    [got] = await smtp_peer.catcher.wait_for(1)
    assert got.message["Subject"] == "Mae Bob wedi derbyn eich cyfnewid"
    text = got.text()
    assert "Helo Alice," in text
    assert "Gyda dymuniadau gorau," in text
    assert "Gweld y cyfnewid" in text
    assert "A lift to the clinic" in text  # the member's own words stay as written
    for english in ("Hello", "has accepted", "With best wishes", "See the exchange"):
        assert english not in text
    assert '<html lang="cy">' in got.html()
    assert "Mae Bob wedi derbyn y cyfnewid" in got.html()


async def test_a_member_who_chose_no_language_gets_the_mail_in_english(
    town: Town, smtp_peer: SmtpPeer
) -> None:
    room = Mailroom(town.client)
    await _choose_language(room, town.alice.id, "cy")  # another member's choice is not theirs
    await room.queue(town.bob.id)
    assert await room.send(smtp_to(smtp_peer.url)) == 1
    [got] = await smtp_peer.catcher.wait_for(1)
    assert got.recipients == ["bob@example.org"]
    assert got.message["Subject"] == "Bob has accepted your exchange"
    assert "Hello Bob," in got.text()
    assert "With best wishes," in got.text()
    assert '<html lang="en-GB">' in got.html()


async def test_a_welsh_digest_is_in_welsh(town: Town, smtp_peer: SmtpPeer) -> None:
    room = Mailroom(town.client)
    await _choose_language(room, town.alice.id, "cy")
    saved = await town.client.put(
        "/api/v1/me/notifications", json={"email": "daily"}, headers=town.alice.headers
    )
    assert saved.status_code == 200, saved.text
    first = await room.queue(town.alice.id)
    await room.queue(town.alice.id, kind="exchange_completed", other_name="Carol")
    assert first is not None
    due = (await room.row(first))["next_attempt_at"]
    assert await room.send(smtp_to(smtp_peer.url), now=due) == 2
    [digest] = await smtp_peer.catcher.wait_for(1)
    assert digest.message["Subject"] == "Newyddion gan Riverside"
    assert "Mae Bob wedi derbyn eich cyfnewid" in digest.text()
    assert "Dyma beth sydd wedi digwydd yn Riverside" in digest.text()
