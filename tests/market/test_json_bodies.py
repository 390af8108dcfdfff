"""The app-wide JSON body guard on the marketplace API, on both engines.

Every POST and PATCH that takes a body answers 415 to forms and text, a 400
problem naming the field to a wrong type ("60" for 60), and a 4xx (never a
500) to deeply nested input; none of them writes anything. A handler that
opts out (the Stripe webhook's way) still gets its raw body.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar, Request, post
from litestar.params import JSONBody

from service.http.access import Access, access
from service.http.json_bodies import RAW_BODY_OPT_KEY
from tests.conftest import TestDatabase
from tests.support.people import Person, Town

WRITTEN_TABLES = (
    "market_listing",
    "market_exchange",
    "market_exchange_recipient",
    "market_exchange_event",
    "ledger_transfer",
    "member_audit",
)
DEPTH = 50_000  # far past Python's recursion limit


def yesterday() -> str:
    return (datetime.now(UTC) - timedelta(days=1)).isoformat()


async def a_listing(town: Town) -> str:
    response = await town.client.post(
        "/api/v1/listings",
        headers=town.bob.headers,
        json={
            "kind": "offer",
            "title": "Lifts to the surgery",
            "description": "Weekday mornings.",
            "category": "transport",
        },
    )
    assert response.status_code == 201, response.text
    listing_id: str = response.json()["id"]
    return listing_id


def endpoints(town: Town, listing_id: str) -> list[tuple[str, str, Person, dict[str, Any], str]]:
    """(method, path, caller, a valid body, a field to send as the wrong type)."""
    return [
        (
            "POST",
            "/api/v1/listings",
            town.alice,
            {
                "kind": "request",
                "title": "Help with the shopping",
                "description": "Fridays.",
                "category": "shopping",
            },
            "title",
        ),
        ("PATCH", f"/api/v1/listings/{listing_id}", town.bob, {"title": "Lifts"}, "title"),
        (
            "POST",
            "/api/v1/exchanges",
            town.alice,
            {
                "provider_id": str(town.bob.id),
                "recipient_id": str(town.alice.id),
                "minutes": 60,
                "service_date": yesterday(),
                "description": "Help with the garden",
            },
            "minutes",
        ),
        (
            "POST",
            "/api/v1/coordinator/exchanges",
            town.coordinator,
            {
                "provider_id": str(town.bob.id),
                "recipient_id": str(town.alice.id),
                "minutes": 60,
                "service_date": yesterday(),
                "description": "Help with the garden",
            },
            "minutes",
        ),
        (
            "POST",
            "/api/v1/transfers",
            town.alice,
            {"minutes": 30, "to_member_id": str(town.bob.id), "memo": "Thanks"},
            "minutes",
        ),
        (
            "POST",
            "/api/v1/coordinator/grants",
            town.coordinator,
            {"member_id": str(town.alice.id), "minutes": 30, "reason": "In need"},
            "minutes",
        ),
    ]


def wrong_type(value: Any) -> Any:
    """The same value as a string when it is a number, else a number: "60" for 60, 5 for "x"."""
    return str(value) if isinstance(value, int) else 5


async def send(
    town: Town,
    method: str,
    path: str,
    who: Person,
    content: bytes,
    *,
    content_type: str = "application/json",
) -> httpx.Response:
    return await town.client.request(
        method, path, content=content, headers={**who.headers, "Content-Type": content_type}
    )


async def row_counts(db: TestDatabase) -> dict[str, int]:
    counts = {}
    for table in WRITTEN_TABLES:
        rows = await db.engine.run_ddl(f"SELECT COUNT(*) AS n FROM {table}")
        counts[table] = int(rows[0]["n"])
    return counts


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["code"] == code
    return problem


async def test_forms_and_text_are_refused_with_415_and_nothing_is_written(
    town: Town, db: TestDatabase
) -> None:
    listing_id = await a_listing(town)
    before = await row_counts(db)
    for method, path, who, body, _field in endpoints(town, listing_id):
        as_json = json.dumps(body).encode()
        form = "&".join(f"{key}={value}" for key, value in body.items()).encode()
        for content, content_type in (
            (form, "application/x-www-form-urlencoded"),
            (as_json, "text/plain"),  # valid JSON, declared as something else
            (as_json, "application/xml"),
            (b"--x\r\n\r\n--x--\r\n", "multipart/form-data; boundary=x"),
        ):
            response = await send(town, method, path, who, content, content_type=content_type)
            assert_problem(response, 415, "unsupported_media_type")
        # No Content-Type at all is not JSON either.
        response = await town.client.request(method, path, content=as_json, headers=who.headers)
        assert_problem(response, 415, "unsupported_media_type")
    assert await row_counts(db) == before


async def test_wrong_types_are_a_400_naming_the_field_and_nothing_is_written(
    town: Town, db: TestDatabase
) -> None:
    listing_id = await a_listing(town)
    before = await row_counts(db)
    for method, path, who, body, field in endpoints(town, listing_id):
        bad = {**body, field: wrong_type(body[field])}
        response = await send(town, method, path, who, json.dumps(bad).encode())
        problem = assert_problem(response, 400, "validation_failed")
        assert [error["field"] for error in problem["errors"]] == [field], path
        assert problem["errors"][0]["source"] == "body"
        # An unknown field is named too, and refused the same way.
        response = await send(town, method, path, who, json.dumps({**body, "surprise": 1}).encode())
        problem = assert_problem(response, 400, "validation_failed")
        assert problem["errors"][0]["field"] == "surprise"
    assert await row_counts(db) == before


async def test_the_valid_bodies_are_accepted(town: Town, db: TestDatabase) -> None:
    """The control for the tests above: the same bodies, as JSON, do write."""
    listing_id = await a_listing(town)
    donation = await town.client.post(
        "/api/v1/transfers", headers=town.bob.headers, json={"minutes": 60, "to": "pool"}
    )
    assert donation.status_code == 201, donation.text  # the pool has hours to grant
    before = await row_counts(db)
    for method, path, who, body, _field in endpoints(town, listing_id):
        response = await send(town, method, path, who, json.dumps(body).encode())
        assert response.status_code in (200, 201), (path, response.text)
    after = await row_counts(db)
    assert after["market_listing"] == before["market_listing"] + 1
    assert after["market_exchange"] == before["market_exchange"] + 2
    assert after["ledger_transfer"] == before["ledger_transfer"] + 3  # record, gift, grant


async def test_deep_nesting_is_a_4xx_not_a_500_and_nothing_is_written(
    town: Town, db: TestDatabase
) -> None:
    listing_id = await a_listing(town)
    before = await row_counts(db)
    deep_array = b"[" * DEPTH + b"]" * DEPTH
    deep_objects = b'{"a":' * DEPTH + b"1" + b"}" * DEPTH
    for method, path, who, body, field in endpoints(town, listing_id):
        nested_field = json.dumps({**body, field: "HOLE"}).encode()
        nested_field = nested_field.replace(b'"HOLE"', deep_array)
        for content in (deep_array, deep_objects, nested_field, b"[" * DEPTH):
            response = await send(town, method, path, who, content)
            assert 400 <= response.status_code < 500, (path, response.status_code)
            assert response.json()["code"] in ("validation_failed", "malformed_body")
    assert await row_counts(db) == before


@pytest.fixture
def raw_body_routes(app: Litestar) -> None:
    """Two JSON-less routes on the real app: one opted out of the guard, one not."""

    # Public routes (ADR 0025): this test is about bodies, not about who may call.
    @post(
        "/api/v1/test-only/raw",
        opt={RAW_BODY_OPT_KEY: True, **access(Access.PUBLIC)},
        status_code=200,
    )
    async def raw(request: Request[Any, Any, Any]) -> dict[str, str]:
        return {"received": (await request.body()).decode()}

    @post("/api/v1/test-only/typed", status_code=200, opt=access(Access.PUBLIC))
    async def typed(data: JSONBody[dict[str, int]]) -> dict[str, int]:
        return data

    app.register(raw)
    app.register(typed)


@pytest.mark.fresh_app
async def test_a_handler_that_opts_out_gets_its_raw_body(raw_body_routes: None, town: Town) -> None:
    signed = b"id=evt_1&type=checkout.session.completed"
    response = await town.client.post(
        "/api/v1/test-only/raw",
        content=signed,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"received": signed.decode()}
    # Without the opt-out the same request is refused, and JSON is strictly typed.
    refused = await town.client.post(
        "/api/v1/test-only/typed",
        content=signed,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_problem(refused, 415, "unsupported_media_type")
    wrong = await town.client.post("/api/v1/test-only/typed", json={"minutes": "60"})
    assert_problem(wrong, 400, "validation_failed")
    right = await town.client.post("/api/v1/test-only/typed", json={"minutes": 60})
    assert right.json() == {"minutes": 60}
