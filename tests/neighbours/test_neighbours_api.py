"""Issue 18 items 1, 5 and 6 through the JSON API, on both engines: the directory and
profiles (and what they never show), thanks, safeguarding checks gating help at home,
and listing expiry with renewal."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from service import clock
from service.checks.services import checks_expiry_sweep
from service.checks.tables import SafeguardingCheck
from service.listings.expiry import listing_expiry_sweep
from service.listings.tables import Listing
from service.members.tables import Community
from service.neighbours.tables import Thanks
from tests.support.exchanges import completed, days_ago, notices, ok, propose
from tests.support.listings import create, titles
from tests.support.people import Person, Town, grant, person, sign_in

CONTACT_KEYS = {"email", "phone"}


def keys_of(value: Any) -> Iterator[str]:
    """Every key anywhere in a JSON value."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from keys_of(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from keys_of(inner)


def ok_json(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def set_skills(town: Town, who: Person, **fields: str) -> None:
    ok_json(await town.client.patch("/api/v1/me", headers=who.headers, json=fields))


async def directory(town: Town, who: Person, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = ok_json(
        await town.client.get("/api/v1/members", headers=who.headers, params=params)
    )
    return body


def names(page: dict[str, Any]) -> list[str]:
    return [item["display_name"] for item in page["items"]]


# Directory and profiles -----------------------------------------------------------


async def test_the_directory_lists_approved_members_of_own_community_only(town: Town) -> None:
    await set_skills(town, town.bob, skills="Tablets and phones", ward="Weir", phone="0700 900")
    page = await directory(town, town.alice)
    listed = names(page)
    assert "Bob" in listed and "Alice" in listed
    assert "Carol" not in listed  # hillside
    assert "Pat" not in listed  # pending, and in oakfield
    assert not CONTACT_KEYS & set(keys_of(page))
    assert "0700 900" not in str(page) and "bob@example.org" not in str(page)
    # Carol (hillside) sees no riverside member.
    assert "Bob" not in names(await directory(town, town.carol))


async def test_applicants_are_not_listed_and_cannot_look(town: Town) -> None:
    olga = await person(town.client, "olga@example.org", "oakfield")
    ok_json(
        await town.client.post(
            f"/api/v1/coordinator/members/{olga.id}/approve", headers=town.admin.headers
        )
    )
    olga_now = await sign_in(town.client, olga.email)
    listed = names(await directory(town, Person(olga.id, olga.email, olga_now)))
    assert listed == ["Olga"]  # Pat is still waiting for approval in oakfield
    refused = await town.client.get("/api/v1/members", headers=town.pending.headers)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "approval_pending"


async def test_the_directory_filters_by_skill_name_and_ward(town: Town) -> None:
    await set_skills(town, town.bob, skills="Setting up tablets", ward="Weir")
    await set_skills(town, town.alice, skills="Gardening", ward="Mill")
    assert names(await directory(town, town.alice, skill="tablets")) == ["Bob"]
    assert names(await directory(town, town.alice, skill="TABLET")) == ["Bob"]
    assert names(await directory(town, town.alice, ward="mill")) == ["Alice"]
    assert names(await directory(town, town.alice, q="bo")) == ["Bob"]
    assert names(await directory(town, town.alice, skill="%")) == []
    assert names(await directory(town, town.alice, skill="tablets", ward="Mill")) == []


async def test_the_directory_pages(town: Town) -> None:
    for number in range(21):
        ok_json(
            await town.client.post(
                "/api/v1/coordinator/members",
                headers=town.coordinator.headers,
                json={"display_name": f"Neighbour {number:02d}", "community": "riverside"},
            ),
            201,
        )
    first = await directory(town, town.alice)
    assert len(first["items"]) == 20 and first["next_page"] == 2
    second = await directory(town, town.alice, page=2)
    assert second["next_page"] is None
    assert not set(names(first)) & set(names(second))
    bad = await town.client.get("/api/v1/members", headers=town.alice.headers, params={"page": 0})
    assert bad.status_code == 400, bad.text


async def test_a_profile_shows_help_and_thanks_and_never_contact_details(town: Town) -> None:
    await set_skills(
        town, town.bob, skills="Tablets", help_wanted="A lift to the clinic", phone="0700 900"
    )
    exchange = await completed(town, town.bob, [town.alice])
    ok_json(
        await town.client.post(
            f"/api/v1/exchanges/{exchange['id']}/thanks",
            headers=town.alice.headers,
            json={"text": "Bob set up my tablet so I can see my grandson."},
        ),
        201,
    )
    profile = ok_json(
        await town.client.get(f"/api/v1/members/{town.bob.id}/profile", headers=town.alice.headers)
    )
    assert profile["skills"] == "Tablets"
    assert profile["help_wanted"] == "A lift to the clinic"
    assert profile["exchanges_completed"] == 1
    assert [thanks["text"] for thanks in profile["thanks_received"]] == [
        "Bob set up my tablet so I can see my grandson."
    ]
    assert profile["thanks_received"][0]["author_name"] == "Alice"
    assert profile["member_since"]
    assert not CONTACT_KEYS & set(keys_of(profile))
    assert "0700 900" not in str(profile)


async def test_a_profile_outside_ones_communities_is_not_found(town: Town) -> None:
    for who, member_id in (
        (town.carol, town.bob.id),  # another community
        (town.alice, town.pending.id),  # not approved
        (town.alice, uuid.uuid4()),  # nobody
    ):
        response = await town.client.get(
            f"/api/v1/members/{member_id}/profile", headers=who.headers
        )
        assert response.status_code == 404, response.text


# Thanks -----------------------------------------------------------------------------


async def thank(town: Town, who: Person, exchange: dict[str, Any], text: str) -> httpx.Response:
    return await town.client.post(
        f"/api/v1/exchanges/{exchange['id']}/thanks", headers=who.headers, json={"text": text}
    )


async def test_each_party_thanks_the_other_once_after_completion(town: Town) -> None:
    exchange = await completed(town, town.bob, [town.alice])
    by_alice = ok_json(await thank(town, town.alice, exchange, "Thank you, Bob"), 201)
    assert by_alice["receiver_id"] == str(town.bob.id)
    by_bob = ok_json(await thank(town, town.bob, exchange, "Lovely to meet you"), 201)
    assert by_bob["receiver_id"] == str(town.alice.id)
    again = await thank(town, town.alice, exchange, "Thanks again")
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "thanks_already_given"
    told = await notices(town, town.bob)
    assert any("thanked you" in str(notice) for notice in told["events"])


async def test_thanks_before_completion_or_by_others_is_refused(town: Town) -> None:
    exchange = await propose(town, town.alice, town.bob, [town.alice])
    early = await thank(town, town.alice, exchange, "Thank you in advance")
    assert early.status_code == 409, early.text
    assert early.json()["code"] == "exchange_not_completed"
    done = await completed(town, town.bob, [town.alice])
    for outsider in (town.carol, town.coordinator):
        response = await thank(town, outsider, done, "Well done")
        assert response.status_code == 404, response.text
    blank = await thank(town, town.alice, done, "")
    assert blank.status_code == 400, blank.text
    long = await thank(town, town.alice, done, "x" * 501)
    assert long.status_code == 400, long.text


async def test_the_receiver_hides_and_shows_a_note(town: Town) -> None:
    exchange = await completed(town, town.bob, [town.alice])
    note = ok_json(await thank(town, town.alice, exchange, "Thank you, Bob"), 201)
    url = f"/api/v1/members/{town.bob.id}/profile"
    # Only the receiver may hide it.
    refused = await town.client.post(
        f"/api/v1/me/thanks/{note['id']}/hide", headers=town.alice.headers
    )
    assert refused.status_code == 404, refused.text
    hidden = ok_json(
        await town.client.post(f"/api/v1/me/thanks/{note['id']}/hide", headers=town.bob.headers)
    )
    assert hidden["hidden"] is True
    seen_by_alice = ok_json(await town.client.get(url, headers=town.alice.headers))
    assert seen_by_alice["thanks_received"] == []
    seen_by_bob = ok_json(await town.client.get(url, headers=town.bob.headers))
    assert [thanks["hidden"] for thanks in seen_by_bob["thanks_received"]] == [True]
    ok_json(
        await town.client.post(f"/api/v1/me/thanks/{note['id']}/show", headers=town.bob.headers)
    )
    shown = ok_json(await town.client.get(url, headers=town.alice.headers))
    assert len(shown["thanks_received"]) == 1


# Checks -----------------------------------------------------------------------------


async def require_home_checks(slug: str = "riverside") -> None:
    await Community.update({Community.home_check_required: True}).where(Community.slug == slug)


async def record_check(
    town: Town, who: Person, *, checked_on: date, expires_on: date | None, kind: str = "dbs"
) -> httpx.Response:
    body: dict[str, Any] = {"kind": kind, "checked_on": checked_on.isoformat()}
    if expires_on is not None:
        body["expires_on"] = expires_on.isoformat()
    return await town.client.post(
        f"/api/v1/coordinator/members/{who.id}/checks", headers=town.coordinator.headers, json=body
    )


def in_home_body(provider: Person, recipient: Person, **extra: Any) -> dict[str, Any]:
    return {
        "provider_id": str(provider.id),
        "recipient_id": str(recipient.id),
        "minutes": 60,
        "service_date": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
        "description": "Help setting up a tablet at home",
        "in_home": True,
        **extra,
    }


async def test_help_at_home_without_a_valid_check_is_refused_and_coordinators_told(
    town: Town,
) -> None:
    await require_home_checks()
    today = clock.local_today()
    refused = await town.client.post(
        "/api/v1/exchanges", headers=town.alice.headers, json=in_home_body(town.bob, town.alice)
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "safeguarding_check_required"
    told = await notices(town, town.coordinator)
    assert any("safeguarding check" in str(notice).lower() for notice in told["events"])
    # An expired check does not count.
    ok_json(
        await record_check(
            town,
            town.bob,
            checked_on=today - timedelta(days=800),
            expires_on=today - timedelta(days=5),
        ),
        201,
    )
    still = await town.client.post(
        "/api/v1/exchanges", headers=town.alice.headers, json=in_home_body(town.bob, town.alice)
    )
    assert still.status_code == 409, still.text
    # Told once that day, however often the helper is refused.
    told_again = await notices(town, town.coordinator)
    about_checks = [n for n in told_again["events"] if "safeguarding check" in str(n).lower()]
    assert len(about_checks) == 1
    # A valid one does; help not at home never needed one.
    check = ok_json(
        await record_check(
            town,
            town.bob,
            checked_on=today - timedelta(days=10),
            expires_on=today + timedelta(days=700),
        ),
        201,
    )
    assert check["valid"] is True
    ok_json(
        await town.client.post(
            "/api/v1/exchanges",
            headers=town.alice.headers,
            json=in_home_body(town.bob, town.alice),
        ),
        201,
    )


async def test_accepting_help_at_home_asks_for_the_check_again(town: Town) -> None:
    today = clock.local_today()
    proposal = ok_json(
        await town.client.post(
            "/api/v1/exchanges",
            headers=town.alice.headers,
            json=in_home_body(town.bob, town.alice),
        ),
        201,
    )
    assert proposal["in_home"] is True
    await require_home_checks()  # the community asks for checks after the proposal
    refused = await town.client.post(
        f"/api/v1/exchanges/{proposal['id']}/accept", headers=town.bob.headers
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "safeguarding_check_required"
    ok_json(
        await record_check(town, town.bob, checked_on=today, expires_on=None, kind="reference"), 201
    )
    await ok(town, town.bob, proposal, "accept")


async def test_a_listing_for_help_at_home_flags_its_exchanges(town: Town) -> None:
    await require_home_checks()
    listing = await create(town, town.bob, in_home=True)
    assert listing["in_home"] is True
    body = in_home_body(town.bob, town.alice, in_home=False, listing_id=listing["id"])
    refused = await town.client.post("/api/v1/exchanges", headers=town.alice.headers, json=body)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "safeguarding_check_required"


async def test_checks_are_for_coordinators_of_the_members_community(town: Town) -> None:
    today = clock.local_today()
    body = {"kind": "dbs", "checked_on": today.isoformat()}
    as_member = await town.client.post(
        f"/api/v1/coordinator/members/{town.bob.id}/checks", headers=town.alice.headers, json=body
    )
    assert as_member.status_code == 403, as_member.text
    await grant(town.client, town.admin, town.carol, role="coordinator", community="hillside")
    carol = await sign_in(town.client, town.carol.email)
    as_other = await town.client.post(
        f"/api/v1/coordinator/members/{town.bob.id}/checks", headers=carol, json=body
    )
    assert as_other.status_code == 404, as_other.text
    for bad, status in (
        ({"kind": "dbs", "checked_on": (today + timedelta(days=1)).isoformat()}, 422),
        ({"kind": "dbs", "checked_on": today.isoformat(), "expires_on": today.isoformat()}, 422),
        ({"kind": "passport", "checked_on": today.isoformat()}, 400),
    ):
        response = await town.client.post(
            f"/api/v1/coordinator/members/{town.bob.id}/checks",
            headers=town.coordinator.headers,
            json=bad,
        )
        assert response.status_code == status, response.text
    listed = ok_json(
        await town.client.get(
            f"/api/v1/coordinator/members/{town.bob.id}/checks", headers=town.coordinator.headers
        )
    )
    assert listed == []


async def test_the_sweep_warns_coordinators_of_checks_running_out_once(town: Town) -> None:
    today = clock.local_today()
    ok_json(
        await record_check(
            town,
            town.bob,
            checked_on=today - timedelta(days=300),
            expires_on=today + timedelta(days=20),
        ),
        201,
    )
    ok_json(
        await record_check(
            town,
            town.alice,
            checked_on=today - timedelta(days=300),
            expires_on=today + timedelta(days=90),
        ),
        201,
    )
    engine = town.app.state.engine
    assert await checks_expiry_sweep(engine=engine, now=datetime.now(UTC)) == 1
    assert await checks_expiry_sweep(engine=engine, now=datetime.now(UTC)) == 0
    told = await notices(town, town.coordinator)
    expiring = [notice for notice in told["events"] if "ends soon" in str(notice)]
    assert len(expiring) == 1 and "Bob" in str(expiring[0])


async def test_checks_are_in_the_members_export(town: Town) -> None:
    today = clock.local_today()
    ok_json(await record_check(town, town.bob, checked_on=today, expires_on=None), 201)
    exchange = await completed(town, town.bob, [town.alice])
    ok_json(await thank(town, town.alice, exchange, "Thank you, Bob"), 201)
    export = ok_json(await town.client.get("/api/v1/me/export", headers=town.bob.headers))
    assert [check["kind"] for check in export["checks"]] == ["dbs"]
    assert [thanks["text"] for thanks in export["thanks_received"]] == ["Thank you, Bob"]
    alice_export = ok_json(await town.client.get("/api/v1/me/export", headers=town.alice.headers))
    assert [thanks["text"] for thanks in alice_export["thanks_given"]] == ["Thank you, Bob"]
    assert alice_export["checks"] == []


# Listing expiry -----------------------------------------------------------------------


async def test_a_listing_expires_leaves_search_and_comes_back_when_renewed(town: Town) -> None:
    listing = await create(town, town.bob, title="Tablet lessons")
    assert listing["expires_at"] is not None
    expires_at = datetime.fromisoformat(listing["expires_at"])
    assert timedelta(days=89) < expires_at - datetime.now(UTC) <= timedelta(days=90)
    assert "Tablet lessons" in await titles(town, town.alice)
    # Time passes: it ran out yesterday.
    await Listing.update({Listing.expires_at: datetime.now(UTC) - timedelta(days=1)}).where(
        Listing.id == uuid.UUID(listing["id"])
    )
    assert "Tablet lessons" not in await titles(town, town.alice)
    assert "Tablet lessons" not in await titles(town, town.alice, q="tablet")
    hidden = await town.client.get(f"/api/v1/listings/{listing['id']}", headers=town.alice.headers)
    assert hidden.status_code == 404, hidden.text
    own = ok_json(
        await town.client.get(f"/api/v1/listings/{listing['id']}", headers=town.bob.headers)
    )
    assert own["expired"] is True
    not_owner = await town.client.post(
        f"/api/v1/listings/{listing['id']}/renew", headers=town.alice.headers
    )
    assert not_owner.status_code == 404, not_owner.text
    renewed = ok_json(
        await town.client.post(f"/api/v1/listings/{listing['id']}/renew", headers=town.bob.headers)
    )
    assert renewed["expired"] is False
    assert "Tablet lessons" in await titles(town, town.alice)


async def test_a_paused_listing_leaves_search_until_resumed(town: Town) -> None:
    listing = await create(town, town.bob, title="Tablet lessons")
    paused = ok_json(
        await town.client.post(f"/api/v1/listings/{listing['id']}/pause", headers=town.bob.headers)
    )
    assert paused["paused"] is True
    assert "Tablet lessons" not in await titles(town, town.alice)
    ok_json(
        await town.client.post(f"/api/v1/listings/{listing['id']}/resume", headers=town.bob.headers)
    )
    assert "Tablet lessons" in await titles(town, town.alice)


async def test_a_paused_or_expired_listing_takes_no_proposals(town: Town) -> None:
    listing = await create(town, town.bob, title="Tablet lessons")
    url = f"/api/v1/listings/{listing['id']}"
    ok_json(await town.client.post(url + "/pause", headers=town.bob.headers))

    async def proposal() -> httpx.Response:
        return await town.client.post(
            "/api/v1/exchanges",
            headers=town.alice.headers,
            json={
                "provider_id": str(town.bob.id),
                "recipient_id": str(town.alice.id),
                "minutes": 30,
                "service_date": days_ago(1),
                "description": "Tablet lessons",
                "listing_id": listing["id"],
            },
        )

    refused = await proposal()
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "listing_paused"
    ok_json(await town.client.post(url + "/resume", headers=town.bob.headers))
    await Listing.update({Listing.expires_at: datetime.now(UTC) - timedelta(days=1)}).where(
        Listing.id == uuid.UUID(listing["id"])
    )
    assert (await proposal()).json()["code"] == "listing_paused"
    ok_json(await town.client.post(url + "/renew", headers=town.bob.headers))
    accepted = await proposal()
    assert accepted.status_code == 201, accepted.text


async def test_the_community_sets_the_days_and_the_sweep_reminds_once(town: Town) -> None:
    await Community.update({Community.listing_days: 10}).where(Community.slug == "riverside")
    listing = await create(town, town.bob, title="Tablet lessons")
    expires_at = datetime.fromisoformat(listing["expires_at"])
    assert timedelta(days=9) < expires_at - datetime.now(UTC) <= timedelta(days=10)
    engine = town.app.state.engine
    now = datetime.now(UTC)
    assert await listing_expiry_sweep(engine=engine, now=now) == 0  # not due yet
    later = now + timedelta(days=4)
    assert await listing_expiry_sweep(engine=engine, now=later) == 1
    assert await listing_expiry_sweep(engine=engine, now=later) == 0
    told = await notices(town, town.bob)
    assert any("Tablet lessons" in str(notice) for notice in told["events"])
    # Renewing starts the clock, and the reminder, again.
    ok_json(
        await town.client.post(f"/api/v1/listings/{listing['id']}/renew", headers=town.bob.headers)
    )
    assert await listing_expiry_sweep(engine=engine, now=now) == 0
    assert await listing_expiry_sweep(engine=engine, now=later) == 1


async def test_a_listing_from_before_expiry_gets_its_clock_started(town: Town) -> None:
    listing = await create(town, town.bob, title="Old offer")
    await Listing.update({Listing.expires_at: None}).where(Listing.id == uuid.UUID(listing["id"]))
    now = datetime.now(UTC)
    await listing_expiry_sweep(engine=town.app.state.engine, now=now)
    row = await Listing.select(Listing.expires_at).where(Listing.id == uuid.UUID(listing["id"]))
    assert row[0]["expires_at"] is not None


async def test_a_community_is_created_with_its_listing_days_and_check_setting(town: Town) -> None:
    body = {
        "name": "Elmwood",
        "slug": "elmwood",
        "area": "north",
        "listing_days": 30,
        "home_check_required": True,
    }
    created = ok_json(
        await town.client.post("/api/v1/admin/communities", headers=town.admin.headers, json=body),
        201,
    )
    assert created["listing_days"] == 30 and created["home_check_required"] is True
    bad = await town.client.post(
        "/api/v1/admin/communities",
        headers=town.admin.headers,
        json={**body, "slug": "elm2", "listing_days": 0},
    )
    assert bad.status_code == 400, bad.text


async def test_closing_an_account_erases_its_checks_and_thanks(town: Town) -> None:
    today = clock.local_today()
    ok_json(await record_check(town, town.bob, checked_on=today, expires_on=None), 201)
    exchange = await completed(town, town.bob, [town.alice])
    ok_json(await thank(town, town.alice, exchange, "Thank you, Bob"), 201)
    ok_json(await thank(town, town.bob, exchange, "Thank you, Alice"), 201)
    closed = await town.client.delete("/api/v1/me", headers=town.bob.headers)
    assert closed.status_code == 204, closed.text
    assert not await SafeguardingCheck.exists().where(SafeguardingCheck.member == town.bob.id)
    assert await Thanks.count() == 0
    profile = ok_json(
        await town.client.get(
            f"/api/v1/members/{town.alice.id}/profile", headers=town.alice.headers
        )
    )
    assert profile["thanks_received"] == []


async def test_hostile_search_text_is_refused_not_a_crash(town: Town) -> None:
    for params in ({"q": "a\u0000b"}, {"skill": "bell\u0007"}, {"ward": "x" * 81}):
        response = await town.client.get(
            "/api/v1/members", headers=town.alice.headers, params=params
        )
        assert response.status_code == 400, response.text
