"""The welcome credit is posted exactly once: at registration, or at the approval that counts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from ledger import LedgerError
from service.members.accounts import welcome_transfer_id
from tests.members.world import ENGINES, World, open_world
from tests.support.people import PASSWORD, Person

pytestmark = pytest.mark.asyncio(loop_scope="module")

WELCOME_MINUTES = 120


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=ENGINES)
async def world(request: pytest.FixtureRequest) -> AsyncIterator[World]:
    async with open_world(request, request.param) as shared:
        yield shared


async def coordinator_of(world: World, community: str) -> Person:
    coordinator = await world.member(community, stem="coordinator")
    await world.grant(coordinator, "coordinator", community=community)
    return coordinator


async def welcome_lines(world: World, member_id: uuid.UUID) -> list[int]:
    """The minutes of every welcome entry on the member's statement."""
    row = await world.row(member_id)
    page = await world.ledger.statement(account_id=row.hour_account_id, limit=100)
    return [line.change_minor for line in page.lines if line.transfer.code == "welcome"]


async def issuance_balance(world: World, community: str) -> int:
    account = (await world.community(community)).issuance_account_id
    return (await world.ledger.balance(account_id=account)).balance_minor


async def test_registering_where_approval_is_required_credits_nothing(world: World) -> None:
    community = await world.new_community(requires_approval=True)
    response = await world.register(world.email(), community)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "pending"
    member_id = uuid.UUID(response.json()["id"])

    assert await world.balance(member_id) == 0
    assert await welcome_lines(world, member_id) == []
    assert (await world.row(member_id)).welcome_transfer_id is None
    with pytest.raises(LedgerError) as raised:
        await world.ledger.get_transfer(transfer_id=welcome_transfer_id(member_id))
    assert raised.value.code == "transfer_not_found"
    assert await issuance_balance(world, community) == 0
    assert "member.approve" not in await world.audit_actions(member_id)


async def test_approving_twice_in_turn_credits_once(world: World) -> None:
    community = await world.new_community(requires_approval=True)
    coordinator = await coordinator_of(world, community)
    member = await world.member(community, approve=False)
    issued_before = await issuance_balance(world, community)

    first = await world.approve(member.id, coordinator)
    second = await world.approve(member.id, world.admin)

    assert first.json()["status"] == second.json()["status"] == "active"
    assert await welcome_lines(world, member.id) == [WELCOME_MINUTES]
    assert await world.balance(member.id) == WELCOME_MINUTES
    assert (await world.row(member.id)).welcome_transfer_id == welcome_transfer_id(member.id)
    assert await issuance_balance(world, community) == issued_before - WELCOME_MINUTES
    assert (await world.audit_actions(member.id)).count("member.approve") == 1
    account = await world.http.get("/api/v1/accounts/me", headers=member.headers)
    assert account.json()["balance_minutes"] == WELCOME_MINUTES


async def test_approving_concurrently_credits_once(world: World) -> None:
    community = await world.new_community(requires_approval=True)
    coordinators = [await coordinator_of(world, community) for _ in range(2)]
    approvers = [*coordinators, world.admin] * 3
    # Several members at once, so that the approvals of one interleave with others'.
    members = [await world.member(community, approve=False) for _ in range(3)]
    issued_before = await issuance_balance(world, community)

    responses = await asyncio.gather(
        *(
            world.http.post(
                f"/api/v1/coordinator/members/{member.id}/approve", headers=approver.headers
            )
            for member in members
            for approver in approvers
        )
    )

    assert [response.status_code for response in responses] == [200] * len(responses)
    for member in members:
        assert await welcome_lines(world, member.id) == [WELCOME_MINUTES]
        assert await world.balance(member.id) == WELCOME_MINUTES
        assert (await world.audit_actions(member.id)).count("member.approve") == 1
        assert (await world.row(member.id)).status == "active"
    assert await issuance_balance(world, community) == issued_before - WELCOME_MINUTES * len(
        members
    )
    await world.assert_ledger_clean()


async def test_open_community_credits_at_registration(world: World) -> None:
    community = await world.new_community(requires_approval=False)
    response = await world.register(world.email(), community)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "active"
    member_id = uuid.UUID(response.json()["id"])

    assert await welcome_lines(world, member_id) == [WELCOME_MINUTES]
    assert await world.balance(member_id) == WELCOME_MINUTES
    transfer = await world.ledger.get_transfer(transfer_id=welcome_transfer_id(member_id))
    assert transfer.debit_account_id == (await world.community(community)).issuance_account_id
    assert transfer.credit_account_id == (await world.row(member_id)).hour_account_id
    assert transfer.amount_minor == WELCOME_MINUTES

    # An approval of an active member (by an admin) changes nothing.
    await world.approve(member_id, world.admin)
    assert await welcome_lines(world, member_id) == [WELCOME_MINUTES]
    assert "member.approve" not in await world.audit_actions(member_id)


async def test_a_community_without_welcome_credit_credits_nothing(world: World) -> None:
    community = await world.new_community(requires_approval=True, welcome=0)
    member = await world.member(community, approve=False)
    await world.approve(member.id, world.admin)
    assert await welcome_lines(world, member.id) == []
    assert await world.balance(member.id) == 0
    assert (await world.audit_actions(member.id)).count("member.approve") == 1


async def test_the_welcome_is_written_in_the_members_language_whoever_approves(
    world: World,
) -> None:
    community = await world.new_community(requires_approval=True)
    welsh = await world.http.post(
        "/api/v1/auth/register",
        json={
            "email": world.email("gwen"),
            "password": PASSWORD,
            "display_name": "Gwen",
            "community": community,
        },
        headers={"accept-language": "cy"},
    )
    assert welsh.status_code == 201, welsh.text
    english = await world.register(world.email(), community)
    assert english.status_code == 201, english.text
    memos = {}
    for response in (welsh, english):
        member_id = uuid.UUID(response.json()["id"])
        await world.approve(member_id, world.admin)  # the admin's request is in English
        transfer = await world.ledger.get_transfer(transfer_id=welcome_transfer_id(member_id))
        memos[response is welsh] = transfer.memo
    name = (await world.community(community)).name
    assert memos == {True: f"Croeso i {name}", False: f"Welcome to {name}"}
