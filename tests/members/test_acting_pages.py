"""The pages of acting for a member, through HTTP on both engines (ADR 0031).

A session in acting mode runs the member's pages as the member, under a banner
with a way out; other pages run as the coordinator; the exchange page names both
people; a member's consent is a button on the profile page.
"""

from __future__ import annotations

import uuid

from tests.support.exchanges import propose
from tests.support.pages import sign_in, submit, text_of
from tests.support.people import Person, Town

BANNER = "You are acting for Doreen Walsh"


async def add_doreen(town: Town) -> Person:
    response = await town.client.post(
        "/api/v1/coordinator/members",
        headers=town.coordinator.headers,
        json={"display_name": "Doreen Walsh", "community": "riverside"},
    )
    assert response.status_code == 201, response.text
    member_id = uuid.UUID(response.json()["id"])
    return Person(member_id, "", {**town.coordinator.headers, "On-Behalf-Of": str(member_id)})


async def start_acting(town: Town, member_id: uuid.UUID) -> None:
    page = f"/coordinator/members/{member_id}/act"
    started = await submit(town, page, page, {})
    assert started.status_code == 303, started.text
    assert started.headers["location"] == "/dashboard"


async def test_acting_mode_runs_her_pages_and_names_both_on_the_exchange(town: Town) -> None:
    doreen = await add_doreen(town)
    await sign_in(town, town.coordinator)
    before = await town.client.get("/dashboard")
    assert BANNER not in text_of(before.text)
    await start_acting(town, doreen.id)

    dashboard = text_of((await town.client.get("/dashboard")).text)
    assert BANNER in dashboard
    assert "Hello, Doreen Walsh" in dashboard
    # Her dashboard never links to pages that would show the coordinator's own
    # profile or data; it points to her file at the desk instead.
    raw = (await town.client.get("/dashboard")).text
    assert 'href="/profile"' not in raw
    assert 'href="/profile/export"' not in raw
    assert f'href="/coordinator/members/{doreen.id}"' in raw
    assert 'href="/profile"' in before.text
    # A coordinator page still runs as the coordinator, under the same banner.
    coordinator_page = await town.client.get("/coordinator/members")
    assert coordinator_page.status_code == 200
    assert BANNER in text_of(coordinator_page.text)

    exchange = await propose(town, town.alice, town.alice, [doreen], minutes=30)
    page = f"/exchanges/{exchange['id']}"
    accepted = await submit(town, page, f"{page}/accept", {})
    assert accepted.status_code == 303, accepted.text
    shown = text_of((await town.client.get(page)).text)
    assert "recorded by Cora for Doreen Walsh" in shown
    assert BANNER in shown

    stop = await submit(town, "/dashboard", "/acting/stop", {})
    assert stop.status_code == 303
    assert stop.headers["location"] == f"/coordinator/members/{doreen.id}/act?done=stopped"
    after = text_of((await town.client.get("/dashboard")).text)
    assert BANNER not in after
    assert "Hello, Doreen Walsh" not in after


async def test_a_member_consents_on_the_profile_page_and_can_take_it_back(town: Town) -> None:
    await sign_in(town, town.bob)
    said_yes = await submit(town, "/profile", "/profile/consent", {"coordinator_may_act": "yes"})
    assert said_yes.status_code == 303
    profile = text_of((await town.client.get("/profile?done=consent-on")).text)
    assert "A coordinator of your time bank may now act for you." in profile
    assert "You allowed this on" in profile
    me = await town.client.get("/api/v1/me", headers=town.bob.headers)
    assert me.json()["coordinator_may_act"] is True
    said_no = await submit(town, "/profile", "/profile/consent", {})
    assert said_no.status_code == 303
    me = await town.client.get("/api/v1/me", headers=town.bob.headers)
    assert me.json()["coordinator_may_act"] is False


async def test_acting_stops_working_when_consent_is_withdrawn(town: Town) -> None:
    consent = await town.client.put(
        "/api/v1/me/consent", headers=town.bob.headers, json={"coordinator_may_act": True}
    )
    assert consent.status_code == 200
    await sign_in(town, town.coordinator)
    await start_acting(town, town.bob.id)
    assert "You are acting for Bob" in text_of((await town.client.get("/dashboard")).text)
    await town.client.put(
        "/api/v1/me/consent", headers=town.bob.headers, json={"coordinator_may_act": False}
    )
    refused = await town.client.get("/dashboard")
    assert refused.status_code == 403
    # The way out is still on the page.
    assert "Stop acting for Bob" in text_of(refused.text)
    stop = await submit(town, "/coordinator/members", "/acting/stop", {})
    assert stop.status_code == 303
    assert (await town.client.get("/dashboard")).status_code == 200


async def test_a_coordinator_cannot_act_for_a_member_of_another_community(town: Town) -> None:
    await sign_in(town, town.coordinator)
    page = await town.client.get(f"/coordinator/members/{town.carol.id}/act")
    assert page.status_code == 404
    own = f"/coordinator/members/{town.bob.id}/act"
    shown = text_of((await town.client.get(own)).text)
    assert "only after they allow it" in shown
    refused = await submit(town, own, own, {})
    assert refused.status_code == 403
    assert (await town.client.get("/dashboard")).status_code == 200


async def test_the_invitation_form(town: Town) -> None:
    doreen = await add_doreen(town)
    await sign_in(town, town.coordinator)
    page = f"/coordinator/members/{doreen.id}/act"
    action = f"/coordinator/members/{doreen.id}/invitation"
    bad = await submit(town, page, action, {"email": "not an address"})
    assert bad.status_code == 422
    assert "Enter an email address in the right format" in text_of(bad.text)
    taken = await submit(town, page, action, {"email": town.alice.email})
    assert taken.status_code == 422
    assert "is used by another account" in text_of(taken.text)
    sent = await submit(town, page, action, {"email": "doreen@example.org"})
    assert sent.status_code == 303
    assert sent.headers["location"] == f"{page}?done=invited"
