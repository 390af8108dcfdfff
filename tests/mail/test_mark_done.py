"""The helper closes the loop (issue 16 item 4): mark done, please confirm, confirm by itself.

On both engines, with the real SMTP peer: the recipient is mailed and sees a
notice; unless they answer, the sweep completes the exchange before its hold
can expire, and both sides are told.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from service.exchanges.done import autoconfirm_sweep
from service.exchanges.expiry import expire_exchange_holds
from service.exchanges.reminders import reminders_sweep
from service.limits import AUTOCONFIRM_BEFORE_HOLD_SECONDS, EXCHANGE_AUTOCONFIRM_DAYS_DEFAULT
from service.mail.tables import MailMessage
from service.members.tables import Community
from tests.mail.support import Mailroom, smtp_to
from tests.support.exchanges import account, act, notices, ok, propose
from tests.support.people import Town, person
from tests.support.smtp_peer import SmtpPeer


async def accepted(town: Town) -> dict[str, Any]:
    """Bob helps Alice (1 hour, yesterday); Bob accepts Alice's proposal: hours on hold."""
    exchange = await propose(town, town.alice, town.bob, [town.alice], minutes=60)
    return await ok(town, town.bob, exchange, "accept")


async def kinds_to(room: Mailroom, address: str) -> list[str]:
    async def read() -> list[str]:
        rows = (
            await MailMessage.select(MailMessage.kind)
            .where(MailMessage.to_address == address)
            .order_by(MailMessage.created_at)
            .run()
        )
        return [row["kind"] for row in rows]

    return await room.run(read)


async def sweep(town: Town, now: datetime) -> int:
    return await autoconfirm_sweep(
        engine=town.app.state.engine, ledger=town.app.state.ledger, now=now
    )


async def test_the_provider_marks_done_and_the_recipient_is_asked_once(
    town: Town, smtp_peer: SmtpPeer
) -> None:
    room = Mailroom(town.client)
    exchange = await accepted(town)
    before = datetime.now(UTC)
    marked = await ok(town, town.bob, exchange, "mark-done")
    after = datetime.now(UTC)
    assert marked["status"] == "accepted"
    autoconfirm_at = datetime.fromisoformat(marked["autoconfirm_at"])
    days = timedelta(days=EXCHANGE_AUTOCONFIRM_DAYS_DEFAULT)
    assert before + days <= autoconfirm_at <= after + days
    assert autoconfirm_at < datetime.fromisoformat(marked["hold_expires_at"])
    assert [event["action"] for event in marked["history"]][-1] == "mark_done"
    # Marking again answers the same and sends nothing more.
    again = await ok(town, town.bob, exchange, "mark-done")
    assert again["autoconfirm_at"] == marked["autoconfirm_at"]
    assert await kinds_to(room, "alice@example.org") == [
        "exchange_accepted",
        "exchange_marked_done",
    ]
    # The recipient's notices say so, and the mail reaches the SMTP server.
    waiting = await notices(town, town.alice)
    [item] = [n for n in waiting["items"] if n["exchange_id"] == exchange["id"]]
    assert item["kind"] == "exchange_to_confirm"
    assert item["marked_done_at"] == marked["marked_done_at"]
    [event] = [e for e in waiting["events"] if e["kind"] == "exchange_marked_done"]
    assert event["link"] == f"/exchanges/{exchange['id']}"
    assert "please confirm" in event["subject"]
    await room.send(smtp_to(smtp_peer.url))
    received = await smtp_peer.catcher.wait_for(2)
    [mail] = [got for got in received if "please confirm" in got.message["Subject"]]
    assert mail.recipients == ["alice@example.org"]
    assert "1 hour" in mail.text()
    assert f"/exchanges/{exchange['id']}" in mail.text()


async def test_only_the_provider_of_an_accepted_exchange_whose_day_has_come(
    town: Town,
) -> None:
    exchange = await propose(town, town.alice, town.bob, [town.alice], minutes=30)
    refused = await act(town, town.bob, exchange, "mark-done")
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "exchange_state"
    await ok(town, town.bob, exchange, "accept")
    for who, status in ((town.alice, 403), (town.carol, 404)):
        response = await act(town, who, exchange, "mark-done")
        assert response.status_code == status, response.text
    future = await propose(
        town,
        town.alice,
        town.bob,
        [town.alice],
        minutes=30,
        service_date=(datetime.now(UTC) + timedelta(days=3)).isoformat(),
    )
    await ok(town, town.bob, future, "accept")
    early = await act(town, town.bob, future, "mark-done")
    assert early.status_code == 409, early.text
    assert early.json()["code"] == "service_date_in_future"


