"""The desk's pages through HTTP, on both engines: search by phone with a plain GET form,
a member's file, declining with a reason, and the declined member's dashboard."""

from __future__ import annotations

from tests.support.exchanges import completed
from tests.support.listings import create
from tests.support.pages import page_sign_in, submit, text_of
from tests.support.people import Person, Town


async def set_phone(town: Town, who: Person, phone: str) -> None:
    response = await town.client.patch("/api/v1/me", headers=who.headers, json={"phone": phone})
    assert response.status_code == 200, response.text


async def test_the_desk_finds_a_member_by_phone_and_shows_their_file(town: Town) -> None:
    await set_phone(town, town.bob, "07700 900 123")
    await page_sign_in(town.client, town.coordinator.email)
    found = await town.client.get("/coordinator/members", params={"q": "07700900123"})
    assert found.status_code == 200
    assert 'role="search"' in found.text
    assert f'href="/coordinator/members/{town.bob.id}"' in found.text
    assert f'href="/coordinator/members/{town.alice.id}"' not in found.text
    words = text_of(found.text)
    assert "Members who match your search" in words
    assert "Bob Active Yes 2 hours 2 hours None yet 0" in words
    everyone = await town.client.get("/coordinator/members")
    assert f'href="/coordinator/members/{town.alice.id}"' in everyone.text
    nobody = await town.client.get("/coordinator/members", params={"q": "zzz"})
    assert "Nobody matches your search." in nobody.text
    bad = await town.client.get("/coordinator/members", params={"inactive_days": "soon"})
    assert bad.status_code == 200
    assert "Enter a number of days from 1 to 3650" in bad.text
    exchange = await completed(town, town.bob, [town.alice], minutes=45)
    listing = await create(town, town.bob, title="Lifts to the surgery")
    file = await town.client.get(f"/coordinator/members/{town.bob.id}")
    assert file.status_code == 200
    assert f'href="/exchanges/{exchange["id"]}"' in file.text
    assert f'href="/listings/{listing["id"]}"' in file.text
    words = text_of(file.text)
    assert "Help with the garden (45 minutes, the helper: Bob, completed)" in words
    assert "Offer: Lifts to the surgery" in words
    assert "Balance 2 hours 45 minutes" in words
    assert "Phone 07700 900 123" in words
    assert f"Email {town.bob.email}" in words
    assert "Welcome hours" in words
    assert f'href="/coordinator/members/{town.bob.id}/reset-code"' in file.text
    other = await town.client.get(f"/coordinator/members/{town.carol.id}")
    assert other.status_code == 404


async def test_a_coordinator_declines_with_a_reason_and_the_applicant_reads_it(
    town: Town,
) -> None:
    await page_sign_in(town.client, town.admin.email)
    desk = await town.client.get("/coordinator/members", params={"community": "oakfield"})
    decline_link = f'href="/coordinator/members/{town.pending.id}/decline"'
    assert decline_link in desk.text
    page = f"/coordinator/members/{town.pending.id}/decline"
    empty = await submit(town, page, page, {"reason": "  "})
    assert empty.status_code == 422
    assert "Give the reason, in 1000 characters or fewer" in empty.text
    done = await submit(town, page, page, {"reason": "Oakfield is full this month."})
    assert done.status_code == 303
    assert done.headers["location"] == "/coordinator/members?community=oakfield&done=declined"
    after = await town.client.get(done.headers["location"])
    assert "The application has been declined." in after.text
    assert "Nobody is waiting for approval in Oakfield." in after.text
    town.client.cookies.clear()
    await page_sign_in(town.client, town.pending.email)
    dashboard = text_of((await town.client.get("/dashboard")).text)
    assert "could not approve your membership" in dashboard
    assert "The reason they gave: Oakfield is full this month." in dashboard
    # One button applies again: waiting for approval once more, on the desk too.
    again = await submit(town, "/dashboard", "/membership/apply-again", {})
    assert again.status_code == 303
    waiting = text_of((await town.client.get("/dashboard")).text)
    assert "Your membership is waiting for approval." in waiting
    assert "could not approve" not in waiting
    pending = await town.client.get(
        "/api/v1/coordinator/members", headers=town.admin.headers, params={"status": "pending"}
    )
    assert [item["id"] for item in pending.json()["items"]] == [str(town.pending.id)]
