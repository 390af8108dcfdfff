"""The community settings page on both engines: a coordinator reads and changes their
community's settings, sees every error at once, and nobody else opens it."""

from __future__ import annotations

from tests.support.pages import page_text, sign_in, submit, text_of
from tests.support.people import Town, grant

PAGE = "/coordinator/settings"


async def test_a_coordinator_changes_the_settings_on_the_page(town: Town) -> None:
    await sign_in(town, town.coordinator)
    shown = await town.client.get(PAGE)
    assert shown.status_code == 200, shown.text
    assert 'value="90"' in shown.text  # days a listing stays up, as set up
    saved = await submit(
        town,
        PAGE,
        PAGE,
        {
            "community": "riverside",
            "listing_days": "30",
            "autoconfirm_days": "",
            "home_check_required": "yes",
        },
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"{PAGE}?community=riverside&done=saved"
    after = await town.client.get(saved.headers["location"])
    assert "The settings are saved" in text_of(after.text)
    assert 'value="30"' in after.text
    communities = (await town.client.get("/api/v1/communities")).json()
    riverside = next(item for item in communities if item["slug"] == "riverside")
    assert riverside["listing_days"] == 30
    assert riverside["home_check_required"] is True
    assert riverside["requires_approval"] is False  # its box was not ticked


async def test_every_error_is_shown_at_once_and_nothing_changes(town: Town) -> None:
    await sign_in(town, town.coordinator)
    refused = await submit(
        town,
        PAGE,
        PAGE,
        {"community": "riverside", "listing_days": "2", "autoconfirm_days": "0"},
    )
    assert refused.status_code == 422, refused.text
    words = text_of(refused.text)
    assert "There is a problem Enter a number of days from 7 to 3650" in words
    assert "Enter a number of days from 1 to 60, or leave it blank" in words
    assert 'value="90"' in (await town.client.get(PAGE)).text


async def test_a_coordinator_of_another_community_or_a_member_cannot_open_it(
    town: Town,
) -> None:
    await grant(town.client, town.admin, town.carol, role="coordinator", community="hillside")
    await sign_in(town, town.carol)
    assert "Settings of Hillside" in await page_text(town, PAGE)
    elsewhere = await town.client.get(PAGE, params={"community": "riverside"})
    assert elsewhere.status_code == 404
    await sign_in(town, town.bob)
    assert (await town.client.get(PAGE)).status_code == 403
