"""Item 1: who is asking is settled before the body is read, on every route (ADR 0025).

The API walk takes every operation of the app's own OpenAPI document and sends it
an empty JSON body ({}) as four callers: nobody, a plain member, a council viewer
and a coordinator of another community. The status is judged before anything
else: a caller who may not use a route never learns what its body lacks (no
400/415/422), an anonymous caller gets 401 and a signed-in one without the role
403. The page walk does the same for the HTML routes: anonymous callers are sent
to sign in, members without the role get the 403 page.

Who may call what is written out here, not read from the app: public routes by
name, the rest by their address. What comes next, the object a route names (404
before the body for a caller who may not see it), is walked in
tests/access/test_object_walk.py.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.admin.support import post_form
from tests.support.pages import page_sign_in
from tests.support.people import Town, sign_in

# Routes anyone may call, signed in or not.
PUBLIC_API = frozenset(
    {
        ("GET", "/health"),
        ("GET", "/ready"),
        ("POST", "/api/v1/auth/register"),
        ("POST", "/api/v1/auth/token"),
        ("GET", "/api/v1/communities"),
        ("GET", "/api/v1/categories"),
        ("POST", "/api/v1/donations/checkout"),
        ("POST", "/api/v1/webhooks/stripe"),
        # Account recovery: the caller has lost their way in (issue 15).
        ("POST", "/api/v1/auth/password-reset"),
        ("POST", "/api/v1/auth/password-reset/confirm"),
        ("POST", "/api/v1/auth/email/confirm"),
    }
)
PUBLIC_PAGES = frozenset(
    {
        ("GET", "/"),
        ("GET", "/register"),
        ("POST", "/register"),
        ("GET", "/sign-in"),
        ("POST", "/sign-in"),
        ("GET", "/sign-out"),
        ("POST", "/sign-out"),
        ("GET", "/privacy"),
        ("GET", "/how-it-works"),
        ("GET", "/account/closed"),
        ("GET", "/donate"),
        ("POST", "/donate"),
        ("GET", "/donate/thanks"),
        ("GET", "/donate/cancelled"),
        ("GET", "/forgot-password"),
        ("POST", "/forgot-password"),
        ("GET", "/reset-password"),
        ("POST", "/reset-password"),
        ("GET", "/account/email/confirm"),
        ("POST", "/account/email/confirm"),
        # The language chooser on every page (ADR 0048).
        ("POST", "/language"),
    }
)
# Signed links from a mail: the signature is the proof, no session is needed.
PUBLIC_PAGE_PREFIXES = ("/unsubscribe/",)
# Calls that would end the walking member's own session or account: allowed, and
# tested where those features are; the walk checks only that outsiders are refused.
SELF_ENDING = frozenset({("DELETE", "/api/v1/auth/token"), ("DELETE", "/api/v1/me")})
# At least this many operations: a walk over an empty or truncated document proves nothing.
API_OPERATIONS_MIN = 50
PAGE_ROUTES_MIN = 50
BODY_STATUSES = frozenset({400, 413, 415, 422})
SIGN_IN_PATH = "/sign-in"


def required_role(path: str) -> str:
    """Who may call a protected route, from its address."""
    bare = path.removeprefix("/api/v1")
    for prefix, role in (("/admin", "admin"), ("/coordinator", "coordinator")):
        if bare == prefix or bare.startswith(prefix + "/"):
            return role
    if bare.startswith("/reports"):
        return "reports"  # council viewers, coordinators and admins
    return "member"


@dataclass(frozen=True)
class Caller:
    name: str
    headers: dict[str, str]
    roles: frozenset[str]  # what the route walk may let them do beyond "member"


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    url: str


PARAMETER = re.compile(r"\{([^}:]+)(?::([^}]+))?\}")


def _fill(template: str, kinds: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        kind = match.group(2) or kinds.get(match.group(1), "")
        return str(uuid.uuid4()) if kind == "uuid" else "evt_walk_unknown"

    return PARAMETER.sub(value, template)


def api_operations(document: dict[str, Any]) -> Iterator[Operation]:
    for template, item in document["paths"].items():
        for method, operation in item.items():
            if method.upper() not in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                continue
            kinds = {
                parameter["name"]: parameter.get("schema", {}).get("format", "")
                for parameter in operation.get("parameters", [])
                if parameter.get("in") == "path"
            }
            yield Operation(method.upper(), template, _fill(template, kinds))


async def _send(client: AsyncTestClient[Litestar], op: Operation, caller: Caller) -> httpx.Response:
    return await client.request(op.method, op.url, json={}, headers=caller.headers)


def _verdict(op: Operation, caller: Caller, response: httpx.Response) -> str | None:
    """What is wrong with this answer, or None."""
    status = response.status_code
    role = required_role(op.template)
    if status >= 500:
        return f"{status}"
    if caller.name == "anonymous":
        return None if status == 401 else f"expected 401, got {status}"
    if role != "member" and role not in caller.roles:
        return None if status == 403 else f"expected 403, got {status}"
    return f"allowed caller refused: {status}" if status in {401, 403} else None


async def walking_cast(town: Town) -> list[Caller]:
    """Nobody, a member, a council viewer and a coordinator of hillside (not riverside)."""
    response = await town.client.post(
        f"/api/v1/admin/members/{town.carol.id}/roles",
        headers=town.admin.headers,
        json={"action": "grant", "reason": "walk", "role": "coordinator", "community": "hillside"},
    )
    assert response.status_code == 200, response.text
    return [
        Caller("anonymous", {}, frozenset()),
        Caller("member", town.alice.headers, frozenset()),
        Caller("council", town.council.headers, frozenset({"council", "reports"})),
        # A fresh token: roles are read when the caller is resolved.
        Caller(
            "other coordinator",
            await sign_in(town.client, town.carol.email),
            frozenset({"coordinator", "reports"}),
        ),
    ]


async def test_every_api_route_settles_the_caller_before_the_body(town: Town) -> None:
    client = town.client
    document = (await client.get("/schema/openapi.json")).json()
    operations = list(api_operations(document))
    assert len(operations) >= API_OPERATIONS_MIN, len(operations)
    public = {(op.method, op.template) for op in operations} & PUBLIC_API
    assert public == PUBLIC_API, "a public route is missing from the document"
    callers = await walking_cast(town)
    wrong: list[str] = []
    for op in operations:
        if (op.method, op.template) in PUBLIC_API:
            continue
        for caller in callers:
            if caller.name != "anonymous" and (op.method, op.template) in SELF_ENDING:
                continue
            response = await _send(client, op, caller)
            problem = _verdict(op, caller, response)
            if problem is not None:
                wrong.append(f"{op.method} {op.template} as {caller.name}: {problem}")
            if caller.name == "anonymous" or required_role(op.template) not in {
                "member",
                *caller.roles,
            }:
                assert response.status_code not in BODY_STATUSES, (op, caller.name)
    assert not wrong, "\n".join(wrong)


async def test_the_named_routes_of_the_issue_answer_401_then_403_then_the_body(
    town: Town,
) -> None:
    """The routes issue 14 found answering 400 `validation_failed` to strangers."""
    client = town.client
    someone = town.bob.id
    # A real account: an unknown one is 404 before its body (tests/access/test_object_walk.py).
    bob = await client.get(f"/api/v1/admin/members/{someone}", headers=town.admin.headers)
    assert bob.status_code == 200, bob.text
    account_id = bob.json()["account"]["account_id"]
    routes = [
        ("POST", "/api/v1/exchanges", "member"),
        ("POST", "/api/v1/coordinator/exchanges", "coordinator"),
        ("POST", "/api/v1/coordinator/grants", "coordinator"),
        ("POST", f"/api/v1/admin/members/{someone}/suspend", "admin"),
        ("PUT", f"/api/v1/admin/accounts/{account_id}/limits", "admin"),
    ]
    for method, url, role in routes:
        anonymous = await client.request(method, url, json={})
        assert anonymous.status_code == 401, (url, anonymous.text)
        assert anonymous.json()["code"] == "not_authenticated"
        assert "errors" not in anonymous.json()
        as_member = await client.request(method, url, json={}, headers=town.alice.headers)
        if role == "member":
            assert as_member.status_code == 400, (url, as_member.text)
            assert as_member.json()["code"] == "validation_failed"
            continue
        assert as_member.status_code == 403, (url, as_member.text)
        assert as_member.json()["code"] == "forbidden"
        as_council = await client.request(method, url, json={}, headers=town.council.headers)
        assert as_council.status_code == 403, (url, as_council.text)
        entitled = town.coordinator if role == "coordinator" else town.admin
        as_entitled = await client.request(method, url, json={}, headers=entitled.headers)
        assert as_entitled.status_code == 400, (url, as_entitled.text)
        assert as_entitled.json()["code"] == "validation_failed"


async def test_an_anonymous_request_that_is_not_json_still_gets_401_first(town: Town) -> None:
    response = await town.client.post(
        "/api/v1/coordinator/grants", content=b"member=1", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 401, response.text
    bad_key = await town.client.post(
        "/api/v1/exchanges", json={}, headers={"Idempotency-Key": "k" * 300}
    )
    assert bad_key.status_code == 401, bad_key.text


def page_routes(app: Litestar) -> Iterator[Operation]:
    for route in app.routes:
        path = route.path
        if path.startswith(("/api/", "/schema", "/static", "/health", "/ready")):
            continue
        for method in sorted(getattr(route, "methods", ())):
            if method in {"GET", "POST"}:
                yield Operation(method, path, _fill(path, {}))


async def _page_request(client: AsyncTestClient[Litestar], op: Operation) -> httpx.Response:
    if op.method == "GET":
        return await client.get(op.url, follow_redirects=False)
    return await post_form(client, op.url, {})


async def test_every_page_sends_strangers_to_sign_in_and_members_to_403(town: Town) -> None:
    client = town.client
    app: Litestar = client.app  # type: ignore[assignment]
    pages = [
        op
        for op in page_routes(app)
        if (op.method, op.url) not in PUBLIC_PAGES
        and not op.template.startswith(PUBLIC_PAGE_PREFIXES)
    ]
    assert len(pages) >= PAGE_ROUTES_MIN - len(PUBLIC_PAGES), len(pages)
    wrong: list[str] = []
    client.cookies.clear()
    for op in pages:
        response = await _page_request(client, op)
        location = response.headers.get("location", "")
        if response.status_code != 303 or not location.startswith(SIGN_IN_PATH):
            wrong.append(f"{op.method} {op.template} anonymous: {response.status_code}")
    await page_sign_in(client, town.alice.email)
    for op in pages:
        if required_role(op.template) == "member":
            continue
        response = await _page_request(client, op)
        if response.status_code != 403:
            wrong.append(f"{op.method} {op.template} as member: {response.status_code}")
    assert not wrong, "\n".join(wrong)
