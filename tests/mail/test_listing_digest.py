"""The weekly digest of matching offers and requests (issue 15), on both engines, through
the real SMTP peer: skills find requests, past requests (the nearest thing to wishes)
find offers; once a week per member who wants mail, only new listings, own community."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from service.listings.digest import listing_digest_sweep, skill_words
from service.mail.tables import MailMessage
from tests.mail.support import Mailroom, smtp_to
from tests.support.exchanges import notices
from tests.support.listings import create
from tests.support.people import Person, Town
from tests.support.smtp_peer import SmtpPeer


def test_skill_words_drop_short_and_common_words_and_plurals() -> None:
    assert skill_words("Gardening, lifts to town and help with IT") == {
        "gardening",
        "lift",
        "town",
    }


async def set_skills(town: Town, who: Person, skills: str) -> None:
    response = await town.client.patch("/api/v1/me", headers=who.headers, json={"skills": skills})
    assert response.status_code == 200, response.text


async def digests_to(address: str) -> int:
    return int(
        await MailMessage.count()
        .where((MailMessage.kind == "listing_digest") & (MailMessage.to_address == address))
        .run()
    )


async def sweep(town: Town, now: datetime) -> int:
    return await listing_digest_sweep(engine=town.app.state.engine, now=now)


async def test_a_weekly_digest_of_what_matches_once(town: Town, smtp_peer: SmtpPeer) -> None:
    room = Mailroom(town.client)
    await set_skills(town, town.alice, "Gardening, lifts to town")
    await create(town, town.alice, kind="request", title="Someone to walk my dog", category="pets")
    await create(town, town.bob, kind="request", title="Lift to the clinic", category="transport")
    await create(town, town.bob, kind="offer", title="Dog walking", category="pets")
    await create(town, town.bob, kind="offer", title="Sunday roast", category="cooking")
    await create(
        town, town.carol, kind="request", title="Lift to the station", category="transport"
    )
    now = datetime.now(UTC)  # after every listing above was published
    # Two sweeps at once, as two workers would run them: one digest for Alice.
    await asyncio.gather(sweep(town, now), sweep(town, now))
    assert await digests_to("alice@example.org") == 1
    assert await digests_to("bob@example.org") == 0  # nothing of Alice's matches Bob
    assert await sweep(town, now + timedelta(days=1)) == 0  # once a week
    await room.send(smtp_to(smtp_peer.url))
    received = await smtp_peer.catcher.wait_for(1)
    [mail] = [got for got in received if "may suit you" in got.message["Subject"]]
    assert mail.recipients == ["alice@example.org"]
    text = mail.text()
    assert "Asked for by Bob: Lift to the clinic" in text
    assert "Offered by Bob: Dog walking" in text
    assert "Sunday roast" not in text  # no skill or past request of Alice's
    assert "Lift to the station" not in text  # another community's
    assert "walk my dog" not in text  # her own
    [event] = [
        e for e in (await notices(town, town.alice))["events"] if e["kind"] == "listing_digest"
    ]
    assert event["link"] == "/listings"
    # A week later only what is new since then.
    await create(town, town.bob, kind="request", title="Help in the garden", category="gardening")
    assert await sweep(town, now + timedelta(days=7)) == 1
    rows = (
        await MailMessage.select(MailMessage.context_json)
        .where(
            (MailMessage.kind == "listing_digest") & (MailMessage.to_address == "alice@example.org")
        )
        .order_by(MailMessage.created_at)
        .run()
    )
    assert "Help in the garden" in rows[-1]["context_json"]
    assert "Lift to the clinic" not in rows[-1]["context_json"]


async def test_no_digest_for_a_member_with_mail_off(town: Town) -> None:
    await set_skills(town, town.alice, "Transport")
    off = await town.client.put(
        "/api/v1/me/notifications", headers=town.alice.headers, json={"email": "off"}
    )
    assert off.status_code == 200, off.text
    await create(town, town.bob, kind="request", title="A lift please", category="transport")
    await sweep(town, datetime.now(UTC) + timedelta(seconds=1))
    assert await digests_to("alice@example.org") == 0
