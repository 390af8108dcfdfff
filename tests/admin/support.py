"""Helpers shared by the admin console's tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.exchanges import days_ago
from tests.support.pages import post_form
from tests.support.people import Person, Town

Client = httpx.AsyncClient
REASON = "Reported by two neighbours"


async def propose(
    town: Town, proposer: Person, provider: Person, recipient: Person, minutes: int
) -> dict[str, Any]:
    response = await town.client.post(
        "/api/v1/exchanges",
        headers=proposer.headers,
        json={
            "provider_id": str(provider.id),
            "recipient_id": str(recipient.id),
            "minutes": minutes,
            "service_date": days_ago(1),
            "description": "Help with the garden",
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def step(town: Town, who: Person, exchange: dict[str, Any], action: str) -> dict[str, Any]:
    response = await town.client.post(
        f"/api/v1/exchanges/{exchange['id']}/{action}", headers=who.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def exchange_seen_by_admin(town: Town, exchange: dict[str, Any]) -> dict[str, Any]:
    response = await town.client.get(
        f"/api/v1/exchanges/{exchange['id']}", headers=town.admin.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def admin_member(town: Town, who: Person) -> dict[str, Any]:
    response = await town.client.get(f"/api/v1/admin/members/{who.id}", headers=town.admin.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def set_status(town: Town, who: Person, action: str, **extra: Any) -> httpx.Response:
    return await town.client.post(
        f"/api/v1/admin/members/{who.id}/suspend",
        headers={**town.admin.headers, **extra.pop("headers", {})},
        json={"action": action, "reason": REASON, **extra},
    )


async def suspend(town: Town, who: Person) -> dict[str, Any]:
    response = await set_status(town, who, "suspend")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def audit(town: Town, **query: str) -> list[dict[str, Any]]:
    response = await town.client.get(
        "/api/v1/admin/audit", headers=town.admin.headers, params=query
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def session_token(response: httpx.Response) -> str:
    cookies = [h for h in response.headers.get_list("set-cookie") if h.startswith("tb_session=")]
    assert len(cookies) == 1, response.headers
    return cookies[0].split(";", 1)[0].split("=", 1)[1]


async def page_session(client: Client, email: str, password: str) -> str:
    """Sign in through the page, as a browser would; returns the session token."""
    response = await post_form(client, "/sign-in", {"email": email, "password": password})
    assert response.status_code == 303, response.text
    return session_token(response)
