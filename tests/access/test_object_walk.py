"""Not found before invalid: a route on one object answers a caller who may not see
that object with the same 404 whatever they send (ADR 0025, issue 14's last gap).

The walk takes every operation of the app's OpenAPI document whose path names an
object and calls it as someone entitled to the route but not to the object: a
member and coordinator of another community (carol, hillside) on riverside's
exchange, dispute, withdrawn listing, gift and member, and an admin on ids that
do not exist. Each gets the answer to a valid body, then to an empty body, to
broken JSON, to a body that is not JSON and to a malformed Idempotency-Key: all
must be that same 404. A 400 for the broken ones would tell a stranger that the
object exists, since the body is only judged for objects the caller may see.

Valid bodies are written out here, per route; a new object route with a body
must be added (the walk says so), so nobody can forget to think about it.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx
import msgspec
from litestar import Litestar, post
from litestar.routes import HTTPRoute

from service.http.access import Access, access, on_object, unknown_object_declarations
from tests.access.object_walk import (
    SEEN_BY_EVERY_MEMBER,
    VALID_BODIES,
    object_operations,
    page_url,
    walk_objects,
)
from tests.support.exchanges import completed, disputed
from tests.support.pages import page_sign_in, post_form
from tests.support.people import Town

OBJECT_OPERATIONS_MIN = 20
PAGE_FORMS_MIN = 10
BROKEN_SENDS: dict[str, dict[str, Any]] = {
    "empty body": {"json": {}},
    "broken JSON": {"content": b'{"reason": ', "headers": {"content-type": "application/json"}},
    "not JSON": {"content": b"reason=x", "headers": {"content-type": "text/plain"}},
    "unknown field": {"json": {"no_such_field": 1}},
}
BAD_IDEMPOTENCY_KEY = "k" * 300  # over the 255 characters allowed


def _problem(response: httpx.Response) -> tuple[int, Any, Any, Any]:
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return response.status_code, None, None, response.text[:80]
    body = response.json()
    return response.status_code, body.get("code"), body.get("detail"), body.get("type")


async def _send(
    client: httpx.AsyncClient, method: str, url: str, caller: dict[str, str], **send: Any
) -> httpx.Response:
    extra = send.pop("headers", {})
    return await client.request(method, url, headers={**caller, **extra}, **send)


async def test_a_stranger_gets_the_same_404_whatever_the_body(town: Town) -> None:
    client = town.client
    document = (await client.get("/schema/openapi.json")).json()
    objects = await walk_objects(town)
    operations = list(object_operations(document, objects))
    assert len(operations) >= OBJECT_OPERATIONS_MIN, len(operations)
    wrong: list[str] = []
    for op in operations:
        if op.has_body and (op.method, op.template) not in VALID_BODIES:
            wrong.append(f"{op.method} {op.template}: add a valid body to VALID_BODIES")
            continue
        valid: dict[str, Any] = {}
        if op.has_body:
            valid = {"json": VALID_BODIES[(op.method, op.template)]}
        expected = await _send(client, op.method, op.url, op.caller, **valid)
        if expected.status_code != 404:
            wrong.append(f"{op.method} {op.template}: valid body -> {_problem(expected)}")
            continue
        sends = {**BROKEN_SENDS, "bad Idempotency-Key": {**valid}}
        sends["bad Idempotency-Key"]["headers"] = {"Idempotency-Key": BAD_IDEMPOTENCY_KEY}
        for name, send in sends.items():
            answer = await _send(client, op.method, op.url, op.caller, **send)
            if _problem(answer) != _problem(expected):
                wrong.append(f"{op.method} {op.template} with {name}: {_problem(answer)}")
    assert not wrong, "\n".join(wrong)


async def test_the_object_walk_covers_the_routes_of_the_issue(town: Town) -> None:
    """The walk reaches what issue 14 named, with real objects, not just unknown ids."""
    document = (await town.client.get("/schema/openapi.json")).json()
    objects = await walk_objects(town)
    walked = {(op.method, op.template) for op in object_operations(document, objects)}
    for route in (
        ("POST", "/api/v1/exchanges/{exchange_id}/accept"),
        ("POST", "/api/v1/exchanges/{exchange_id}/dispute"),
        ("POST", "/api/v1/disputes/{dispute_id}/statements"),
        ("PATCH", "/api/v1/listings/{listing_id}"),
        ("GET", "/api/v1/transfers/{transfer_id}"),
        ("POST", "/api/v1/admin/members/{member_id}/suspend"),
        ("PUT", "/api/v1/admin/accounts/{account_id}/limits"),
        ("GET", "/api/v1/conversations/{conversation_id}/messages"),
        ("POST", "/api/v1/conversations/{conversation_id}/messages"),
        ("POST", "/api/v1/coordinator/concerns/{concern_id}/close"),
        ("POST", "/api/v1/coordinator/concerns/{concern_id}/suspend"),
        ("DELETE", "/api/v1/me/blocks/{member_id}"),
        # Issue 18.
        ("POST", "/api/v1/exchanges/{exchange_id}/thanks"),
        ("POST", "/api/v1/coordinator/members/{member_id}/checks"),
        ("GET", "/api/v1/members/{member_id}/profile"),
        ("POST", "/api/v1/listings/{listing_id}/renew"),
        ("PUT", "/api/v1/coordinator/pairs/{pair_id}/arrangement"),
        ("POST", "/api/v1/coordinator/pairs/{pair_id}/visits"),
        ("POST", "/api/v1/me/pairs/{pair_id}/visits"),
    ):
        assert route in walked, route
    assert ("GET", "/api/v1/members/{member_id}") in SEEN_BY_EVERY_MEMBER


def test_the_valid_bodies_of_the_walk_are_valid(app: Litestar) -> None:
    """Each body of VALID_BODIES decodes against its route's own type, strictly: the
    walk's 404 for a valid body is about the object, never about the body."""
    types: dict[tuple[str, str], Any] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        template = re.sub(r":[^}]+\}", "}", route.path)
        for handler in route.route_handlers:
            data = handler.parsed_fn_signature.parameters.get("data")
            for method in handler.http_methods:
                if data is not None:
                    types[(method, template)] = data.annotation
    for route_key, body in VALID_BODIES.items():
        assert route_key in types, route_key
        msgspec.json.decode(json.dumps(body).encode(), type=types[route_key], strict=True)


