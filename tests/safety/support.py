"""Helpers of the safety tests: start a conversation, send, report."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.people import Person, Town


async def start(
    town: Town, sender: Person, to: Person, body: str = "Hello there", **extra: Any
) -> httpx.Response:
    return await town.client.post(
        "/api/v1/conversations",
        headers=sender.headers,
        json={"member_id": str(to.id), "body": body, **extra},
    )


async def conversation(town: Town, sender: Person, to: Person, body: str = "Hello there") -> str:
    response = await start(town, sender, to, body)
    assert response.status_code == 201, response.text
    conversation_id: str = response.json()["id"]
    return conversation_id


async def thread(town: Town, who: Person, conversation_id: str) -> httpx.Response:
    return await town.client.get(
        f"/api/v1/conversations/{conversation_id}/messages", headers=who.headers
    )


async def send(town: Town, who: Person, conversation_id: str, body: str) -> httpx.Response:
    return await town.client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        headers=who.headers,
        json={"body": body},
    )


async def block(town: Town, who: Person, other: Person) -> None:
    response = await town.client.post(
        "/api/v1/me/blocks", headers=who.headers, json={"member_id": str(other.id)}
    )
    assert response.status_code == 201, response.text


def assert_blocked(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "blocked"
