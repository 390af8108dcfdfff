"""Members without a login, and coordinators acting for a member (issue 16, ADRs 0030, 0031).

Both engines: a coordinator adds Doreen (no email, no password), the API runs
member routes as her through `On-Behalf-Of`, and every refusal of that header
is the same 403. What is done for her names both people: the audit log and the
exchange history.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from service.mail.tables import MailMessage
from tests.support.exchanges import WELCOME, account, ok, propose
from tests.support.listings import create as create_listing
from tests.support.people import Person, Town, grant

DOREEN = {"display_name": "Doreen Walsh", "community": "riverside", "phone": "01632 960 123"}


async def add_member(town: Town, who: Person, **body: Any) -> Any:
    return await town.client.post(
        "/api/v1/coordinator/members", headers=who.headers, json={**DOREEN, **body}
    )


async def doreen_of(town: Town) -> Person:
    """Doreen, added by riverside's coordinator, as the coordinator acting for her."""
    response = await add_member(town, town.coordinator)
    assert response.status_code == 201, response.text
    member_id = uuid.UUID(response.json()["id"])
    return Person(member_id, "", {**town.coordinator.headers, "On-Behalf-Of": str(member_id)})


def on_behalf(who: Person, member_id: uuid.UUID | str) -> dict[str, str]:
    return {**who.headers, "On-Behalf-Of": str(member_id)}


