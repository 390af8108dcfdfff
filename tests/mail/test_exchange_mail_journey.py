"""Proposal -> the other member is mailed -> follows the link -> accepts, in a real browser."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.conftest import TestDatabase
from tests.support.browser import assert_no_axe_violations
from tests.support.server import LiveServer
from tests.support.smtp_peer import SmtpPeer

pytestmark = pytest.mark.browser

PASSWORD = "a long browser password"
LINK = re.compile(r"https?://\S+")


@pytest.fixture
def mailed_server(
    db: TestDatabase,
    smtp_peer: SmtpPeer,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> LiveServer:
    """`timebank serve` sending mail to the test SMTP server, with the "home" time bank."""
    del db  # named so that the test runs on both engines; live_server uses it
    monkeypatch.setenv("SMTP_URL", smtp_peer.url)
    server: LiveServer = request.getfixturevalue("live_server")
    monkeypatch.setenv("TIMEBANK_ADMIN_PASSWORD", PASSWORD)
    server.run_cli("create-admin", "--email", "admin@example.org", "--name", "Ada Admin")
    return server


async def member(http: httpx.AsyncClient, email: str, name: str) -> tuple[str, dict[str, str]]:
    registered = await http.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "display_name": name, "community": "home"},
    )
    assert registered.status_code == 201, registered.text
    token = await http.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    return registered.json()["id"], {"Authorization": f"Bearer {token.json()['token']}"}


async def test_a_proposal_is_mailed_and_accepted_from_the_link(
    mailed_server: LiveServer, smtp_peer: SmtpPeer, page: Page
) -> None:
    server = mailed_server
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        _, asker = await member(http, "ann@example.org", "Ann Asker")
        helper_id, _ = await member(http, "hal@example.org", "Hal Helper")
        proposed = await http.post(
            "/api/v1/exchanges",
            headers=asker,
            json={
                "provider_id": helper_id,
                "recipient_id": (await http.get("/api/v1/me", headers=asker)).json()["id"],
                "minutes": 60,
                "service_date": datetime.now(UTC).isoformat(),
                "description": "Help setting up a new phone",
            },
        )
        assert proposed.status_code == 201, proposed.text
    [mail] = await smtp_peer.catcher.wait_for(1)
    assert mail.recipients == ["hal@example.org"]
    assert mail.message["Subject"] == "Ann Asker has suggested an exchange"
    assert "1 hour" in mail.text()
    [link] = [url for url in LINK.findall(mail.text()) if "/unsubscribe/" not in url]
    path = urlsplit(link).path
    assert path == f"/exchanges/{proposed.json()['id']}"

    await page.goto(server.base_url + path)  # not signed in yet: sign in, then back here
    await page.get_by_label("Email address", exact=True).fill("hal@example.org")
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"**{path}")
    await assert_no_axe_violations(page)
    await page.get_by_role("button", name="Accept").click()
    await expect(page.get_by_text("accepted", exact=False).first).to_be_visible()
    received = await smtp_peer.catcher.wait_for(2)
    assert received[1].recipients == ["ann@example.org"]
    assert received[1].message["Subject"] == "Hal Helper has accepted your exchange"