async def test_unanswered_it_completes_by_itself_once_and_both_are_told(town: Town) -> None:
    room = Mailroom(town.client)
    exchange = await accepted(town)
    marked = await ok(town, town.bob, exchange, "mark-done")
    due = datetime.fromisoformat(marked["autoconfirm_at"])
    bob_before = (await account(town, town.bob))["balance_minutes"]
    assert await sweep(town, due - timedelta(minutes=1)) == 0
    # Two sweeps at once, as two workers would run them: it completes once.
    both = await asyncio.gather(sweep(town, due), sweep(town, due))
    assert sum(both) == 1
    detail = (
        await town.client.get(f"/api/v1/exchanges/{exchange['id']}", headers=town.bob.headers)
    ).json()
    assert detail["status"] == "completed"
    assert detail["history"][-1]["action"] == "autoconfirm"
    assert (await account(town, town.bob))["balance_minutes"] == bob_before + 60
    assert (await kinds_to(room, "alice@example.org"))[-1] == "exchange_autoconfirmed"
    assert (await kinds_to(room, "bob@example.org"))[-1] == "exchange_completed_by_itself"
    bob_events = (await notices(town, town.bob))["events"]
    assert bob_events[0]["kind"] == "exchange_completed_by_itself"
    assert "1 hour" in bob_events[0]["subject"]


async def test_an_answer_first_stops_it(town: Town) -> None:
    exchange = await accepted(town)
    marked = await ok(town, town.bob, exchange, "mark-done")
    await ok(town, town.alice, exchange, "cancel")
    assert await sweep(town, datetime.fromisoformat(marked["autoconfirm_at"])) == 0
    after = (
        await town.client.get(f"/api/v1/exchanges/{exchange['id']}", headers=town.alice.headers)
    ).json()
    assert after["status"] == "cancelled"


async def test_the_deadline_comes_before_the_hold_can_expire(town: Town) -> None:
    """A community's own days (here 30) never outlast the hold (14 days): clamped, and the
    sweep confirms it before the expiry sweep could void it."""
    await (
        Community.update({Community.autoconfirm_days: 30})
        .where(Community.slug == "riverside")
        .run()
    )
    exchange = await accepted(town)
    marked = await ok(town, town.bob, exchange, "mark-done")
    hold_expires_at = datetime.fromisoformat(marked["hold_expires_at"])
    autoconfirm_at = datetime.fromisoformat(marked["autoconfirm_at"])
    assert autoconfirm_at == hold_expires_at - timedelta(seconds=AUTOCONFIRM_BEFORE_HOLD_SECONDS)
    assert await sweep(town, autoconfirm_at) == 1
    engine, ledger = town.app.state.engine, town.app.state.ledger
    assert await expire_exchange_holds(engine=engine, ledger=ledger, now=hold_expires_at) == 0
    detail = (
        await town.client.get(f"/api/v1/exchanges/{exchange['id']}", headers=town.bob.headers)
    ).json()
    assert detail["status"] == "completed"


async def test_a_community_sets_its_own_days_through_the_admin_api(town: Town) -> None:
    body = {"name": "Brook", "slug": "brook", "area": "north", "autoconfirm_days": 3}
    for bad in (0, 61):
        refused = await town.client.post(
            "/api/v1/admin/communities",
            headers=town.admin.headers,
            json={**body, "autoconfirm_days": bad},
        )
        assert refused.status_code == 400, refused.text
    created = await town.client.post(
        "/api/v1/admin/communities", headers=town.admin.headers, json=body
    )
    assert created.status_code == 201, created.text
    assert created.json()["autoconfirm_days"] == 3
    helper = await person(town.client, "dee@example.org", "brook")
    helped = await person(town.client, "eli@example.org", "brook")
    exchange = await propose(town, helped, helper, [helped], minutes=30)
    await ok(town, helper, exchange, "accept")
    before = datetime.now(UTC)
    marked = await ok(town, helper, exchange, "mark-done")
    autoconfirm_at = datetime.fromisoformat(marked["autoconfirm_at"])
    assert before + timedelta(days=3) <= autoconfirm_at <= datetime.now(UTC) + timedelta(days=3)


async def test_no_hours_go_back_warning_once_marked_done(town: Town) -> None:
    exchange = await accepted(town)
    marked = await ok(town, town.bob, exchange, "mark-done")
    expires_at = datetime.fromisoformat(marked["hold_expires_at"])
    room = Mailroom(town.client)
    await reminders_sweep(engine=town.app.state.engine, now=expires_at - timedelta(hours=47))
    assert "hold_expiring" not in await kinds_to(room, "alice@example.org")