async def audit(town: Town, **params: str) -> list[dict[str, Any]]:
    response = await town.client.get(
        "/api/v1/admin/audit", headers=town.admin.headers, params=params
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_coordinator_adds_a_member_without_a_login(town: Town) -> None:
    response = await add_member(town, town.coordinator, skills="Knitting", birth_year=1941)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["has_login"] is False
    assert body["status"] == "active"
    assert body["email"] is None
    assert body["phone"] == "01632 960 123"
    assert body["display_name"] == "Doreen Walsh"
    doreen = Person(uuid.UUID(body["id"]), "", on_behalf(town.coordinator, body["id"]))
    # The welcome credit, as for any approved member.
    assert (await account(town, doreen))["balance_minutes"] == WELCOME
    [entry] = await audit(town, action="member.create_without_login")
    assert entry["actor_id"] == str(town.coordinator.id)
    assert entry["target_id"] == body["id"]
    # Nobody can sign in as her: she has no email and no password.
    token = await town.client.post(
        "/api/v1/auth/token", json={"email": "", "password": "anything at all"}
    )
    assert token.status_code in (401, 422)


async def test_adding_a_member_refuses_bad_input_and_other_callers(town: Town) -> None:
    not_theirs = await add_member(town, town.coordinator, community="hillside")
    assert not_theirs.status_code == 403
    member = await add_member(town, town.alice)
    assert member.status_code == 403
    unknown = await add_member(town, town.coordinator, community="nowhere")
    assert unknown.status_code == 422
    bad_phone = await add_member(town, town.coordinator, phone="call me <maybe>")
    assert bad_phone.status_code in (400, 422)
    extra = await add_member(town, town.coordinator, password="a password here")
    assert extra.status_code in (400, 422)
    future = await add_member(town, town.coordinator, birth_year=2099)
    assert future.status_code == 422
    taken = await add_member(town, town.coordinator, email="Alice@Example.org")
    assert taken.status_code == 409
    assert taken.json()["code"] == "email_taken"
    # Nothing was written by any refusal.
    assert await audit(town, action="member.create_without_login") == []


async def test_acting_for_her_runs_member_routes_as_her(town: Town) -> None:
    doreen = await doreen_of(town)
    listing = await create_listing(town, doreen, title="Company for a cup of tea")
    assert listing["owner"]["id"] == str(doreen.id)
    # Alice helps Doreen; the coordinator accepts and confirms for her.
    exchange = await propose(town, town.alice, town.alice, [doreen], minutes=45)
    await ok(town, doreen, exchange, "accept")
    await ok(town, doreen, exchange, "complete")
    assert (await account(town, doreen))["balance_minutes"] == WELCOME - 45
    # The coordinator's own account did not move.
    assert (await account(town, town.coordinator))["balance_minutes"] == WELCOME
    statement = await town.client.get("/api/v1/accounts/me/statement", headers=doreen.headers)
    assert statement.status_code == 200
    assert [item["minutes"] for item in statement.json()["items"]][:1] == [-45]
    # The exchange history names both of them.
    detail = await town.client.get(f"/api/v1/exchanges/{exchange['id']}", headers=doreen.headers)
    history = detail.json()["history"]
    done_for_her = [event for event in history if event["recorded_by_id"] is not None]
    assert {event["action"] for event in done_for_her} == {"accept", "complete"}
    for event in done_for_her:
        assert event["actor_id"] == str(doreen.id)
        assert event["actor_name"] == "Doreen Walsh"
        assert event["recorded_by_id"] == str(town.coordinator.id)
    # Alice sees it too, and her own step carries no recorder.
    seen_by_alice = await town.client.get(
        f"/api/v1/exchanges/{exchange['id']}", headers=town.alice.headers
    )
    proposed = [e for e in seen_by_alice.json()["history"] if e["action"] == "propose"]
    assert proposed[0]["recorded_by_id"] is None


async def test_the_audit_log_names_the_coordinator_and_the_member(town: Town) -> None:
    doreen = await doreen_of(town)
    await create_listing(town, doreen, title="Lifts to the surgery")
    entries = await audit(town, action="acting.request", target_id=str(doreen.id))
    [entry] = entries
    assert entry["actor_id"] == str(town.coordinator.id)
    assert entry["after"]["coordinator_id"] == str(town.coordinator.id)
    assert entry["after"]["member_id"] == str(doreen.id)
    assert entry["after"]["member_name"] == "Doreen Walsh"
    assert entry["after"]["path"] == "/api/v1/listings"
    assert entry["reason"].endswith("for Doreen Walsh")
    assert entry["reason"].startswith("recorded by ")
    # Reads change nothing and are not audited; refusals leave no line either.
    await account(town, doreen)
    refused = await town.client.post(
        "/api/v1/listings", headers=doreen.headers, json={"kind": "offer"}
    )
    assert refused.status_code in (400, 422)
    assert len(await audit(town, action="acting.request")) == 1


async def test_a_line_naming_both_is_written_before_the_handler_runs(town: Town) -> None:
    """A crash after the change commits but before the answer must still leave the
    coordinator named: the started line exists whatever the handler then does."""
    doreen = await doreen_of(town)
    refused = await town.client.post(
        "/api/v1/listings", headers=doreen.headers, json={"kind": "offer"}
    )
    assert refused.status_code in (400, 422)
    [started] = await audit(town, action="acting.request.started", target_id=str(doreen.id))
    assert started["actor_id"] == str(town.coordinator.id)
    assert started["after"]["member_id"] == str(doreen.id)
    assert started["after"]["status"] is None
    assert await audit(town, action="acting.request") == []  # never answered below 400
    await create_listing(town, doreen, title="Lifts to the surgery")
    lines = await audit(town, action="acting.request.started", target_id=str(doreen.id))
    assert len(lines) == 2
    [done] = await audit(town, action="acting.request", target_id=str(doreen.id))
    assert done["after"]["status"] == 201
    # Reads change nothing and are not audited at all.
    await account(town, doreen)
    assert len(await audit(town, action="acting.request.started")) == 2


async def refusal(town: Town, headers: dict[str, str]) -> dict[str, Any]:
    response = await town.client.get("/api/v1/accounts/me", headers=headers)
    assert response.status_code == 403, response.text
    body: dict[str, Any] = response.json()
    return {key: body[key] for key in ("status", "code", "title", "detail")}


async def test_everyone_else_sending_the_header_gets_the_same_403(town: Town) -> None:
    doreen = await doreen_of(town)
    await grant(town.client, town.admin, town.carol, role="coordinator", community="hillside")
    cases = {
        "a plain member": on_behalf(town.alice, doreen.id),
        "a coordinator of another community": on_behalf(town.carol, doreen.id),
        "a member with a login who has not said yes": on_behalf(town.coordinator, town.bob.id),
        "an unknown member": on_behalf(town.coordinator, uuid.uuid4()),
        "no member id at all": on_behalf(town.coordinator, "doreen"),
        "themselves": on_behalf(town.coordinator, town.coordinator.id),
        "an admin who coordinates nothing": on_behalf(town.admin, doreen.id),
        "a council viewer": on_behalf(town.council, doreen.id),
    }
    answers = {case: await refusal(town, headers) for case, headers in cases.items()}
    first = answers["an unknown member"]
    assert first["code"] == "cannot_act_for_member"
    assert all(answer == first for answer in answers.values()), answers
    # Nothing was written for anyone.
    assert await audit(town, action="acting.request") == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/me"),
        ("PUT", "/api/v1/me/consent"),
        ("GET", "/api/v1/coordinator/members"),
        ("POST", "/api/v1/coordinator/grants"),
        ("GET", "/api/v1/admin/audit"),
    ],
)
async def test_other_routes_never_run_as_the_member(town: Town, method: str, path: str) -> None:
    doreen = await doreen_of(town)
    body = {"coordinator_may_act": True} if path.endswith("consent") else {}
    headers = on_behalf(town.admin, doreen.id)
    if not path.startswith("/api/v1/admin"):
        headers = doreen.headers
    response = await town.client.request(method, path, headers=headers, json=body)
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "cannot_act_here"


