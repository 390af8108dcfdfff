"""Tokens, sessions and CSRF, sign-in failures, suspension, rehashing, the append-only audit."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio

from service.limits import API_TOKEN_LIFETIME_SECONDS, CSRF_COOKIE_NAME, CSRF_HEADER_NAME
from service.members import passwords
from service.members.callers import token_digest
from service.members.sessions import session_create
from service.members.tables import ApiToken, AuditEntry, Member, WebSession
from tests.members.world import ENGINES, World, assert_problem, open_world
from tests.support.people import PASSWORD, Person

pytestmark = pytest.mark.asyncio(loop_scope="module")

TOKEN_PATH = "/api/v1/auth/token"


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=ENGINES)
async def world(request: pytest.FixtureRequest) -> AsyncIterator[World]:
    async with open_world(request, request.param) as shared:
        yield shared


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create_token(world: World, email: str, password: str = PASSWORD) -> str:
    response = await world.http.post(TOKEN_PATH, json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


async def me_status(world: World, headers: dict[str, str]) -> int:
    return (await world.http.get("/api/v1/me", headers=headers)).status_code


# Tokens ----------------------------------------------------------------------------


async def test_a_token_is_issued_once_stored_hashed_and_works(world: World) -> None:
    member = await world.member("meadow")
    before = datetime.now(UTC)

    response = await world.http.post(
        TOKEN_PATH, json={"email": member.email.upper(), "password": PASSWORD}
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"token", "expires_at", "member_id"}
    assert body["member_id"] == str(member.id)
    token = body["token"]
    assert token.startswith("tb_")
    assert len(token) > 40
    expires_at = datetime.fromisoformat(body["expires_at"])
    lifetime = timedelta(seconds=API_TOKEN_LIFETIME_SECONDS)
    assert before + lifetime <= expires_at <= datetime.now(UTC) + lifetime
    assert (await world.me(Person(member.id, member.email, bearer(token))))["id"] == str(member.id)
    rows = await ApiToken.select(ApiToken.token_hash).where(ApiToken.member == member.id).run()
    assert token_digest(token) in {row["token_hash"] for row in rows}
    assert token not in {row["token_hash"] for row in rows}
    again = await create_token(world, member.email)
    assert again != token  # every sign-in gets its own token


async def test_revoking_ends_only_the_token_in_use(world: World) -> None:
    member = await world.member("meadow")
    other = bearer(await create_token(world, member.email))

    response = await world.http.delete(TOKEN_PATH, headers=member.headers)

    assert response.status_code == 204, response.text
    problem = assert_problem(
        await world.http.get("/api/v1/me", headers=member.headers), 401, "invalid_token"
    )
    assert "stack" not in problem["detail"].lower()
    assert await me_status(world, other) == 200
    again = await world.http.delete(TOKEN_PATH, headers=member.headers)
    assert_problem(again, 401, "invalid_token")


async def test_an_expired_token_is_refused(world: World) -> None:
    member = await world.member("meadow")
    token = await create_token(world, member.email)
    assert await me_status(world, bearer(token)) == 200
    await (
        ApiToken.update({ApiToken.expires_at: datetime.now(UTC) - timedelta(seconds=1)})
        .where(ApiToken.token_hash == token_digest(token))
        .run()
    )

    response = await world.http.get("/api/v1/me", headers=bearer(token))

    assert_problem(response, 401, "invalid_token")
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Bearer garbage", id="garbage"),
        pytest.param("Bearer tb_" + "A" * 43, id="well-formed-unknown"),
        pytest.param("Bearer ", id="empty-token"),
        pytest.param("Bearer", id="no-token"),
        pytest.param("Basic YWxpY2U6c2VjcmV0", id="basic-scheme"),
        pytest.param("Token tb_abc", id="other-scheme"),
        pytest.param("Bearer " + "x" * 8000, id="huge-token"),
        pytest.param("Bearer tb_'; DROP TABLE member_member; --", id="sql"),
        pytest.param("Bearer \u00e9\u00e8", id="non-ascii"),
    ],
)
async def test_a_bad_token_is_a_401_problem(world: World, authorization: str) -> None:
    response = await world.http.get("/api/v1/me", headers={"Authorization": authorization.encode()})
    assert_problem(response, 401, "invalid_token")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert await Member.count().run() > 0


async def test_no_credentials_is_a_401_problem(world: World) -> None:
    response = await world.http.get("/api/v1/me/export")
    assert_problem(response, 401, "not_authenticated")
    assert response.headers["www-authenticate"] == "Bearer"


# Sign-in failures ------------------------------------------------------------------


def comparable(body: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in body.items() if key != "request_id"}


async def test_wrong_password_and_unknown_email_answer_alike(world: World) -> None:
    member = await world.member("meadow")
    wrong_password = await world.http.post(
        TOKEN_PATH, json={"email": member.email, "password": "not the password"}
    )
    unknown_email = await world.http.post(
        TOKEN_PATH, json={"email": world.email("nobody"), "password": "not the password"}
    )
    closed = await world.member("meadow")
    assert (await world.http.delete("/api/v1/me", headers=closed.headers)).status_code == 204
    closed_account = await world.http.post(
        TOKEN_PATH, json={"email": closed.email, "password": PASSWORD}
    )

    bodies = [
        assert_problem(response, 401, "sign_in_failed")
        for response in (wrong_password, unknown_email, closed_account)
    ]
    assert comparable(bodies[0]) == comparable(bodies[1]) == comparable(bodies[2])
    assert member.email not in wrong_password.text
    assert await world.live_tokens(member.id) == 1  # only the one `member()` made


# Suspension ------------------------------------------------------------------------


async def suspend(member_id: uuid.UUID) -> None:
    await Member.update({Member.status: "suspended"}).where(Member.id == member_id).run()


async def test_a_suspended_member_gets_no_token_and_loses_the_ones_held(world: World) -> None:
    member = await world.member("meadow")
    assert await me_status(world, member.headers) == 200

    await suspend(member.id)

    refused = await world.http.post(TOKEN_PATH, json={"email": member.email, "password": PASSWORD})
    assert_problem(refused, 403, "account_suspended")
    assert await world.live_tokens(member.id) == 1  # no new token was stored
    assert_problem(await world.http.get("/api/v1/me", headers=member.headers), 401, "invalid_token")
    # A wrong password still says only that the pair is wrong.
    wrong = await world.http.post(
        TOKEN_PATH, json={"email": member.email, "password": "not the password"}
    )
    assert_problem(wrong, 401, "sign_in_failed")


async def test_a_suspended_member_loses_their_session(world: World) -> None:
    member = await world.member("meadow")
    row = await world.row(member.id)
    session = (await session_create(member=row, replacing_token=None)).token
    cookie = {"Cookie": f"tb_session={session}"}
    assert await me_status(world, cookie) == 200

    await suspend(member.id)

    assert_problem(await world.http.get("/api/v1/me", headers=cookie), 401, "not_authenticated")


# Session cookie and CSRF -----------------------------------------------------------


async def session_headers(world: World, member: Person, csrf: str | None) -> dict[str, str]:
    row = await world.row(member.id)
    session = (await session_create(member=row, replacing_token=None)).token
    cookie = f"tb_session={session}"
    if csrf is not None:
        cookie += f"; {CSRF_COOKIE_NAME}={csrf}"
    return {"Cookie": cookie}


async def test_session_reads_need_no_csrf_token(world: World) -> None:
    member = await world.member("meadow")
    headers = await session_headers(world, member, csrf=None)
    response = await world.http.get("/api/v1/me", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == str(member.id)


@pytest.mark.parametrize(
    ("cookie_value", "header_value"),
    [
        pytest.param("csrf-value-1234", None, id="no-header"),
        pytest.param("csrf-value-1234", "", id="empty-header"),
        pytest.param("csrf-value-1234", "csrf-value-9999", id="wrong-header"),
        pytest.param(None, "csrf-value-1234", id="no-cookie"),
    ],
)
async def test_session_writes_without_a_matching_csrf_token_are_refused(
    world: World, cookie_value: str | None, header_value: str | None
) -> None:
    member = await world.member("meadow")
    before = await world.me(member)
    headers = await session_headers(world, member, csrf=cookie_value)
    if header_value is not None:
        headers[CSRF_HEADER_NAME] = header_value

    patched = await world.http.patch("/api/v1/me", headers=headers, json={"ward": "Elsewhere"})
    revoked = await world.http.delete(TOKEN_PATH, headers=headers)
    closed = await world.http.delete("/api/v1/me", headers=headers)

    for response in (patched, revoked, closed):
        assert_problem(response, 403, "csrf_failed")
    assert await world.me(member) == before
    assert (await world.http.get("/api/v1/me", headers=headers)).status_code == 200


async def test_session_writes_with_the_csrf_token_go_through(world: World) -> None:
    member = await world.member("meadow")
    headers = await session_headers(world, member, csrf="csrf-value-1234")
    headers[CSRF_HEADER_NAME] = "csrf-value-1234"

    patched = await world.http.patch("/api/v1/me", headers=headers, json={"ward": "Riverbank"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["ward"] == "Riverbank"

    ended = await world.http.delete(TOKEN_PATH, headers=headers)
    assert ended.status_code == 204, ended.text
    assert_problem(await world.http.get("/api/v1/me", headers=headers), 401, "not_authenticated")
    sessions = (
        await WebSession.select(WebSession.ended_at).where(WebSession.member == member.id).run()
    )
    assert [row["ended_at"] is not None for row in sessions] == [True]
    assert await me_status(world, member.headers) == 200  # the bearer token lives on


async def test_a_session_from_the_sign_in_page_needs_the_csrf_header_for_api_writes(
    world: World,
) -> None:
    """The real browser flow: sign in on the page, then call the API riding on its cookies."""
    member = await world.member("meadow")
    async with world.client_at("192.0.2.10") as browser:
        page = await browser.get("/sign-in")
        assert page.status_code == 200, page.text
        form_token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        assert form_token, "the sign-in form carries a CSRF token"
        signed_in = await browser.post(
            "/sign-in",
            data={
                "email": member.email,
                "password": PASSWORD,
                "_csrf_token": form_token.group(1),
            },
        )
        assert signed_in.status_code == 303, signed_in.text
        csrf_cookie = browser.cookies.get(CSRF_COOKIE_NAME)
        assert csrf_cookie
        assert browser.cookies.get("tb_session")

        me = await browser.get("/api/v1/me")
        assert me.status_code == 200, me.text
        assert me.json()["id"] == str(member.id)
        refused = await browser.patch("/api/v1/me", json={"ward": "Page Lane"})
        assert_problem(refused, 403, "csrf_failed")
        assert (await world.me(member))["ward"] == ""
        accepted = await browser.patch(
            "/api/v1/me", json={"ward": "Page Lane"}, headers={CSRF_HEADER_NAME: csrf_cookie}
        )
        assert accepted.status_code == 200, accepted.text
        assert (await world.me(member))["ward"] == "Page Lane"


async def test_a_bearer_token_needs_no_csrf_token(world: World) -> None:
    member = await world.member("meadow")
    response = await world.http.patch("/api/v1/me", headers=member.headers, json={"ward": "Dock"})
    assert response.status_code == 200, response.text


# Password rehash -------------------------------------------------------------------


def argon2_parameters(password_hash: str) -> tuple[int, int]:
    found = re.search(r"\$m=(\d+),t=(\d+),p=\d+\$", password_hash)
    assert found, password_hash
    return int(found.group(1)), int(found.group(2))


@pytest.fixture
def restore_password_cost() -> Iterator[None]:
    hasher = passwords._current[0].hasher
    yield
    passwords.configure(time_cost=hasher.time_cost, memory_kib=hasher.memory_cost)


@pytest.mark.usefixtures("restore_password_cost")
async def test_sign_in_rehashes_when_the_argon2_cost_changes(world: World) -> None:
    member = await world.member("meadow")
    old_hash = (await world.row(member.id)).password_hash
    assert old_hash is not None
    memory_kib, time_cost = argon2_parameters(old_hash)

    passwords.configure(time_cost=time_cost + 1, memory_kib=memory_kib * 2)
    wrong = await world.http.post(TOKEN_PATH, json={"email": member.email, "password": "nope"})
    assert wrong.status_code == 401
    assert (await world.row(member.id)).password_hash == old_hash  # no rehash without the password
    await create_token(world, member.email)

    new_hash = (await world.row(member.id)).password_hash
    assert new_hash is not None
    assert new_hash != old_hash
    assert argon2_parameters(new_hash) == (memory_kib * 2, time_cost + 1)
    assert not passwords.needs_rehash(new_hash)
    await create_token(world, member.email)  # the new hash verifies the same password
    assert (await world.row(member.id)).password_hash == new_hash  # and is not redone


# The audit log ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("UPDATE member_audit SET reason = 'rewritten'", id="update"),
        pytest.param("DELETE FROM member_audit", id="delete"),
    ],
)
async def test_the_audit_log_refuses_update_and_delete(world: World, statement: str) -> None:
    member = await world.member("riverside", approve=False)
    await world.approve(member.id, world.admin)
    before = await AuditEntry.select().order_by(AuditEntry.id).run()
    assert before

    with pytest.raises(Exception, match="append-only"):
        await AuditEntry.raw(statement).run()

    assert await AuditEntry.select().order_by(AuditEntry.id).run() == before
