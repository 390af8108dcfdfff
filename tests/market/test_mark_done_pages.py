"""The exchange page's "Mark the help as done" without JavaScript, on both engines: the
provider's button, the recipient's "please confirm", and refusals shown in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.exchanges import ok, propose
from tests.support.pages import page_text, sign_in, submit, text_of
from tests.support.people import Town


async def test_the_provider_marks_done_and_the_recipient_is_asked(town: Town) -> None:
    exchange = await propose(town, town.alice, town.bob, [town.alice], minutes=45)
    await ok(town, town.bob, exchange, "accept")
    path = f"/exchanges/{exchange['id']}"
    await sign_in(town, town.bob)
    assert "Mark the help as done" in await page_text(town, path)
    response = await submit(town, path, f"{path}/mark-done", {})
    assert response.status_code == 303, response.text
    shown = await page_text(town, response.headers["location"])
    assert "We have asked the other member to confirm the help" in shown
    assert "You have marked this help as done" in shown
    assert "Mark the help as done" not in shown  # once is enough
    assert "Marked as done by Bob" in shown  # the history
    await sign_in(town, town.alice)
    seen = await page_text(town, path)
    assert "Bob has marked this help as done: please confirm." in seen
    assert "Mark the help as done" not in seen  # the recipient has no such button


async def test_too_early_is_refused_on_the_page(town: Town) -> None:
    ahead = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    exchange = await propose(
        town, town.alice, town.bob, [town.alice], minutes=45, service_date=ahead
    )
    await ok(town, town.bob, exchange, "accept")
    path = f"/exchanges/{exchange['id']}"
    await sign_in(town, town.bob)
    assert "Mark the help as done" not in await page_text(town, path)
    response = await submit(town, path, f"{path}/mark-done", {})
    assert response.status_code == 409, response.text
    assert "it can be confirmed once that time has come" in text_of(response.text)
