"""Member A cannot read or change member B's things; export and closure (journey 9)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio

from ledger import Ledger, Unit
from service.members.accounts import closure_transfer_id
from service.members.callers import token_digest
from service.members.closure import FORMER_MEMBER_NAME
from service.members.sessions import session_create
from service.members.tables import ApiToken, Member, WebSession
from tests.members.world import ENGINES, World, assert_problem, open_world
from tests.support.people import PASSWORD, Person

pytestmark = pytest.mark.asyncio(loop_scope="module")

PUBLIC_FIELDS = {"id", "display_name", "ward", "skills", "community"}


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=ENGINES)
async def world(request: pytest.FixtureRequest) -> AsyncIterator[World]:
    async with open_world(request, request.param) as shared:
        yield shared


async def named(world: World, name: str, community: str = "riverside", **extra: object) -> Person:
    return await world.member(community, stem=name.lower(), display_name=name, **extra)


async def new_session(member_id: uuid.UUID) -> str:
    member = await Member.objects().where(Member.id == member_id).first().run()
    assert member is not None
    issued = await session_create(member=member, replacing_token=None)
    return issued.token


def bearer(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


# Reading and changing other members' things --------------------------------------


async def test_public_profile_shows_only_public_fields(world: World) -> None:
    bob = await named(world, "Bobbington", ward="Mill Lane", birth_year=1951)
    patched = await world.http.patch(
        "/api/v1/me", headers=bob.headers, json={"skills": "gardening, lifts"}
    )
    assert patched.status_code == 200, patched.text
    alice = await named(world, "Alicia")
    carol = await named(world, "Carolyn", community="hillside")

    for reader in (alice, carol, world.admin):
        response = await world.http.get(f"/api/v1/members/{bob.id}", headers=reader.headers)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "id": str(bob.id),
            "display_name": "Bobbington",
            "ward": "Mill Lane",
            "skills": "gardening, lifts",
            "community": "riverside",
        }
        assert set(response.json()) == PUBLIC_FIELDS
        for private in (bob.email, "1951", "active", bearer(bob.headers)):
            assert private not in response.text


async def test_profiles_of_pending_and_unknown_members_look_the_same(world: World) -> None:
    alice = await named(world, "Alison")
    pending = await world.member("riverside", approve=False)
    unknown = await world.http.get(f"/api/v1/members/{uuid.uuid4()}", headers=alice.headers)
    hidden = await world.http.get(f"/api/v1/members/{pending.id}", headers=alice.headers)
    unknown_body = assert_problem(unknown, 404, "not_found")
    hidden_body = assert_problem(hidden, 404, "not_found")
    assert hidden_body["detail"] == unknown_body["detail"]
    assert hidden_body["title"] == unknown_body["title"]


async def test_patch_me_changes_only_the_caller(world: World) -> None:
    alice = await named(world, "Alexandra", ward="Quay")
    bob = await named(world, "Roberto", ward="Hill")
    bob_before = await world.me(bob)

    response = await world.http.patch(
        "/api/v1/me",
        headers=alice.headers,
        json={"display_name": "Alex", "ward": "Harbour", "skills": "cooking", "birth_year": 1960},
    )

    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["id"] == str(alice.id)
    assert (changed["display_name"], changed["ward"], changed["skills"], changed["birth_year"]) == (
        "Alex",
        "Harbour",
        "cooking",
        1960,
    )
    assert await world.me(bob) == bob_before
    row = await world.row(alice.id)
    assert (row.display_name, row.ward, row.skills, row.birth_year) == (
        "Alex",
        "Harbour",
        "cooking",
        1960,
    )


@pytest.mark.parametrize(
    "smuggled",
    [
        pytest.param({"id": "BOB"}, id="id"),
        pytest.param({"member_id": "BOB"}, id="member_id"),
        pytest.param({"email": "taken@example.org"}, id="email"),
        pytest.param({"status": "active"}, id="status"),
        pytest.param({"community": "hillside"}, id="community"),
        pytest.param({"roles": [{"role": "admin"}]}, id="roles"),
    ],
)
async def test_patch_me_cannot_aim_at_another_member_or_field(
    world: World, smuggled: dict[str, object]
) -> None:
    alice = await named(world, "Alberta")
    bob = await named(world, "Bartholomew")
    body = {key: (str(bob.id) if value == "BOB" else value) for key, value in smuggled.items()} | {
        "display_name": "Hijacked"
    }
    alice_before, bob_before = await world.me(alice), await world.me(bob)

    response = await world.http.patch("/api/v1/me", headers=alice.headers, json=body)

    problem = assert_problem(response, 400, "validation_failed")
    assert problem["errors"]
    assert await world.me(alice) == alice_before
    assert await world.me(bob) == bob_before


async def test_a_token_of_a_never_reveals_b(world: World) -> None:
    alice = await named(world, "Alfreda")
    bob = await named(world, "Bertram")
    await world.gift(bob.id, alice.id, 45)  # alice 165, bob 75: the balances tell them apart
    bob_account = (await world.row(bob.id)).hour_account_id

    for path in (
        "/api/v1/me",
        f"/api/v1/me?id={bob.id}",
        f"/api/v1/me?member_id={bob.id}",
        "/api/v1/accounts/me",
        f"/api/v1/accounts/me?member_id={bob.id}&account_id={bob_account}",
        "/api/v1/me/export",
        f"/api/v1/me/export?member_id={bob.id}",
    ):
        response = await world.http.get(path, headers=alice.headers)
        assert response.status_code == 200, (path, response.text)
        for secret in (bob.email, str(bob_account), "Bertram"):
            assert secret not in response.text, (path, secret)
    account = await world.http.get("/api/v1/accounts/me", headers=alice.headers)
    assert account.json()["balance_minutes"] == 165
    assert (await world.me(alice))["id"] == str(alice.id)
    bob_view = await world.http.get("/api/v1/accounts/me", headers=bob.headers)
    assert bob_view.json()["balance_minutes"] == 75


# Export ----------------------------------------------------------------------------


async def test_export_holds_everything_about_the_caller_and_nothing_secret(world: World) -> None:
    alice = await named(world, "Annabel", ward="Old Town", birth_year=1948)
    bob = await named(world, "Benedict")
    await world.grant(alice, "coordinator", community="riverside")
    await world.gift(bob.id, alice.id, 30)
    spare = await world.sign_in(alice.email)
    revoked = await world.http.delete("/api/v1/auth/token", headers=spare)
    assert revoked.status_code == 204
    session_token = await new_session(alice.id)
    for other in (bob.headers, await world.sign_in(bob.email)):  # bob's tokens must not show
        assert (await world.http.get("/api/v1/me", headers=other)).status_code == 200
    await new_session(bob.id)

    response = await world.http.get("/api/v1/me/export", headers=alice.headers)

    assert response.status_code == 200, response.text
    export = response.json()
    assert set(export) == {
        "exported_at",
        "profile",
        "roles",
        "account",
        "statement",
        "sessions",
        "api_tokens",
        "audit",
        # The other features' parts (tests/members/test_export_complete.py).
        "listings",
        "exchanges",
        "disputes",
        "donations",
        "notices",
        "conversations",
        "blocks",
        "concerns",
        "thanks_given",
        "thanks_received",
        "checks",
        "friendship_pairs",
        "events",
        "wellbeing",
        "truncated",
    }
    assert (export["listings"], export["exchanges"], export["disputes"]) == ([], [], [])
    assert (export["donations"], export["truncated"]) == ([], [])
    profile = export["profile"]
    assert profile["id"] == str(alice.id)
    assert profile["email"] == alice.email
    assert (profile["display_name"], profile["ward"], profile["birth_year"]) == (
        "Annabel",
        "Old Town",
        1948,
    )
    assert (profile["status"], profile["community"]) == ("active", "riverside")
    assert profile["consented_at"] and profile["approved_at"] and profile["created_at"]

    riverside = await world.community("riverside")
    assert export["roles"] == [
        {"role": "coordinator", "community": str(riverside.id), "area": None}
    ]
    account = await world.http.get("/api/v1/accounts/me", headers=alice.headers)
    assert export["account"] == account.json()
    assert export["account"]["balance_minutes"] == 150

    # Newest first: the gift, then the welcome credit.
    statement = export["statement"]
    assert [
        (line["code"], line["minutes"], line["balance_after_minutes"]) for line in statement
    ] == [
        ("gift", 30, 150),
        ("welcome", 120, 120),
    ]

    assert len(export["sessions"]) == 1
    assert set(export["sessions"][0]) == {"created_at", "last_seen_at", "ended_at"}
    tokens = export["api_tokens"]
    assert len(tokens) == 2  # the one in use and the revoked one; none of bob's
    assert set(tokens[0]) == {"created_at", "expires_at", "revoked_at", "last_used_at"}
    assert sorted(token["revoked_at"] is None for token in tokens) == [False, True]
    assert {"member.approve", "role.grant"} <= {entry["action"] for entry in export["audit"]}

    text = response.text
    stored = await world.row(alice.id)
    assert stored.password_hash is not None
    for secret in (
        stored.password_hash,
        "$argon2",
        PASSWORD,
        bearer(alice.headers),
        token_digest(bearer(alice.headers)),
        bearer(spare),
        session_token,
        token_digest(session_token),
        bob.email,
        str(bob.id),
        "Benedict",
    ):
        assert secret not in text, secret
    assert "password" not in text.lower()
    assert "token_hash" not in text


# Closure ---------------------------------------------------------------------------


async def pool_balance(world: World, community: str) -> int:
    pool = (await world.community(community)).pool_account_id
    return (await world.ledger.balance(account_id=pool)).balance_minor


async def issuance_balance(world: World, community: str) -> int:
    issuance = (await world.community(community)).issuance_account_id
    return (await world.ledger.balance(account_id=issuance)).balance_minor


async def close(world: World, who: Person) -> None:
    response = await world.http.delete("/api/v1/me", headers=who.headers)
    assert response.status_code == 204, response.text


async def assert_erased(world: World, who: Person, *, birth_year: int | None) -> None:
    row = await world.row(who.id)
    assert row.email is None
    assert row.password_hash is None
    assert row.display_name == FORMER_MEMBER_NAME
    assert (row.ward, row.skills) == ("", "")
    assert row.status == "closed"
    assert row.closed_at is not None
    assert row.birth_year == birth_year  # kept for age-band figures (ADR 0006)
    assert await world.live_tokens(who.id) == 0
    live_sessions = (
        await WebSession.count()
        .where((WebSession.member == who.id) & WebSession.ended_at.is_null())
        .run()
    )
    assert live_sessions == 0
    assert "member.close" in await world.audit_actions(who.id)


async def test_closing_erases_personal_data_and_revokes_every_credential(world: World) -> None:
    community = await world.new_community()
    alice = await named(world, "Ariadne", community, ward="Bridge End", birth_year=1970)
    bob = await named(world, "Basil", community)
    await world.grant(alice, "coordinator", community=community)
    spare = await world.sign_in(alice.email)
    session = await new_session(alice.id)
    session_headers = {"Cookie": f"tb_session={session}"}
    assert (await world.http.get("/api/v1/me", headers=session_headers)).status_code == 200

    await close(world, alice)

    await assert_erased(world, alice, birth_year=1970)
    for headers in (alice.headers, spare):
        assert_problem(await world.http.get("/api/v1/me", headers=headers), 401, "invalid_token")
    assert_problem(
        await world.http.get("/api/v1/me", headers=session_headers), 401, "not_authenticated"
    )
    sign_in = await world.http.post(
        "/api/v1/auth/token", json={"email": alice.email, "password": PASSWORD}
    )
    assert_problem(sign_in, 401, "sign_in_failed")
    profile = await world.http.get(f"/api/v1/members/{alice.id}", headers=bob.headers)
    assert_problem(profile, 404, "not_found")
    assert (await world.me(bob))["display_name"] == "Basil"  # bob is untouched
    revoked = (
        await ApiToken.count()
        .where((ApiToken.member == alice.id) & ApiToken.revoked_at.is_not_null())
        .run()
    )
    assert revoked == 2
    # The email is free again: the person may come back as a new member.
    assert (await world.register(alice.email, community)).status_code == 201


async def test_closing_with_credit_donates_it_to_the_pool(world: World) -> None:
    community = await world.new_community()
    alice = await named(world, "Aurelia", community)
    bob = await named(world, "Barnaby", community)
    await world.gift(bob.id, alice.id, 30)
    issued = await issuance_balance(world, community)

    await close(world, alice)

    account_id = (await world.row(alice.id)).hour_account_id
    closure = await world.ledger.get_transfer(transfer_id=closure_transfer_id(alice.id))
    assert closure.code == "closure"
    assert closure.amount_minor == 150
    assert closure.debit_account_id == account_id
    assert closure.credit_account_id == (await world.community(community)).pool_account_id
    account = await world.ledger.account(account_id=account_id)
    assert account.balance_minor == 0
    assert account.closed_at is not None
    assert await pool_balance(world, community) == 150
    assert await issuance_balance(world, community) == issued
    assert await world.balance(bob.id) == 90
    await world.assert_ledger_clean()


@pytest.mark.parametrize("pool_covers", [True, False], ids=["pool-covers", "pool-short"])
async def test_closing_with_a_debt_writes_it_off(world: World, pool_covers: bool) -> None:
    community = await world.new_community()
    debtor = await named(world, "Dorian", community)
    friend = await named(world, "Felicity", community)
    await world.gift(debtor.id, friend.id, 300)  # 120 - 300: a debt of 180
    assert await world.balance(debtor.id) == -180
    if pool_covers:
        donor = await named(world, "Donatella", community)
        await close(world, donor)  # donates 120 to the pool
        pool = (await world.community(community)).pool_account_id
        await world.ledger.transfer(
            id=uuid.uuid4(),
            debit_account_id=(await world.row(friend.id)).hour_account_id,
            credit_account_id=pool,
            amount_minor=100,
            unit=Unit.HOUR,
            code="donation",
            actor=f"member:{friend.id}",
        )
    pool_before = await pool_balance(world, community)
    issued_before = await issuance_balance(world, community)
    assert (pool_before >= 180) == pool_covers

    await close(world, debtor)

    debtor_account = (await world.row(debtor.id)).hour_account_id
    closure = await world.ledger.get_transfer(transfer_id=closure_transfer_id(debtor.id))
    assert closure.code == "closure"
    assert closure.amount_minor == 180
    assert closure.credit_account_id == debtor_account
    settings = await world.community(community)
    if pool_covers:
        assert closure.debit_account_id == settings.pool_account_id
        assert await pool_balance(world, community) == pool_before - 180
        assert await issuance_balance(world, community) == issued_before
    else:
        assert closure.debit_account_id == settings.issuance_account_id
        assert await pool_balance(world, community) == pool_before
        assert await issuance_balance(world, community) == issued_before - 180
    assert (await world.ledger.account(account_id=debtor_account)).balance_minor == 0
    assert await world.balance(friend.id) == 420 - (100 if pool_covers else 0)
    await assert_erased(world, debtor, birth_year=None)
    await world.assert_ledger_clean()


async def test_closing_with_nothing_to_settle_posts_no_closure(world: World) -> None:
    community = await world.new_community(welcome=0)
    member = await named(world, "Zero", community)

    await close(world, member)

    with pytest.raises(Exception, match="transfer_not_found"):
        await world.ledger.get_transfer(transfer_id=closure_transfer_id(member.id))
    await assert_erased(world, member, birth_year=None)
    await world.assert_ledger_clean()


async def hold(ledger: Ledger, payer: uuid.UUID, payee: uuid.UUID, *, expires_at: datetime) -> None:
    await ledger.pending_transfer(
        id=uuid.uuid4(),
        debit_account_id=payer,
        credit_account_id=payee,
        amount_minor=60,
        unit=Unit.HOUR,
        code="exchange",
        actor="system:test",
        expires_at=expires_at,
    )


@pytest.mark.parametrize("expired", [False, True], ids=["live-hold", "expired-hold"])
async def test_closing_releases_holds_on_the_account(world: World, expired: bool) -> None:
    """Open holds end with the account, also one whose expiry passed before the sweeper ran."""
    community = await world.new_community()
    payer = await named(world, "Percival", community)
    payee = await named(world, "Penelope", community)
    payer_account = (await world.row(payer.id)).hour_account_id
    payee_account = (await world.row(payee.id)).hour_account_id
    now = datetime.now(UTC)
    if expired:
        # A ledger whose clock is two hours behind records a hold that expired an hour ago.
        behind = Ledger(world.app.state.engine, clock=lambda: now - timedelta(hours=2))
        await hold(behind, payer_account, payee_account, expires_at=now - timedelta(hours=1))
    else:
        await hold(world.ledger, payer_account, payee_account, expires_at=now + timedelta(days=1))
    assert (await world.ledger.balance(account_id=payer_account)).debits_pending_minor == 60

    await close(world, payer)

    assert await world.ledger.open_pending_ids(account_id=payer_account) == []
    account = await world.ledger.account(account_id=payer_account)
    assert (account.balance_minor, account.debits_pending_minor) == (0, 0)
    assert account.closed_at is not None
    closure = await world.ledger.get_transfer(transfer_id=closure_transfer_id(payer.id))
    assert closure.amount_minor == 120  # a hold moves nothing: the whole balance is settled
    payee_balance = await world.ledger.balance(account_id=payee_account)
    assert (payee_balance.balance_minor, payee_balance.credits_pending_minor) == (120, 0)
    await world.assert_ledger_clean()
