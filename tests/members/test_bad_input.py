"""Bad bodies on every members POST and PATCH: a 4xx problem with a code, never a 500.

Each refused request must also leave the database exactly as it was: the
same number of rows in every members and ledger table, and the caller's own
row unchanged (so a refused registration leaves no member and no ledger
account behind, and a refused profile edit changes nothing).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio

from service.limits import REQUEST_BODY_SIZE_MAX_BYTES
from service.members.tables import Member
from tests.members.conftest import PASSWORD, Person
from tests.members.world import ENGINES, World, assert_problem, open_world

pytestmark = pytest.mark.asyncio(loop_scope="module")

COUNTED_TABLES = (
    "member_member",
    "member_area",
    "member_community",
    "member_role_grant",
    "member_api_token",
    "member_session",
    "member_audit",
    "ledger_account",
    "ledger_transfer",
    "ledger_entry",
)


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=ENGINES)
async def world(request: pytest.FixtureRequest) -> AsyncIterator[World]:
    async with open_world(request, request.param) as shared:
        yield shared


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]  # a valid body: each case spoils it
    caller: uuid.UUID | None


async def shared(world: World, key: str) -> Person:
    if key not in world.cache:
        world.cache[key] = await world.member("riverside", stem=key.replace("-", ""))
    person: Person = world.cache[key]
    return person


async def prepare(world: World, endpoint: str) -> Call:
    """A call to `endpoint` that would succeed with its valid body."""
    if endpoint == "register":
        body = {
            "email": world.email("newcomer"),
            "password": PASSWORD,
            "display_name": "Newcomer",
            "community": "meadow",
            "ward": "Mill Lane",
            "birth_year": 1950,
            "consent": True,
        }
        return Call("POST", "/api/v1/auth/register", {}, body, None)
    if endpoint == "token":
        signer = await shared(world, "bad-input-signer")
        body = {"email": signer.email, "password": PASSWORD}
        return Call("POST", "/api/v1/auth/token", {}, body, signer.id)
    if endpoint == "profile":
        caller = await shared(world, "bad-input-editor")
        body = {"display_name": "Edited", "ward": "Quay", "skills": "knitting", "birth_year": 1960}
        return Call("PATCH", "/api/v1/me", caller.headers, body, caller.id)
    if endpoint == "area":
        slug = world.unique("bad-area-")
        body = {"name": "Some area", "slug": slug}
        return Call("POST", "/api/v1/admin/areas", world.admin.headers, body, world.admin.id)
    if endpoint == "community":
        body = {
            "name": "Some town",
            "slug": world.unique("bad-town-"),
            "area": "north",
            "requires_approval": True,
            "welcome_credit_minutes": 60,
            "member_floor_minutes": -300,
            "member_ceiling_minutes": 3000,
            "dispute_window_days": 14,
            "small_cell_k": 5,
        }
        return Call("POST", "/api/v1/admin/communities", world.admin.headers, body, world.admin.id)
    assert endpoint == "roles"
    target = await shared(world, "bad-input-nominee")
    body = {
        "action": "grant",
        "role": "coordinator",
        "community": "riverside",
        "reason": "volunteered",
    }
    path = f"/api/v1/admin/members/{target.id}/roles"
    return Call("POST", path, world.admin.headers, body, target.id)


ENDPOINTS = ("register", "token", "profile", "area", "community", "roles")


async def snapshot(world: World, caller: uuid.UUID | None) -> dict[str, Any]:
    counts = ", ".join(f"(SELECT count(*) FROM {table}) AS {table}" for table in COUNTED_TABLES)
    rows = await Member.raw(f"SELECT {counts}").run()
    state: dict[str, Any] = {table: int(value) for table, value in rows[0].items()}
    if caller is not None:
        state["caller"] = await Member.select().where(Member.id == caller).first().run()
    return state


async def send(
    world: World, call: Call, *, content: bytes, content_type: str | None
) -> httpx.Response:
    headers = dict(call.headers)
    if content_type is not None:
        headers["content-type"] = content_type
    return await world.http.request(call.method, call.path, headers=headers, content=content)


def encoded(body: object) -> bytes:
    return json.dumps(body).encode()


async def assert_refused_without_trace(
    world: World, call: Call, response: httpx.Response, status: int, code: str
) -> dict[str, Any]:
    problem = assert_problem(response, status, code)
    assert "Traceback" not in response.text
    assert "sqlite" not in response.text.lower()
    assert "asyncpg" not in response.text.lower()
    return problem


# Whole bodies that are not what the endpoint reads --------------------------------


def _deeply_nested() -> bytes:
    return b'{"email": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"


UNREADABLE = ("malformed_body", "validation_failed")  # either: the body is refused as a whole
SHAPES = [
    pytest.param(b"{", 400, ("malformed_body",), id="truncated-json"),
    pytest.param(b"{'email': 'x'}", 400, ("malformed_body",), id="single-quotes"),
    pytest.param(b"NaN", 400, ("malformed_body",), id="nan"),
    pytest.param(b"\xff\xfe{}", 400, ("malformed_body",), id="not-utf8"),
    pytest.param(_deeply_nested(), 400, UNREADABLE, id="deeply-nested-array"),
    pytest.param(b"[" * 50_000 + b"]" * 50_000, 400, UNREADABLE, id="deeply-nested-top"),
    pytest.param(b"", 400, UNREADABLE, id="empty-body"),
    pytest.param(b"[]", 400, ("validation_failed",), id="array"),
    pytest.param(b'"text"', 400, ("validation_failed",), id="string"),
    pytest.param(b"null", 400, ("validation_failed",), id="null"),
    pytest.param(b"42", 400, ("validation_failed",), id="number"),
    pytest.param(
        b"x" * (REQUEST_BODY_SIZE_MAX_BYTES + 1),
        413,
        ("request_too_large",),
        id="oversized-body",
    ),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(("content", "status", "codes"), SHAPES)
async def test_bodies_of_the_wrong_shape_are_refused(
    world: World, endpoint: str, content: bytes, status: int, codes: tuple[str, ...]
) -> None:
    call = await prepare(world, endpoint)
    before = await snapshot(world, call.caller)

    response = await send(world, call, content=content, content_type="application/json")

    assert response.status_code == status, response.text
    code = response.json()["code"]
    assert code in codes
    await assert_refused_without_trace(world, call, response, status, code)
    assert await snapshot(world, call.caller) == before


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    "content_type",
    [
        pytest.param("text/plain", id="text-plain"),
        pytest.param("application/x-www-form-urlencoded", id="form"),
        pytest.param("application/xml", id="xml"),
        pytest.param(None, id="none"),
    ],
)
async def test_a_valid_body_under_the_wrong_content_type_is_refused(
    world: World, endpoint: str, content_type: str | None
) -> None:
    call = await prepare(world, endpoint)
    before = await snapshot(world, call.caller)

    response = await send(world, call, content=encoded(call.body), content_type=content_type)

    await assert_refused_without_trace(world, call, response, 415, "unsupported_media_type")
    assert await snapshot(world, call.caller) == before
    # The same body as JSON goes through: the content type was the only fault.
    accepted = await send(
        world, call, content=encoded(call.body), content_type="application/json; charset=utf-8"
    )
    assert accepted.status_code in (200, 201), accepted.text


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_unknown_fields_are_refused_and_named(world: World, endpoint: str) -> None:
    call = await prepare(world, endpoint)
    before = await snapshot(world, call.caller)

    response = await send(
        world,
        call,
        content=encoded({**call.body, "is_admin": True}),
        content_type="application/json",
    )

    problem = await assert_refused_without_trace(world, call, response, 400, "validation_failed")
    assert "is_admin" in {error["field"] for error in problem["errors"]}, problem["errors"]
    assert await snapshot(world, call.caller) == before


# Fields that are wrong one at a time ----------------------------------------------

NUL = "\u0000"
FIELD_CASES: list[Any] = [
    # endpoint, field, value ("MISSING" drops the field), status, code
    ("register", "email", 5, 400, "validation_failed"),
    ("register", "email", "not-an-email", 400, "validation_failed"),
    ("register", "email", "x" * 250 + "@example.org", 400, "validation_failed"),
    ("register", "email", f"a{NUL}b@example.org", 400, "validation_failed"),
    ("register", "email", "MISSING", 400, "validation_failed"),
    ("register", "password", 1234567890, 400, "validation_failed"),
    ("register", "password", "short", 400, "validation_failed"),
    ("register", "password", "x" * 201, 400, "validation_failed"),
    ("register", "display_name", "", 400, "validation_failed"),
    ("register", "display_name", "   ", 400, "validation_failed"),
    ("register", "display_name", "x" * 81, 400, "validation_failed"),
    ("register", "display_name", f"Ann{NUL}", 400, "validation_failed"),
    ("register", "display_name", ["Ann"], 400, "validation_failed"),
    ("register", "display_name", None, 400, "validation_failed"),
    ("register", "community", 7, 400, "validation_failed"),
    ("register", "community", "Not A Slug", 400, "validation_failed"),
    ("register", "community", "x" * 61, 400, "validation_failed"),
    ("register", "community", "nowhere", 422, "validation_failed"),
    ("register", "ward", "x" * 81, 400, "validation_failed"),
    ("register", "ward", f"Mill{NUL}Lane", 400, "validation_failed"),
    ("register", "ward", {"name": "Mill Lane"}, 400, "validation_failed"),
    ("register", "birth_year", "1950", 400, "validation_failed"),
    ("register", "birth_year", 1950.5, 400, "validation_failed"),
    ("register", "birth_year", True, 400, "validation_failed"),
    ("register", "birth_year", 1899, 400, "validation_failed"),
    ("register", "birth_year", 2101, 400, "validation_failed"),
    ("register", "birth_year", 10**30, 400, "validation_failed"),
    ("register", "birth_year", 2099, 422, "validation_failed"),
    ("register", "consent", "yes", 400, "validation_failed"),
    ("register", "consent", False, 422, "consent_required"),
    ("token", "email", 5, 400, "validation_failed"),
    ("token", "email", "x" * 255, 400, "validation_failed"),
    ("token", "email", f"a{NUL}@example.org", 400, "validation_failed"),
    ("token", "password", 5, 400, "validation_failed"),
    ("token", "password", "x" * 201, 400, "validation_failed"),
    ("token", "password", "MISSING", 400, "validation_failed"),
    ("profile", "display_name", "", 400, "validation_failed"),
    ("profile", "display_name", " \t ", 400, "validation_failed"),
    ("profile", "display_name", "x" * 81, 400, "validation_failed"),
    ("profile", "display_name", 5, 400, "validation_failed"),
    ("profile", "display_name", f"A{NUL}", 400, "validation_failed"),
    ("profile", "ward", "x" * 81, 400, "validation_failed"),
    ("profile", "skills", "x" * 1001, 400, "validation_failed"),
    ("profile", "skills", f"knitting{NUL}", 400, "validation_failed"),
    ("profile", "skills", ["knitting"], 400, "validation_failed"),
    ("profile", "birth_year", 1899, 400, "validation_failed"),
    ("profile", "birth_year", 2101, 400, "validation_failed"),
    ("profile", "birth_year", "1960", 400, "validation_failed"),
    ("profile", "birth_year", 2099, 422, "validation_failed"),
    ("area", "name", "", 400, "validation_failed"),
    ("area", "name", "x" * 101, 400, "validation_failed"),
    ("area", "name", f"North{NUL}", 400, "validation_failed"),
    ("area", "name", 5, 400, "validation_failed"),
    ("area", "slug", "Bad Slug", 400, "validation_failed"),
    ("area", "slug", "x", 400, "validation_failed"),
    ("area", "slug", "x" * 61, 400, "validation_failed"),
    ("area", "slug", "north", 409, "slug_taken"),
    ("area", "slug", "MISSING", 400, "validation_failed"),
    ("community", "name", "", 400, "validation_failed"),
    ("community", "name", "x" * 101, 400, "validation_failed"),
    ("community", "name", f"Town{NUL}", 400, "validation_failed"),
    ("community", "slug", "Bad_Slug", 400, "validation_failed"),
    ("community", "slug", "riverside", 409, "slug_taken"),
    ("community", "area", "nowhere", 422, "unknown_area"),
    ("community", "area", 5, 400, "validation_failed"),
    ("community", "requires_approval", "no", 400, "validation_failed"),
    ("community", "welcome_credit_minutes", -1, 400, "validation_failed"),
    ("community", "welcome_credit_minutes", 6001, 400, "validation_failed"),
    ("community", "welcome_credit_minutes", "60", 400, "validation_failed"),
    ("community", "welcome_credit_minutes", 1.5, 400, "validation_failed"),
    ("community", "member_floor_minutes", 1, 400, "validation_failed"),
    ("community", "member_floor_minutes", -60_001, 400, "validation_failed"),
    ("community", "member_ceiling_minutes", -1, 400, "validation_failed"),
    ("community", "member_ceiling_minutes", 600_001, 400, "validation_failed"),
    ("community", "dispute_window_days", 0, 400, "validation_failed"),
    ("community", "dispute_window_days", 366, 400, "validation_failed"),
    ("community", "small_cell_k", 1, 400, "validation_failed"),
    ("community", "small_cell_k", 101, 400, "validation_failed"),
    ("roles", "action", "promote", 400, "validation_failed"),
    ("roles", "action", 1, 400, "validation_failed"),
    ("roles", "role", "king", 400, "validation_failed"),
    ("roles", "reason", "", 400, "validation_failed"),
    ("roles", "reason", "x" * 1001, 400, "validation_failed"),
    ("roles", "reason", f"because{NUL}", 400, "validation_failed"),
    ("roles", "reason", "MISSING", 400, "validation_failed"),
    ("roles", "community", "Bad Slug", 400, "validation_failed"),
    ("roles", "community", "nowhere", 422, "validation_failed"),
    ("roles", "community", "MISSING", 422, "validation_failed"),
    ("roles", "area", "north", 422, "validation_failed"),  # the error names `community`
    ("roles", "area", 5, 400, "validation_failed"),
]


# A coordinator role with an area: the rule says it needs a community, and only that.
NAMED_INSTEAD = {("roles", "area", '"north"'): "community"}


def case_id(case: tuple[Any, ...]) -> str:
    endpoint, field, value, _, _ = case
    shown = json.dumps(value)[:20].replace(" ", "_") if value != "MISSING" else "missing"
    return f"{endpoint}.{field}={shown}"


@pytest.mark.parametrize("case", [pytest.param(case, id=case_id(case)) for case in FIELD_CASES])
async def test_a_bad_field_is_refused_and_named(world: World, case: tuple[Any, ...]) -> None:
    endpoint, field, value, status, code = case
    call = await prepare(world, endpoint)
    body = {key: item for key, item in call.body.items() if key != field}
    if value != "MISSING":
        body[field] = value
    before = await snapshot(world, call.caller)

    response = await send(world, call, content=encoded(body), content_type="application/json")

    problem = await assert_refused_without_trace(world, call, response, status, code)
    if code == "validation_failed":
        named = NAMED_INSTEAD.get((endpoint, field, json.dumps(value)), field)
        assert named in {error["field"] for error in problem["errors"]}, problem["errors"]
    assert await snapshot(world, call.caller) == before


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_the_valid_bodies_are_valid(world: World, endpoint: str) -> None:
    """The cases above spoil bodies that succeed: otherwise they would prove nothing."""
    call = await prepare(world, endpoint)
    response = await send(world, call, content=encoded(call.body), content_type="application/json")
    assert response.status_code in (200, 201), response.text


async def test_a_refused_role_change_for_an_unknown_member_writes_nothing(world: World) -> None:
    call = await prepare(world, "roles")
    before = await snapshot(world, None)
    response = await world.http.post(
        f"/api/v1/admin/members/{uuid.uuid4()}/roles", headers=call.headers, json=call.body
    )
    assert_problem(response, 404, "not_found")
    assert await snapshot(world, None) == before


async def test_a_taken_email_is_refused_without_a_trace(world: World) -> None:
    taken = await shared(world, "bad-input-taken")
    call = await prepare(world, "register")
    before = await snapshot(world, None)
    for email in (taken.email, taken.email.upper()):
        response = await world.http.post(call.path, json={**call.body, "email": email})
        assert_problem(response, 409, "email_taken")
    assert await snapshot(world, None) == before


async def test_registering_one_email_at_once_makes_one_member(world: World) -> None:
    call = await prepare(world, "register")
    before = await snapshot(world, None)

    responses = await asyncio.gather(
        *(world.http.post(call.path, json=call.body) for _ in range(6))
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 409, 409, 409, 409, 409], [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409, "email_taken")
    after = await snapshot(world, None)
    assert after["member_member"] == before["member_member"] + 1
    assert after["ledger_account"] == before["ledger_account"] + 1
    assert after["ledger_transfer"] == before["ledger_transfer"] + 1  # one welcome credit
    await world.assert_ledger_clean()


@pytest.mark.parametrize("endpoint", ["area", "community"])
async def test_creating_one_slug_at_once_makes_one(world: World, endpoint: str) -> None:
    call = await prepare(world, endpoint)
    before = await snapshot(world, None)

    responses = await asyncio.gather(
        *(world.http.post(call.path, json=call.body, headers=call.headers) for _ in range(5))
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 409, 409, 409, 409], [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409, "slug_taken")
    after = await snapshot(world, None)
    table = "member_area" if endpoint == "area" else "member_community"
    assert after[table] == before[table] + 1
    assert after["member_audit"] == before["member_audit"] + 1
    assert after["ledger_account"] == before["ledger_account"] + (5 if endpoint != "area" else 0)


async def test_granting_one_role_at_once_grants_it_once(world: World) -> None:
    nominee = await world.member("riverside", stem="twice")
    body = {"action": "grant", "role": "coordinator", "community": "riverside", "reason": "ok"}

    responses = await asyncio.gather(
        *(
            world.http.post(
                f"/api/v1/admin/members/{nominee.id}/roles", json=body, headers=world.admin.headers
            )
            for _ in range(5)
        )
    )

    assert [response.status_code for response in responses] == [200] * 5, [
        response.text for response in responses
    ]
    assert (await world.me(nominee))["roles"] == [
        {"role": "coordinator", "community": "riverside", "area": None}
    ]