async def test_a_party_still_learns_what_is_wrong_with_the_body(town: Town) -> None:
    """The other side of the rule: who may see the object gets the 400, so the walk's
    broken bodies really are broken, and the 404 above is about the object."""
    exchange = await completed(town, town.bob, [town.alice])
    dispute = await disputed(town, town.alice, exchange)
    for url, who in (
        (f"/api/v1/exchanges/{exchange['id']}/dispute", town.bob),
        (f"/api/v1/disputes/{dispute['id']}/statements", town.bob),
    ):
        as_party = await town.client.post(url, json={}, headers=who.headers)
        assert as_party.status_code == 400, as_party.text
        assert as_party.json()["code"] == "validation_failed"
        as_stranger = await town.client.post(url, json={}, headers=town.carol.headers)
        assert as_stranger.status_code == 404, as_stranger.text
        assert as_stranger.json()["code"] == "not_found"


async def test_every_page_form_on_a_hidden_object_answers_404(town: Town) -> None:
    """Pages: an empty form posted by a stranger to a page route on an object is the
    404 page (admins: on objects that do not exist), never a form error about it."""
    objects = await walk_objects(town)
    client = town.client
    app: Litestar = client.app  # type: ignore[assignment]
    forms = [
        route.path
        for route in app.routes
        if isinstance(route, HTTPRoute)
        and "{" in route.path
        and "POST" in route.methods
        and not route.path.startswith(("/api/", "/schema", "/static", "/unsubscribe/"))
    ]
    assert len(forms) >= PAGE_FORMS_MIN, forms
    wrong: list[str] = []
    for admin in (False, True):
        client.cookies.clear()
        await page_sign_in(client, town.admin.email if admin else town.carol.email)
        for template in forms:
            if template.startswith("/admin/") is not admin:
                continue
            path = page_url(template, objects, unknown=admin)
            response = await post_form(client, path, {})
            if response.status_code != 404:
                wrong.append(f"POST {template}: {response.status_code}")
    assert not wrong, "\n".join(wrong)


def test_a_route_naming_an_object_nobody_checks_is_refused_at_start() -> None:
    """A typo in a kind, or an object on a public route (no caller to check), would
    silently skip the check: the app lists them and refuses to start (service/app.py)."""

    async def sees_everything(principal: object, thing_id: object) -> None:
        del principal, thing_id

    @post("/things/{thing_id:uuid}", opt=on_object("thing", "thing_id"))
    async def member_route(thing_id: uuid.UUID) -> None:
        del thing_id

    @post("/open/{thing_id:uuid}", opt={**access(Access.PUBLIC), **on_object("thing", "thing_id")})
    async def public_route(thing_id: uuid.UUID) -> None:
        del thing_id

    handlers = [member_route, public_route]
    assert len(unknown_object_declarations(handlers, {})) == len(handlers)
    checked = unknown_object_declarations(handlers, {"thing": sees_everything})
    assert checked == [f"{public_route.handler_name}: thing"]