async def test_a_member_with_a_login_lets_a_coordinator_act_and_takes_it_back(
    town: Town,
) -> None:
    bob_for = on_behalf(town.coordinator, town.bob.id)
    assert (await town.client.get("/api/v1/accounts/me", headers=bob_for)).status_code == 403
    said_yes = await town.client.put(
        "/api/v1/me/consent", headers=town.bob.headers, json={"coordinator_may_act": True}
    )
    assert said_yes.status_code == 200, said_yes.text
    assert said_yes.json()["coordinator_may_act"] is True
    since = said_yes.json()["coordinator_may_act_since"]
    assert since is not None
    again = await town.client.put(
        "/api/v1/me/consent", headers=town.bob.headers, json={"coordinator_may_act": True}
    )
    assert again.json()["coordinator_may_act_since"] == since  # a repeat keeps the date
    as_bob = await town.client.get("/api/v1/accounts/me", headers=bob_for)
    assert as_bob.status_code == 200
    me = await town.client.get("/api/v1/me", headers=town.bob.headers)
    assert me.json()["coordinator_may_act"] is True
    assert me.json()["has_login"] is True
    said_no = await town.client.put(
        "/api/v1/me/consent", headers=town.bob.headers, json={"coordinator_may_act": False}
    )
    assert said_no.json() == {"coordinator_may_act": False, "coordinator_may_act_since": None}
    assert (await town.client.get("/api/v1/accounts/me", headers=bob_for)).status_code == 403
    changes = await audit(town, action="member.consent_coordinator_may_act")
    assert [entry["after"]["coordinator_may_act"] for entry in changes] == [False, True]
    bad = await town.client.put(
        "/api/v1/me/consent", headers=town.bob.headers, json={"coordinator_may_act": "yes"}
    )
    assert bad.status_code in (400, 422)


async def test_an_invitation_gives_her_a_login(town: Town) -> None:
    doreen = await doreen_of(town)
    no_email = await town.client.post(
        f"/api/v1/coordinator/members/{doreen.id}/reset-code", headers=town.coordinator.headers
    )
    assert no_email.status_code == 409
    assert no_email.json()["code"] == "email_needed"
    taken = await town.client.post(
        f"/api/v1/coordinator/members/{doreen.id}/invitation",
        headers=town.coordinator.headers,
        json={"email": town.alice.email},
    )
    assert taken.status_code == 409
    stranger = await town.client.post(
        f"/api/v1/coordinator/members/{doreen.id}/invitation",
        headers=town.alice.headers,
        json={"email": "doreen@example.org"},
    )
    assert stranger.status_code == 403
    invited = await town.client.post(
        f"/api/v1/coordinator/members/{doreen.id}/invitation",
        headers=town.coordinator.headers,
        json={"email": "Doreen@Example.org"},
    )
    assert invited.status_code == 202, invited.text
    [entry] = await audit(town, action="member.invited")
    assert entry["after"] == {"email": "doreen@example.org"}
    # The invitation is queued in the outbox, in the same write as the address.
    mails = await MailMessage.select(MailMessage.to_address, MailMessage.member).where(
        MailMessage.kind == "invitation"
    )
    assert mails == [{"to_address": "doreen@example.org", "member": doreen.id}]
    # With an address she can now also be given a code, and use it to choose a password.
    code = await town.client.post(
        f"/api/v1/coordinator/members/{doreen.id}/reset-code", headers=town.coordinator.headers
    )
    assert code.status_code == 201, code.text
    confirmed = await town.client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": code.json()["code"], "password": "doreen's own passphrase"},
    )
    assert confirmed.status_code == 204, confirmed.text
    token = await town.client.post(
        "/api/v1/auth/token",
        json={"email": "doreen@example.org", "password": "doreen's own passphrase"},
    )
    assert token.status_code == 201
    # Now she has a login: the coordinator acts for her only once she says yes.
    assert (await town.client.get("/api/v1/accounts/me", headers=doreen.headers)).status_code == 403
    again = await town.client.post(
        f"/api/v1/coordinator/members/{doreen.id}/invitation",
        headers=town.coordinator.headers,
        json={},
    )
    assert again.status_code == 409
    assert again.json()["code"] == "has_login"


async def test_one_idempotency_key_for_two_members_moves_hours_for_each(town: Town) -> None:
    """The coordinator's keys are kept apart per member acted for (ADR 0031)."""
    doreen = await doreen_of(town)
    second = await add_member(town, town.coordinator, display_name="Fred Walsh")
    fred = Person(
        uuid.UUID(second.json()["id"]), "", on_behalf(town.coordinator, second.json()["id"])
    )
    gift = {"to_member_id": str(town.alice.id), "minutes": 15}
    answers = []
    for who in (doreen, fred, doreen):
        response = await town.client.post(
            "/api/v1/transfers",
            headers={**who.headers, "Idempotency-Key": "gift-1"},
            json=gift,
        )
        assert response.status_code == 201, response.text
        answers.append(response.json()["id"])
    assert answers[0] != answers[1]
    assert answers[2] == answers[0]  # a repeat for Doreen moves nothing again
    assert (await account(town, doreen))["balance_minutes"] == WELCOME - 15
    assert (await account(town, fred))["balance_minutes"] == WELCOME - 15
    assert (await account(town, town.alice))["balance_minutes"] == WELCOME + 30
