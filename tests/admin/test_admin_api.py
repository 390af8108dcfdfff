"""The admin console's JSON API, on both engines: who may call it, suspension and
reinstatement, credit limits, the audit log with its filters, and ledger health.

After every test the ledger verifies clean (tests/admin/conftest.py).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar

from ledger import Ledger
from service import clock
from service.members.accounts import member_account_id
from tests.admin.support import (
    REASON,
    admin_member,
    audit,
    exchange_seen_by_admin,
    page_session,
    propose,
    set_status,
    step,
    suspend,
)
from tests.support.exchanges import exchange_clock_at
from tests.support.people import PASSWORD, Person, Town

WELCOME = 120  # minutes every town member starts with
FLOOR = -600  # the communities' default member floor

Operation = tuple[str, str, dict[str, Any] | None]


def admin_operations(town: Town) -> list[Operation]:
    """Every admin operation of the API, with a valid body, aimed at Bob."""
    bob = town.bob.id
    account = member_account_id(bob)
    limits = {"floor_minutes": -120, "ceiling_minutes": None, "reason": REASON}
    return [
        ("GET", "/api/v1/admin/members", None),
        ("GET", f"/api/v1/admin/members/{bob}", None),
        ("POST", f"/api/v1/admin/members/{bob}/suspend", {"action": "suspend", "reason": REASON}),
        ("POST", f"/api/v1/admin/members/{bob}/suspend", {"action": "reinstate", "reason": "x"}),
        ("GET", f"/api/v1/admin/accounts/{account}", None),
        ("PUT", f"/api/v1/admin/accounts/{account}/limits", limits),
        ("GET", "/api/v1/admin/audit", None),
        ("GET", "/api/v1/admin/ledger/verify", None),
        ("GET", "/api/v1/admin/ledger/trial-balance", None),
        (
            "POST",
            f"/api/v1/admin/members/{bob}/roles",
            {"action": "grant", "role": "admin", "reason": REASON},
        ),
        ("POST", "/api/v1/admin/areas", {"name": "West", "slug": "west"}),
        ("POST", "/api/v1/admin/communities", {"name": "Elm", "slug": "elm", "area": "north"}),
    ]


async def call(town: Town, operation: Operation, headers: dict[str, str] | None) -> httpx.Response:
    method, path, body = operation
    return await town.client.request(method, path, json=body, headers=headers or {})


# Who may call it -------------------------------------------------------------------


async def test_every_admin_operation_is_refused_to_everyone_but_admins(town: Town) -> None:
    audit_before = await audit(town)
    for operation in admin_operations(town):
        anonymous = await call(town, operation, None)
        assert anonymous.status_code == 401, (operation, anonymous.text)
        assert anonymous.json()["code"] == "not_authenticated"
        for who in (town.alice, town.coordinator, town.council):
            refused = await call(town, operation, who.headers)
            assert refused.status_code == 403, (operation, who.email, refused.text)
            assert refused.json()["code"] == "forbidden"
    # Nothing happened: Bob is active with his old limits, and the log did not grow.
    bob = await admin_member(town, town.bob)
    assert bob["status"] == "active"
    assert bob["roles"] == []
    assert bob["account"]["floor_minutes"] == FLOOR
    assert await audit(town) == audit_before


async def test_an_unknown_member_or_account_is_not_found(town: Town) -> None:
    nobody = uuid.uuid4()
    for response in (
        await town.client.get(f"/api/v1/admin/members/{nobody}", headers=town.admin.headers),
        await town.client.post(
            f"/api/v1/admin/members/{nobody}/suspend",
            headers=town.admin.headers,
            json={"action": "suspend", "reason": REASON},
        ),
        await town.client.put(
            f"/api/v1/admin/accounts/{nobody}/limits",
            headers=town.admin.headers,
            json={"floor_minutes": -60, "ceiling_minutes": None, "reason": REASON},
        ),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"


# Suspension ------------------------------------------------------------------------


async def test_a_suspended_member_cannot_sign_in_use_the_api_or_move_hours(town: Town) -> None:
    bob = town.bob
    session = await page_session(town.client, bob.email, PASSWORD)
    assert (await town.client.get("/api/v1/me", headers=bob.headers)).status_code == 200

    suspended = await suspend(town, bob)
    assert suspended["status"] == "suspended"

    # The bearer token he had is dead, and a new one is refused.
    me = await town.client.get("/api/v1/me", headers=bob.headers)
    assert me.status_code == 401
    assert me.json()["code"] == "invalid_token"
    token = await town.client.post(
        "/api/v1/auth/token", json={"email": bob.email, "password": PASSWORD}
    )
    assert token.status_code == 403
    assert token.json()["code"] == "account_suspended"
    # His browser session is over: pages send him to sign in, the API says 401.
    cookie = {"Cookie": f"tb_session={session}"}
    page = await town.client.get("/dashboard", headers=cookie, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/sign-in")
    assert (await town.client.get("/api/v1/me", headers=cookie)).status_code == 401
    # He cannot give hours; nobody can give him hours, propose or record with him.
    gift = {"to_member_id": str(town.alice.id), "minutes": 30}
    assert (
        await town.client.post("/api/v1/transfers", json=gift, headers=bob.headers)
    ).status_code == 401
    to_bob = {"to_member_id": str(bob.id), "minutes": 30}
    refused_gift = await town.client.post(
        "/api/v1/transfers", json=to_bob, headers=town.alice.headers
    )
    assert refused_gift.status_code in (404, 409, 422), refused_gift.text
    proposal = await town.client.post(
        "/api/v1/exchanges",
        headers=town.alice.headers,
        json={
            "provider_id": str(bob.id),
            "recipient_id": str(town.alice.id),
            "minutes": 30,
            "service_date": datetime.now(UTC).isoformat(),
            "description": "A lift",
        },
    )
    assert proposal.status_code == 422, proposal.text
    recorded = await town.client.post(
        "/api/v1/coordinator/exchanges",
        headers=town.coordinator.headers,
        json={
            "provider_id": str(bob.id),
            "recipient_id": str(town.alice.id),
            "minutes": 30,
            "service_date": datetime.now(UTC).isoformat(),
            "description": "A lift",
        },
    )
    assert recorded.status_code == 422, recorded.text
    assert (await admin_member(town, bob))["account"]["balance_minutes"] == WELCOME


async def test_reinstating_lets_the_member_sign_in_again_with_new_credentials(
    town: Town,
) -> None:
    bob = town.bob
    await suspend(town, bob)
    reinstated = await set_status(town, bob, "reinstate")
    assert reinstated.status_code == 200, reinstated.text
    assert reinstated.json()["status"] == "active"
    # The old token stays revoked; signing in again works and he can move hours.
    assert (await town.client.get("/api/v1/me", headers=bob.headers)).status_code == 401
    token = await town.client.post(
        "/api/v1/auth/token", json={"email": bob.email, "password": PASSWORD}
    )
    assert token.status_code == 201, token.text
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    gift = await town.client.post(
        "/api/v1/transfers",
        json={"to_member_id": str(town.alice.id), "minutes": 15},
        headers=headers,
    )
    assert gift.status_code == 201, gift.text
    [entry] = await audit(town, action="member.reinstate")
    assert (entry["before"], entry["after"]) == ({"status": "suspended"}, {"status": "active"})
    assert entry["reason"] == REASON


async def test_a_pending_member_goes_back_to_waiting_when_reinstated(town: Town) -> None:
    await suspend(town, town.pending)
    reinstated = await set_status(town, town.pending, "reinstate")
    assert reinstated.json()["status"] == "pending"
    # Being suspended and reinstated approves nobody: no welcome credit.
    assert reinstated.json()["account"]["balance_minutes"] == 0


async def test_suspension_cancels_open_exchanges_and_releases_every_hold(
    town: Town, reader: Ledger
) -> None:
    alice, bob, carol = town.alice, town.bob, town.carol
    # Bob is helped by Alice (accepted: Bob's 60 minutes on hold).
    held_from_bob = await propose(town, bob, alice, bob, 60)
    await step(town, alice, held_from_bob, "accept")
    # Bob helps Alice (accepted: Alice's 30 minutes on hold, on their way to Bob).
    held_for_bob = await propose(town, alice, bob, alice, 30)
    await step(town, bob, held_for_bob, "accept")
    # Carol proposed to help Bob; nobody accepted yet.
    proposed = await propose(town, carol, carol, bob, 45)
    # A finished exchange is history, and stays as it is.
    finished = await propose(town, alice, bob, alice, 20)
    await step(town, bob, finished, "accept")
    await step(town, alice, finished, "complete")
    before = await admin_member(town, bob)
    assert before["account"]["pending_minutes"] == 60
    assert before["account"]["balance_minutes"] == WELCOME + 20

    after = await suspend(town, bob)

    assert after["account"]["pending_minutes"] == 0
    assert after["account"]["balance_minutes"] == WELCOME + 20
    assert after["account"]["available_minutes"] == WELCOME + 20
    alice_account = await reader.account(account_id=member_account_id(alice.id))
    assert alice_account.debits_pending_minor == 0
    assert alice_account.balance_minor == WELCOME - 20
    assert await reader.open_pending_ids(account_id=member_account_id(bob.id)) == []
    for exchange in (held_from_bob, held_for_bob, proposed):
        seen = await exchange_seen_by_admin(town, exchange)
        assert seen["status"] == "cancelled"
        assert seen["hold_expires_at"] is None
        last = seen["history"][-1]
        assert (last["action"], last["actor_id"], last["note"]) == (
            "cancel",
            str(town.admin.id),
            "member suspended",
        )
    assert (await exchange_seen_by_admin(town, finished))["status"] == "completed"
    [entry] = await audit(town, action="member.suspend")
    assert entry["target_type"] == "member"
    assert entry["target_id"] == str(bob.id)
    assert entry["actor_id"] == str(town.admin.id)
    assert entry["actor_name"] == "Ada Admin"
    assert entry["reason"] == REASON
    assert entry["before"]["status"] == "active"
    assert sorted(entry["before"]["open_exchanges"]) == sorted(
        e["id"] for e in (held_from_bob, held_for_bob, proposed)
    )
    assert entry["after"]["status"] == "suspended"
    assert entry["after"]["exchanges"] == {
        e["id"]: "cancelled" for e in (held_from_bob, held_for_bob, proposed)
    }
    assert entry["after"]["tokens_revoked"] == 1


async def test_a_hold_that_already_ran_out_is_expired_by_the_suspension(
    town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    exchange = await propose(town, town.bob, town.alice, town.bob, 40)
    accepted = await step(town, town.alice, exchange, "accept")
    # The clock passes the hold's end before any sweep has run.
    after_hold = datetime.fromisoformat(accepted["hold_expires_at"]) + timedelta(minutes=1)
    exchange_clock_at(monkeypatch, after_hold)

    suspended = await suspend(town, town.bob)

    assert suspended["account"]["pending_minutes"] == 0
    assert (await exchange_seen_by_admin(town, exchange))["status"] == "expired"
    [entry] = await audit(town, action="member.suspend")
    assert entry["after"]["exchanges"] == {exchange["id"]: "expired"}


async def test_suspending_twice_a_closed_member_or_oneself_is_refused(town: Town) -> None:
    await suspend(town, town.bob)
    again = await set_status(town, town.bob, "suspend")
    assert again.status_code == 409
    assert (again.json()["code"], again.json()["member_status"]) == (
        "already_suspended",
        "suspended",
    )
    assert again.json()["status"] == 409  # RFC 9457: always the HTTP status
    lift_active = await set_status(town, town.alice, "reinstate")
    assert lift_active.status_code == 409
    assert lift_active.json()["code"] == "not_suspended"
    closed = await town.client.delete("/api/v1/me", headers=town.carol.headers)
    assert closed.status_code == 204
    refused = await set_status(town, town.carol, "suspend")
    assert refused.status_code == 409
    assert refused.json()["code"] == "member_closed"
    myself = await set_status(town, town.admin, "suspend")
    assert myself.status_code == 409
    assert myself.json()["code"] == "cannot_suspend_self"
    assert len(await audit(town, action="member.suspend")) == 1


async def test_bad_status_bodies_are_refused_and_change_nothing(town: Town) -> None:
    path = f"/api/v1/admin/members/{town.bob.id}/suspend"
    for body in (
        {"action": "ban", "reason": REASON},
        {"action": "suspend"},
        {"action": "suspend", "reason": ""},
        {"action": "suspend", "reason": "x" * 1001},
        {"action": "suspend", "reason": REASON, "until": "tomorrow"},
    ):
        response = await town.client.post(path, json=body, headers=town.admin.headers)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["code"] == "validation_failed"
    assert (await admin_member(town, town.bob))["status"] == "active"


async def test_two_admins_suspending_at_once_suspend_once(town: Town) -> None:
    app: Litestar = town.client.app
    path = f"/api/v1/admin/members/{town.bob.id}/suspend"
    body = {"action": "suspend", "reason": REASON}

    async def both() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # ASGI, typed strictly
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return list(
                await asyncio.gather(
                    *(http.post(path, json=body, headers=town.admin.headers) for _ in range(2))
                )
            )

    responses = await both()
    assert sorted(r.status_code for r in responses) == [200, 409]
    assert len(await audit(town, action="member.suspend")) == 1


# Credit limits ---------------------------------------------------------------------


async def put_limits(
    town: Town, who: Person, floor: int, ceiling: int | None, **extra: Any
) -> httpx.Response:
    return await town.client.put(
        f"/api/v1/admin/accounts/{member_account_id(who.id)}/limits",
        headers=town.admin.headers,
        json={"floor_minutes": floor, "ceiling_minutes": ceiling, "reason": REASON, **extra},
    )


async def test_changing_limits_takes_effect_and_is_audited(town: Town, reader: Ledger) -> None:
    changed = await put_limits(town, town.alice, -120, 600)
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["floor_minutes"], body["ceiling_minutes"]) == (-120, 600)
    assert body["account_id"] == str(member_account_id(town.alice.id))
    assert body["member_id"] == str(town.alice.id)
    account = await reader.account(account_id=member_account_id(town.alice.id))
    assert (account.floor_minor, account.ceiling_minor) == (-120, 600)
    # Alice has 2 hours and may now owe 2: 4 hours is all she can give.
    too_much = await town.client.post(
        "/api/v1/transfers",
        json={"to_member_id": str(town.bob.id), "minutes": 241},
        headers=town.alice.headers,
    )
    assert too_much.status_code == 409
    assert too_much.json()["code"] == "insufficient_credit"
    [entry] = await audit(town, action="account.limits")
    assert entry["target_type"] == "account"
    assert entry["target_id"] == str(member_account_id(town.alice.id))
    assert entry["before"]["floor_minutes"] == FLOOR
    assert entry["before"]["ceiling_minutes"] is None
    assert (entry["after"]["floor_minutes"], entry["after"]["ceiling_minutes"]) == (-120, 600)
    assert entry["reason"] == REASON


async def test_limits_that_the_account_already_breaks_are_refused(
    town: Town, reader: Ledger
) -> None:
    # Alice gives 5 hours: she has 2 and now owes 3.
    gift = await town.client.post(
        "/api/v1/transfers",
        json={"to_member_id": str(town.bob.id), "minutes": 300},
        headers=town.alice.headers,
    )
    assert gift.status_code == 201, gift.text
    floor_too_high = await put_limits(town, town.alice, -120, None)
    assert floor_too_high.status_code == 409
    problem = floor_too_high.json()
    assert problem["code"] == "limits_below_position"
    assert problem["field"] == "floor_minutes"
    assert problem["available_minutes"] == WELCOME - 300
    assert "minus 3 hours" in problem["detail"]
    # Bob has 7 hours: a ceiling of 6 is refused.
    ceiling_too_low = await put_limits(town, town.bob, FLOOR, 360)
    assert ceiling_too_low.status_code == 409
    assert ceiling_too_low.json()["field"] == "ceiling_minutes"
    assert ceiling_too_low.json()["balance_minutes"] == WELCOME + 300
    # Exactly at the position is allowed.
    assert (await put_limits(town, town.alice, WELCOME - 300, None)).status_code == 200
    account = await reader.account(account_id=member_account_id(town.alice.id))
    assert account.floor_minor == WELCOME - 300
    assert [entry["target_id"] for entry in await audit(town, action="account.limits")] == [
        str(member_account_id(town.alice.id))
    ]


async def test_bad_limits_are_refused(town: Town) -> None:
    for floor, ceiling, extra in (
        (60, None, {}),  # a floor above zero
        (-60_001, None, {}),  # beyond the bound
        (-60, -1, {}),  # a negative ceiling
        (-60, None, {"reason": ""}),
        (-60, None, {"unit": "GBP"}),
    ):
        response = await put_limits(town, town.alice, floor, ceiling, **extra)
        assert response.status_code == 400, (floor, ceiling, extra, response.text)
    missing_ceiling = await town.client.put(
        f"/api/v1/admin/accounts/{member_account_id(town.alice.id)}/limits",
        headers=town.admin.headers,
        json={"floor_minutes": -60, "reason": REASON},
    )
    assert missing_ceiling.status_code == 400
    assert await audit(town, action="account.limits") == []


# The audit log --------------------------------------------------------------------


async def test_the_audit_log_filters_by_actor_action_target_and_date(town: Town) -> None:
    await suspend(town, town.bob)
    assert (await put_limits(town, town.alice, -60, None)).status_code == 200
    everything = await audit(town)
    # Newest first: the limits change, the suspension, then the town's set-up.
    assert [entry["action"] for entry in everything[:2]] == ["account.limits", "member.suspend"]
    by_admin = await audit(town, actor=str(town.admin.id))
    assert {entry["actor_id"] for entry in by_admin} == {str(town.admin.id)}
    assert await audit(town, actor=str(town.alice.id)) == []
    about_bob = await audit(town, target_type="member", target_id=str(town.bob.id))
    assert [entry["action"] for entry in about_bob] == ["member.suspend"]
    roles = await audit(town, action="role.grant")
    assert len(roles) == 3  # the admin, the coordinator and the council viewer
    today = clock.local_today()
    assert len(await audit(town, **{"from": today.isoformat(), "to": today.isoformat()})) == len(
        everything
    )
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert await audit(town, **{"from": tomorrow}) == []
    assert await audit(town, to=(today - timedelta(days=1)).isoformat()) == []
    instant = datetime.fromisoformat(everything[1]["at"])
    since = await audit(town, **{"from": instant.isoformat()})
    assert [entry["id"] for entry in since] == [e["id"] for e in everything[:2]]


async def test_the_audit_log_pages_by_cursor_without_gaps_or_repeats(town: Town) -> None:
    everything = await audit(town)
    assert len(everything) >= 5
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        response = await town.client.get(
            "/api/v1/admin/audit", headers=town.admin.headers, params=params
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        seen += [entry["id"] for entry in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [entry["id"] for entry in everything]


async def test_bad_audit_filters_are_refused(town: Town) -> None:
    for params in (
        {"from": "yesterday"},
        {"to": "2026-13-01"},
        {"from": "2026-05-14T09:30:00"},  # no offset
        {"actor": "not-a-uuid"},
        {"limit": "0"},
        {"limit": "201"},
        {"cursor": "not a cursor"},
        {"action": "x" * 61},
    ):
        response = await town.client.get(
            "/api/v1/admin/audit", headers=town.admin.headers, params=params
        )
        assert response.status_code == 400, (params, response.text)


# Members search --------------------------------------------------------------------


async def test_admins_find_members_by_name_email_or_id(town: Town) -> None:
    async def search(**params: str) -> list[str]:
        response = await town.client.get(
            "/api/v1/admin/members", headers=town.admin.headers, params=params
        )
        assert response.status_code == 200, response.text
        return [item["email"] for item in response.json()["items"]]

    assert await search(q="ALI") == ["alice@example.org"]
    assert await search(q="bob@example") == ["bob@example.org"]
    assert await search(q=str(town.carol.id)) == ["carol@example.org"]
    assert await search(q="%") == []  # a wildcard is a character like any other
    assert await search(status="pending") == ["pat@example.org"]
    assert await search(community="hillside") == ["carol@example.org"]
    everyone = await search()
    assert len(everyone) == 7
    first = await town.client.get(
        "/api/v1/admin/members", headers=town.admin.headers, params={"limit": "4"}
    )
    rest = await town.client.get(
        "/api/v1/admin/members",
        headers=town.admin.headers,
        params={"limit": "4", "cursor": first.json()["next_cursor"]},
    )
    paged = [item["email"] for item in first.json()["items"] + rest.json()["items"]]
    assert paged == everyone
    assert rest.json()["next_cursor"] is None


# Ledger health ---------------------------------------------------------------------


async def test_verify_and_trial_balance_report_a_clean_ledger(town: Town) -> None:
    verified = await town.client.get("/api/v1/admin/ledger/verify", headers=town.admin.headers)
    assert verified.status_code == 200
    report = verified.json()
    assert report["ok"] is True
    assert report["problems"] == []
    assert report["checked_accounts"] >= 7 + 3 * 5
    assert report["checked_entries"] >= 2 * 6
    trial = await town.client.get("/api/v1/admin/ledger/trial-balance", headers=town.admin.headers)
    assert trial.status_code == 200
    body = trial.json()
    assert body["balanced"] is True
    units = {unit["unit"]: unit for unit in body["units"]}
    assert set(units) == {"HOUR", "GBP"}
    hours = units["HOUR"]
    assert hours["minor_unit"] == "minute"
    assert hours["sum_of_balances_minor"] == 0
    assert hours["total_debits_minor"] == hours["total_credits_minor"]
    balances = {row["owner"]: row["balance_minor"] for row in hours["accounts"]}
    assert balances[f"member:{town.alice.id}"] == WELCOME
    assert sum(balances.values()) == 0
    assert units["GBP"]["minor_unit"] == "penny"
