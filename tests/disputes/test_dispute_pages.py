"""The disputes' pages through HTTP, on both engines: a party opens a dispute from the
exchange page, the other adds their account, an admin resolves from the queue, and
both see the outcome on their dashboards.
"""

from __future__ import annotations

import re

from tests.support.exchanges import WELCOME, account, completed, disputed, resolve
from tests.support.pages import page_text, sign_in, submit
from tests.support.people import Town

DISPUTE_URL = re.compile(r"/disputes/([0-9a-f-]{36})\?done=(\w+)")


async def sign_out(town: Town) -> None:
    town.client.cookies.clear()


async def test_a_dispute_from_the_exchange_page_to_an_adjusted_outcome(town: Town) -> None:
    exchange = await completed(town, town.bob, [town.alice], minutes=90)
    await sign_in(town, town.alice)
    detail = await page_text(town, f"/exchanges/{exchange['id']}")
    assert "dispute it" in detail

    refused = await submit(
        town,
        f"/exchanges/{exchange['id']}/dispute",
        f"/exchanges/{exchange['id']}/dispute",
        {"reason": "   "},
    )
    assert refused.status_code == 422
    assert "What went wrong" in refused.text

    opened = await submit(
        town,
        f"/exchanges/{exchange['id']}/dispute",
        f"/exchanges/{exchange['id']}/dispute",
        {"reason": "Bob only stayed for half an hour."},
    )
    assert opened.status_code == 303, opened.text
    match = DISPUTE_URL.search(opened.headers["location"])
    assert match and match.group(2) == "opened"
    dispute_path = f"/disputes/{match.group(1)}"
    assert "Bob only stayed for half an hour." in await page_text(town, dispute_path)

    await sign_out(town)
    await sign_in(town, town.bob)
    dashboard = await page_text(town, "/dashboard")
    assert "A dispute about your exchange: add your account" in dashboard
    added = await submit(
        town, dispute_path, f"{dispute_path}/statements", {"body": "I stayed the full time."}
    )
    assert added.status_code == 303, added.text
    assert "I stayed the full time." in await page_text(town, dispute_path)

    await sign_out(town)
    await sign_in(town, town.admin)
    queue = await page_text(town, "/admin/disputes")
    assert "Disputes waiting" in queue and "today" in queue
    admin_path = f"/admin/disputes/{match.group(1)}"
    page = await page_text(town, admin_path)
    assert "Bob only stayed for half an hour." in page and "I stayed the full time." in page
    assert "Recent exchanges between Bob and Alice" in page

    missing_note = await submit(
        town, admin_path, f"{admin_path}/resolve", {"outcome": "adjusted", "minutes": "30"}
    )
    assert missing_note.status_code == 422
    too_many = await submit(
        town,
        admin_path,
        f"{admin_path}/resolve",
        {"outcome": "adjusted", "minutes": "91", "note": "Half the time."},
    )
    assert too_many.status_code == 422
    assert "between 1 and 90" in too_many.text
    resolved = await submit(
        town,
        admin_path,
        f"{admin_path}/resolve",
        {
            "outcome": "adjusted",
            "minutes": "30",
            "note": "Half an hour goes back.",
            "confirm": "yes",
        },
    )
    assert resolved.status_code == 303, resolved.text
    assert "Adjusted: some of the hours went back" in await page_text(town, admin_path)

    for who in (town.alice, town.bob):
        await sign_out(town)
        await sign_in(town, who)
        dashboard = await page_text(town, "/dashboard")
        assert "Dispute decided: some of the hours went back" in dashboard
        outcome = await page_text(town, dispute_path)
        assert "Half an hour goes back." in outcome
        assert "Alice: 30 minutes given back" in outcome
        statement = await page_text(town, "/statement")
        moved = "given back" if who is town.alice else "taken back"
        assert f"30 minutes {moved} after a dispute about" in statement
    assert (await account(town, town.alice))["balance_minutes"] == WELCOME - 60
    assert (await account(town, town.bob))["balance_minutes"] == WELCOME + 60


