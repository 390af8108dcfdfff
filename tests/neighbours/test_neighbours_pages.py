"""The neighbours pages through HTTP, on both engines: checks on the desk's member file,
the directory page with its filters and pages, the thanks form's refusals, and the
profile a stranger cannot open."""

from __future__ import annotations

from datetime import timedelta

from service import clock
from tests.support.exchanges import completed, propose
from tests.support.pages import page_sign_in, submit, text_of
from tests.support.people import Person, Town


async def set_profile(town: Town, who: Person, **fields: str) -> None:
    response = await town.client.patch("/api/v1/me", headers=who.headers, json=fields)
    assert response.status_code == 200, response.text


async def test_a_coordinator_records_a_check_on_the_member_file(town: Town) -> None:
    await page_sign_in(town.client, town.coordinator.email)
    page = f"/coordinator/members/{town.bob.id}"
    action = f"{page}/checks"
    empty = text_of((await town.client.get(page)).text)
    assert "Safeguarding checks" in empty and "No checks recorded yet." in empty
    bad = await submit(town, page, action, {"kind": "", "checked_on": "soon", "expires_on": ""})
    assert bad.status_code == 422
    assert "Choose the kind of check" in bad.text
    assert "Enter the day of the check" in bad.text
    today = clock.local_today()
    future = await submit(
        town, page, action, {"kind": "dbs", "checked_on": (today + timedelta(days=3)).isoformat()}
    )
    assert future.status_code == 422
    assert "cannot be in the future" in future.text
    done = await submit(
        town,
        page,
        action,
        {
            "kind": "dbs",
            "checked_on": (today - timedelta(days=30)).isoformat(),
            "expires_on": (today + timedelta(days=700)).isoformat(),
        },
    )
    assert done.status_code == 303, done.text
    after = text_of((await town.client.get(done.headers["location"])).text)
    assert "The check has been recorded." in after
    assert "DBS check" in after and "Yes" in after
    # A coordinator of another community cannot post to this member's file.
    other = await town.client.get(f"/coordinator/members/{town.carol.id}")
    assert other.status_code == 404


async def test_the_directory_page_searches_and_never_shows_contacts(town: Town) -> None:
    await set_profile(town, town.bob, skills="Tablets", ward="Weir", phone="07700 900 123")
    await page_sign_in(town.client, town.alice.email)
    everyone = await town.client.get("/members")
    assert everyone.status_code == 200
    assert f'href="/members/{town.bob.id}"' in everyone.text
    assert "07700" not in everyone.text and "bob@example.org" not in everyone.text
    found = await town.client.get("/members", params={"skill": "tablet"})
    words = text_of(found.text)
    assert "Neighbours who match your search" in words and "Bob" in words
    assert f'href="/members/{town.alice.id}"' not in found.text
    nobody = await town.client.get("/members", params={"skill": "juggling"})
    assert "Nobody matches your search." in nobody.text
    profile = await town.client.get(f"/members/{town.bob.id}")
    assert profile.status_code == 200
    assert "07700" not in profile.text and "bob@example.org" not in profile.text
    stranger = await town.client.get(f"/members/{town.carol.id}")
    assert stranger.status_code == 404


async def test_the_thanks_form_refuses_early_and_second_notes(town: Town) -> None:
    proposed = await propose(town, town.alice, town.bob, [town.alice])
    exchange = await completed(town, town.bob, [town.alice])
    await page_sign_in(town.client, town.alice.email)
    early_page = f"/exchanges/{proposed['id']}/thanks"
    early = await submit(town, early_page, early_page, {"text": "Thanks"})
    assert early.status_code == 409
    assert "once the help has been confirmed" in early.text
    page = f"/exchanges/{exchange['id']}"
    blank = await submit(town, page, f"{page}/thanks", {"text": " "})
    assert blank.status_code == 422
    assert "Write your thank-you note" in blank.text
    done = await submit(town, page, f"{page}/thanks", {"text": "Thank you, Bob"})
    assert done.status_code == 303
    shown = text_of((await town.client.get(done.headers["location"])).text)
    assert "You thanked them: “Thank you, Bob”" in shown
    again = await submit(town, f"{page}/thanks", f"{page}/thanks", {"text": "And again"})
    assert again.status_code == 409
    assert "already thanked them" in again.text
