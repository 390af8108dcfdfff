"""A mail is written in its reader's language: the one the member chose, else English."""

from __future__ import annotations

import uuid

from service.i18n import use_language
from service.mail.messages import wording_of
from service.members.tables import Member
from tests.mail.support import Mailroom, smtp_to
from tests.support.people import Town
from tests.support.smtp_peer import SmtpPeer


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


# Facts queued with a mail are worded when it is written, in its reader's language; the
# English words queued beside them are what older messages (queued before) still use.
FACTS_AND_WORDS = {
    "minutes": 60,
    "description": "A lift to the clinic",
    "exchange_id": str(uuid.UUID(int=1)),
    "other_name": "A coordinator",
    "other_unnamed": True,
    "service_date": "Friday 4 December 2026",
    "service_on": "2026-12-04T10:00:00+00:00",
    "reason": "I am away that week",
    "reason_words": "They said: I am away that week",
}


def test_facts_in_a_mail_are_worded_in_the_readers_language() -> None:
    with use_language("cy"):
        declined = wording_of("exchange_declined", FACTS_AND_WORDS)
        proposed = wording_of("exchange_proposed", FACTS_AND_WORDS)
        decided = wording_of(
            "dispute_decided", {**FACTS_AND_WORDS, "outcome_words": "the hours have gone back"}
        )
    welsh = " ".join([declined.subject, *declined.paragraphs, *proposed.paragraphs])
    assert "Cydlynydd" in declined.subject
    assert "Dywedon nhw: I am away that week" in welsh  # the member's own words as written
    assert "Rhagfyr 2026" in welsh
    for english in ("A coordinator", "They said", "December", "Friday"):
        assert english not in welsh
    assert "oriau wedi mynd yn ôl" in " ".join(decided.paragraphs)


def test_facts_in_a_mail_read_as_before_in_english() -> None:
    with use_language("en"):
        declined = wording_of("exchange_declined", FACTS_AND_WORDS)
        proposed = wording_of("exchange_proposed", FACTS_AND_WORDS)
        without_reason = wording_of("exchange_declined", {**FACTS_AND_WORDS, "reason": ""})
    assert declined.subject == "A coordinator has declined an exchange"
    assert "They said: I am away that week" in declined.paragraphs[0]
    assert "Friday 4 December 2026" in " ".join(proposed.paragraphs)
    assert "They did not give a reason." in without_reason.paragraphs[0]
