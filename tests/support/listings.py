"""Listings through the JSON API."""

from __future__ import annotations

from typing import Any

from tests.support.people import Person, Town


def listing_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "offer",
        "title": "Help with shopping",
        "description": "I can pick up a weekly shop from the high street.",
        "category": "shopping",
    }
    body.update(fields)
    return body


async def create(town: Town, who: Person, **fields: Any) -> dict[str, Any]:
    response = await town.client.post(
        "/api/v1/listings", headers=who.headers, json=listing_body(**fields)
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def search(town: Town, who: Person, **params: Any) -> dict[str, Any]:
    response = await town.client.get("/api/v1/listings", headers=who.headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def titles(town: Town, who: Person, **params: Any) -> list[str]:
    return [item["title"] for item in (await search(town, who, **params))["items"]]
