"""Member pickers with many members, on both engines: paged matches, search, the choice
carried into the form, nobody offered who may not be chosen."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx

from service.members.registration import member_register
from service.members.schemas import RegisterIn
from service.web.pickers import PICKER_PAGE_SIZE
from tests.support.pages import page_sign_in, submit
from tests.support.people import PASSWORD, Town

MANY = 25  # more than two pages of matches, with the town's own members
CHOICE = re.compile(r'<a href="([^"]+)">Choose ([^<]+)<')


def choices(page: str) -> list[tuple[str, str]]:
    """(link, name) of every match a picker offers."""
    return [
        (href.replace("&amp;", "&"), name)
        for href, name in CHOICE.findall(page)
        if name != "someone else"  # the link that undoes a choice
    ]


def more_link(page: str) -> str | None:
    match = re.search(r'<a href="([^"]+)" rel="next">More matches</a>', page)
    return match.group(1).replace("&amp;", "&") if match else None


async def get(client: httpx.AsyncClient, url: str) -> str:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    return response.text


async def test_a_picker_pages_through_many_members_and_finds_one(town: Town) -> None:
    for number in range(MANY):  # straight to the service: registration is rate-limited
        await member_register(
            engine=town.app.state.engine,
            ledger=town.app.state.ledger,
            data=RegisterIn(
                email=f"neighbour{number:03d}@example.org",
                password=PASSWORD,
                display_name=f"Neighbour{number:03d}",
                community="riverside",
            ),
        )
    await page_sign_in(town.client, town.coordinator.email)
    first = await get(town.client, "/coordinator/grant")
    offered = choices(first)
    assert len(offered) == PICKER_PAGE_SIZE
    assert 'role="search"' in first
    seen = [name for _, name in offered]
    url = more_link(first)
    while url is not None:
        page = await get(town.client, url)
        seen += [name for _, name in choices(page)]
        url = more_link(page)
    assert len(seen) == MANY + 4  # every riverside member once: Alice, Bob, Colin, Cora
    assert len(set(seen)) == len(seen)
    assert seen == sorted(seen)
    assert "Carol" not in seen  # another community's member is never offered

    found = await get(town.client, "/coordinator/grant?member_q=BOUR017")
    [(link, name)] = choices(found)
    assert name == "Neighbour017"
    chosen_id = parse_qs(urlsplit(link).query)["member"][0]
    chosen = await get(town.client, link)
    assert "Chosen: <strong>Neighbour017</strong>" in chosen
    assert f'<input type="hidden" name="member" value="{chosen_id}">' in chosen
    donated = await town.client.post(
        "/api/v1/transfers", headers=town.alice.headers, json={"to": "pool", "minutes": 60}
    )
    assert donated.status_code == 201
    granted = await submit(
        town,
        link,
        "/coordinator/grant",
        {"member": chosen_id, "hours": "0", "minutes": "30", "reason": "Cold snap"},
    )
    assert granted.status_code == 303, granted.text


async def test_a_picker_never_carries_someone_it_may_not_offer(town: Town) -> None:
    await page_sign_in(town.client, town.coordinator.email)
    outsider = await get(town.client, f"/coordinator/grant?member={town.carol.id}")
    assert "Chosen:" not in outsider
    assert 'name="member" value=' not in outsider
    nonsense = await get(town.client, "/coordinator/grant?member=not-an-id&member_q=" + "x" * 500)
    assert "Chosen:" not in nonsense
    town.client.cookies.clear()
    await page_sign_in(town.client, town.alice.email)
    give = await get(town.client, "/give")
    assert "Alice" not in [name for _, name in choices(give)]  # not to oneself
    mine = await get(town.client, f"/give?member={town.alice.id}")
    assert "Chosen:" not in mine
    # Two pickers on one page keep each other's state.
    town.client.cookies.clear()
    await page_sign_in(town.client, town.coordinator.email)
    step = await get(town.client, f"/coordinator/record?provider={town.bob.id}&recipient_q=ali")
    assert "Chosen: <strong>Bob</strong>" in step
    offered = choices(step)
    assert [name for _, name in offered] == ["Alice"], offered
    link = offered[0][0]
    both = await get(town.client, link)
    assert "Chosen: <strong>Bob</strong>" in both
    assert "Chosen: <strong>Alice</strong>" in both
    assert f'name="provider" value="{town.bob.id}"' in both
    assert f'name="recipient" value="{town.alice.id}"' in both
