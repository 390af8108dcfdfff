"""`timebank demo --language cy`: the demo's words in Welsh, its people and shape the same."""

from __future__ import annotations

from pathlib import Path

from service.demo.people import DEMO_PEOPLE
from service.events.tables import EventSeries
from service.listings.tables import Listing
from service.members.tables import Community, Member
from tests.conftest import TestDatabase
from tests.support.server import run_timebank


async def test_the_welsh_demo_writes_its_listings_events_and_communities_in_welsh(
    db: TestDatabase, tmp_path: Path
) -> None:
    loaded = run_timebank(db, tmp_path, "demo", "--language", "cy")
    assert loaded.returncode == 0, loaded.stderr
    titles = {row["title"] for row in await Listing.select(Listing.title).run()}
    assert "Help gyda ffonau, llechi a chyfrifiaduron" in titles
    assert "Help with phones, tablets and computers" not in titles
    names = {row["name"] for row in await Community.select(Community.name).run()}
    assert names == {"Banc Amser Glan yr Afon", "Banc Amser Maes y Deri"}
    [club] = await EventSeries.select(EventSeries.title).run()
    assert club["title"] == "Te a sgwrs ddydd Mawrth"
    # The people are the same in every language (they sign in with the same addresses).
    emails = {row["email"] for row in await Member.select(Member.email).run()}
    assert emails == {person.email for person in DEMO_PEOPLE}

    again = run_timebank(db, tmp_path, "demo", "--language", "cy")
    assert again.returncode == 0, again.stderr
    assert "nothing changed" in again.stdout


async def test_the_demo_refuses_a_language_it_does_not_have(
    db: TestDatabase, tmp_path: Path
) -> None:
    refused = run_timebank(db, tmp_path, "demo", "--language", "fr")
    assert refused.returncode == 2
    assert "--language" in refused.stderr
