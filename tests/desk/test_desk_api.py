"""The coordinator's desk through the JSON API, on both engines: the list and its search,
a member's statement, declining an applicant (mail, notice, reapplying), and who may see whom."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from service.mail.tables import MailMessage
from service.members.tables import AuditEntry, Member
from tests.support.exchanges import WELCOME, days_ago
from tests.support.people import PASSWORD, Person, Town, sign_in

DESK = "/api/v1/coordinator/members"
ITEM_FIELDS = {
    "id",
    "display_name",
    "status",
    "has_login",
    "available_minutes",
    "balance_minutes",
    "last_exchange_at",
}


async def desk(town: Town, who: Person, **params: Any) -> dict[str, Any]:
    response = await town.client.get(DESK, headers=who.headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def names(page: dict[str, Any]) -> list[str]:
    return [item["display_name"] for item in page["items"]]


async def record(town: Town, provider: Person, recipient: Person, days: float) -> None:
    response = await town.client.post(
        "/api/v1/coordinator/exchanges",
        headers=town.coordinator.headers,
        json={
            "provider_id": str(provider.id),
            "recipient_id": str(recipient.id),
            "minutes": 30,
            "service_date": days_ago(days),
            "description": "A lift to the surgery",
        },
    )
    assert response.status_code == 201, response.text


async def set_phone(member: Person, phone: str) -> None:
    await Member.update({Member.phone: phone}).where(Member.id == member.id).run()


async def test_the_list_has_the_contract_fields_and_only_the_coordinators_members(
    town: Town,
) -> None:
    await record(town, town.alice, town.bob, days=3)
    page = await desk(town, town.coordinator)
    assert page["next_cursor"] is None
    assert names(page) == ["Alice", "Bob", "Colin", "Cora"]  # riverside only, by name
    alice = page["items"][0]
    assert set(alice) >= ITEM_FIELDS
    assert alice["id"] == str(town.alice.id)
    assert alice["status"] == "active"
    assert alice["has_login"] is True
    assert alice["balance_minutes"] == WELCOME + 30
    assert alice["available_minutes"] == WELCOME + 30
    last = datetime.fromisoformat(alice["last_exchange_at"])
    assert timedelta(days=2) < datetime.now(UTC) - last < timedelta(days=4)
    cora = page["items"][3]
    assert cora["last_exchange_at"] is None
    # An admin sees every community's members.
    everyone = names(await desk(town, town.admin, limit=200))
    assert {"Alice", "Carol", "Pat"} <= set(everyone)


async def test_search_by_phone_name_or_ward_and_paging(town: Town) -> None:
    await set_phone(town.bob, "07700 900 123")
    await set_phone(town.alice, "01632 960 001")
    assert names(await desk(town, town.coordinator, q="07700900123")) == ["Bob"]
    assert names(await desk(town, town.coordinator, q="900 123")) == ["Bob"]
    assert names(await desk(town, town.coordinator, q="aLi")) == ["Alice"]
    assert names(await desk(town, town.coordinator, q="nobody-like-this")) == []
    # A member of another community is never found, whatever matches.
    await set_phone(town.carol, "07700 900 999")
    assert names(await desk(town, town.coordinator, q="07700 900")) == ["Bob"]
    await Member.update({Member.ward: "Mill Lane"}).where(Member.id == town.bob.id).run()
    assert names(await desk(town, town.coordinator, q="mill")) == ["Bob"]
    first = await desk(town, town.coordinator, limit=3)
    assert names(first) == ["Alice", "Bob", "Colin"]
    second = await desk(town, town.coordinator, limit=3, cursor=first["next_cursor"])
    assert names(second) == ["Cora"]
    assert second["next_cursor"] is None


async def test_status_and_inactive_days_filters(town: Town) -> None:
    month_ago = datetime.now(UTC) - timedelta(days=30)
    await Member.update({Member.created_at: month_ago}).where(Member.id.is_not_null()).run()
    await record(town, town.alice, town.bob, days=10)
    await record(town, town.coordinator, town.bob, days=1)
    quiet = names(await desk(town, town.coordinator, inactive_days=5))
    assert quiet == ["Alice", "Colin"]  # Bob and Cora exchanged yesterday
    assert "Alice" not in names(await desk(town, town.coordinator, inactive_days=20))
    admin_pending = await desk(town, town.admin, status="pending")
    assert names(admin_pending) == ["Pat"]
    bad = await town.client.get(DESK, headers=town.coordinator.headers, params={"status": "x"})
    assert bad.status_code == 400
    assert bad.json()["code"] == "validation_failed"
    zero = await town.client.get(
        DESK, headers=town.coordinator.headers, params={"inactive_days": "0"}
    )
    assert zero.status_code == 400


async def test_a_members_statement_has_the_shape_of_their_own(town: Town) -> None:
    await record(town, town.alice, town.bob, days=2)
    own = await town.client.get("/api/v1/accounts/me/statement", headers=town.alice.headers)
    seen = await town.client.get(
        f"{DESK}/{town.alice.id}/statement", headers=town.coordinator.headers
    )
    assert seen.status_code == 200, seen.text
    assert seen.json() == own.json()
    assert [item["minutes"] for item in seen.json()["items"]] == [30, WELCOME]


async def test_other_communities_members_do_not_exist_for_a_coordinator(town: Town) -> None:
    unknown = uuid.uuid4()
    for target in (town.carol.id, town.pending.id, unknown):
        statement = await town.client.get(
            f"{DESK}/{target}/statement", headers=town.coordinator.headers
        )
        assert statement.status_code == 404
        assert statement.json()["code"] == "not_found"
        declined = await town.client.post(
            f"{DESK}/{target}/decline", headers=town.coordinator.headers, json={"reason": "no"}
        )
        assert declined.status_code == 404
    other = await town.client.get(
        DESK, headers=town.coordinator.headers, params={"community": "hillside"}
    )
    assert other.status_code == 404
    member = await town.client.get(DESK, headers=town.alice.headers)
    assert member.status_code == 403
    member_statement = await town.client.get(
        f"{DESK}/{town.bob.id}/statement", headers=town.alice.headers
    )
    assert member_statement.status_code == 403
    assert (await town.client.get(DESK)).status_code == 401
    pat = await Member.objects().where(Member.id == town.pending.id).first().run()
    assert pat is not None
    assert pat.status == "pending"


async def mail_to(address: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        await MailMessage.select(MailMessage.kind, MailMessage.context_json)
        .where(MailMessage.to_address == address)
        .run()
    )
    return rows


async def test_declining_tells_the_applicant_and_they_may_apply_again(town: Town) -> None:
    reason = "We only serve people living in Oakfield."
    response = await town.client.post(
        f"{DESK}/{town.pending.id}/decline", headers=town.admin.headers, json={"reason": reason}
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "declined"
    assert response.json()["id"] == str(town.pending.id)
    [mail] = [row for row in await mail_to(town.pending.email) if "declined" in row["kind"]]
    assert mail["kind"] == "membership_declined"
    assert reason in mail["context_json"]
    audit = (
        await AuditEntry.select(AuditEntry.action, AuditEntry.reason)
        .where(AuditEntry.target_id == str(town.pending.id))
        .run()
    )
    assert {"action": "member.decline", "reason": reason} in audit
    # The in-app notice says so too.
    notices = await town.client.get("/api/v1/me/notices", headers=town.pending.headers)
    assert notices.json()["membership"] == {
        "status": "declined",
        "reason": reason,
    }
    # A second click changes nothing and sends nothing more.
    again = await town.client.post(
        f"{DESK}/{town.pending.id}/decline", headers=town.admin.headers, json={"reason": "x"}
    )
    assert again.status_code == 200
    assert len([r for r in await mail_to(town.pending.email) if "declined" in r["kind"]]) == 1
    # Applying again with the same address reopens the same membership.
    reapplied = await town.client.post(
        "/api/v1/auth/register",
        json={
            "email": town.pending.email,
            "password": PASSWORD + " again",
            "display_name": "Pat Again",
            "community": "oakfield",
            "ward": "Oakfield Green",
        },
    )
    assert reapplied.status_code == 201, reapplied.text
    assert reapplied.json()["id"] == str(town.pending.id)
    assert reapplied.json()["status"] == "pending"
    back = await desk(town, town.admin, status="pending")
    assert names(back) == ["Pat Again"]
    token = await town.client.post(
        "/api/v1/auth/token", json={"email": town.pending.email, "password": PASSWORD + " again"}
    )
    assert token.status_code == 201


async def test_only_a_pending_applicant_can_be_declined_and_a_reason_is_needed(
    town: Town,
) -> None:
    active = await town.client.post(
        f"{DESK}/{town.bob.id}/decline", headers=town.coordinator.headers, json={"reason": "no"}
    )
    assert active.status_code == 409
    assert active.json()["code"] == "member_not_pending"
    for body in ({}, {"reason": ""}, {"reason": "x" * 2001}, {"reason": "ok", "extra": 1}):
        refused = await town.client.post(
            f"{DESK}/{town.pending.id}/decline", headers=town.admin.headers, json=body
        )
        assert refused.status_code in (400, 422), body
    bob = await sign_in(town.client, town.bob.email)
    me = await town.client.get("/api/v1/me", headers=bob)
    assert me.json()["status"] == "active"
    pat = await town.client.get("/api/v1/me", headers=town.pending.headers)
    assert pat.json()["status"] == "pending"