async def test_the_override_is_offered_and_shown_on_the_dashboard(town: Town) -> None:
    exchange = await completed(town, town.bob, [town.alice], minutes=60)
    gift = await town.client.post(
        "/api/v1/transfers",
        headers=town.bob.headers,
        json={"to_member_id": str(town.alice.id), "minutes": WELCOME + 60 + 600},
    )
    assert gift.status_code == 201, gift.text
    dispute = await disputed(town, town.alice, exchange)
    await sign_in(town, town.admin)
    admin_path = f"/admin/disputes/{dispute['id']}"
    fields = {"outcome": "reversed", "note": "It did not happen.", "confirm": "yes"}
    refused = await submit(town, admin_path, f"{admin_path}/resolve", fields)
    assert refused.status_code == 422  # the form shown again, as every page does
    assert "1 hour below their floor" in refused.text
    confirmed = await submit(
        town, admin_path, f"{admin_path}/resolve", {**fields, "confirm_override": "yes"}
    )
    assert confirmed.status_code == 303, confirmed.text
    await sign_out(town)
    await sign_in(town, town.bob)
    dashboard = await page_text(town, "/dashboard")
    assert "Below your floor by 1 hour" in dashboard


async def test_group_resolution_applies_to_the_ticked_members(town: Town) -> None:
    exchange = await completed(town, town.bob, [town.alice, town.coordinator], minutes=60)
    dispute = await disputed(town, town.alice, exchange)
    await sign_in(town, town.admin)
    admin_path = f"/admin/disputes/{dispute['id']}"
    none_ticked = await submit(
        town, admin_path, f"{admin_path}/resolve", {"outcome": "reversed", "note": "n"}
    )
    assert none_ticked.status_code == 422
    assert "tick at least one member" in none_ticked.text
    resolved = await submit(
        town,
        admin_path,
        f"{admin_path}/resolve",
        {
            "outcome": "reversed",
            "note": "Alice was not there.",
            "apply_to": str(town.alice.id),
            "confirm": "yes",
        },
    )
    assert resolved.status_code == 303, resolved.text
    assert (await account(town, town.alice))["balance_minutes"] == WELCOME
    assert (await account(town, town.coordinator))["balance_minutes"] == WELCOME - 60


async def test_members_cannot_open_the_admin_pages(town: Town) -> None:
    exchange = await completed(town, town.bob, [town.alice])
    dispute = await disputed(town, town.alice, exchange)
    for who in (town.alice, town.coordinator):
        await sign_out(town)
        await sign_in(town, who)
        for path in ("/admin/disputes", f"/admin/disputes/{dispute['id']}"):
            response = await town.client.get(path)
            assert response.status_code == 403, (who.email, path)


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


async def test_members_see_their_own_disputes_open_and_decided(town: Town) -> None:
    """`/disputes` lists the member's disputes in two groups, in words, and no one else's."""
    kept = await completed(town, town.bob, [town.alice], minutes=60)
    decided = await completed(town, town.bob, [town.alice], minutes=30)
    await disputed(town, town.alice, kept)
    to_decide = await disputed(town, town.bob, decided)
    assert (await resolve(town, to_decide, outcome="reversed")).status_code == 200

    await sign_in(town, town.alice)
    page = await page_text(town, "/disputes")
    waiting, _, done = page.partition("Decided")
    assert "Opened by You" in waiting and "1 hour" in waiting
    assert "Opened by Bob" in done and "Reversed: all the hours went back" in done
    assert ISO_DATE.search(page) is None
    exchanges = await page_text(town, "/exchanges")
    assert "Your disputes" in exchanges
    assert "Disputed: waiting for a decision" in exchanges
    assert "Completed, then a dispute was decided" in exchanges

    await sign_out(town)
    await sign_in(town, town.carol)
    assert "You have no dispute waiting." in await page_text(town, "/disputes")


async def test_the_resolution_form_chooses_nothing_and_shows_every_error(town: Town) -> None:
    exchange = await completed(town, town.bob, [town.alice], minutes=60)
    dispute = await disputed(town, town.alice, exchange)
    await sign_in(town, town.admin)
    admin_path = f"/admin/disputes/{dispute['id']}"
    form_page = await town.client.get(admin_path)
    assert 'name="outcome"' in form_page.text
    assert "checked" not in form_page.text  # no outcome is chosen for the admin
    nothing_chosen = await submit(town, admin_path, f"{admin_path}/resolve", {"minutes": "30"})
    assert nothing_chosen.status_code == 422
    assert "Outcome: choose one" in nothing_chosen.text
    assert "write a few words for both members" in nothing_chosen.text  # every error at once
    assert "Tick the box to confirm the decision" in nothing_chosen.text
    no_minutes = await submit(town, admin_path, f"{admin_path}/resolve", {"outcome": "adjusted"})
    assert no_minutes.status_code == 422
    # The missing minutes are not hidden behind the missing note.
    assert "say how many minutes go back" in no_minutes.text
    assert "write a few words for both members" in no_minutes.text
