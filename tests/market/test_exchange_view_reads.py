"""An exchange's view, read by statements of fixed text (issue 17), is what Piccolo's
queries read: the same exchange object, history, recipients and people, on both engines,
and inside a write transaction it sees that transaction's own writes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from ledger import write_transaction
from service import database
from service.exchanges.selectors import ExchangeView, view_of, views_of
from service.exchanges.tables import Exchange, ExchangeEvent, ExchangeRecipient
from service.members.tables import Member
from tests.support.exchanges import ok, propose
from tests.support.people import Town


class RolledBackError(Exception):
    """Raised to roll the test's write transaction back."""


def _typed(values: dict[str, Any]) -> dict[str, tuple[type, Any]]:
    # Types too: a string where Piccolo gives a UUID or an instant would pass `==` nowhere
    # else but would break the pages that format it.
    return {name: (type(value), value) for name, value in values.items()}


async def _exchange_with_history(town: Town) -> uuid.UUID:
    exchange = await propose(town, town.alice, town.bob, [town.alice, town.coordinator])
    await ok(town, town.bob, exchange, "accept")
    return uuid.UUID(exchange["id"])


async def _piccolo_reference(exchange_id: uuid.UUID) -> dict[str, Any]:
    exchange = await Exchange.objects().where(Exchange.id == exchange_id).first().run()
    assert exchange is not None
    events = (
        await ExchangeEvent.objects()
        .where(ExchangeEvent.exchange == exchange_id)
        .order_by(ExchangeEvent.at)
        .run()
    )
    recipients = (
        await ExchangeRecipient.select(ExchangeRecipient.member)
        .where(ExchangeRecipient.exchange == exchange_id)
        .run()
    )
    member_ids = {exchange.provider, *(row["member"] for row in recipients)}
    member_ids |= {event.actor for event in events if event.actor is not None}
    people = (
        await Member.select(Member.id, Member.display_name, Member.community, Member.status)
        .where(Member.id.is_in(list(member_ids)))
        .run()
    )
    return {
        "exchange": _typed(exchange.to_dict()),
        "history": [_typed(event.to_dict()) for event in events],
        "recipients": sorted(str(row["member"]) for row in recipients),
        "people": {
            row["id"]: (row["display_name"], row["community"], row["status"]) for row in people
        },
    }


def _as_read(view: ExchangeView) -> dict[str, Any]:
    return {
        "exchange": _typed(view.exchange.to_dict()),
        "history": [_typed(event.to_dict()) for event in view.history],
        "recipients": sorted(str(recipient.member_id) for recipient in view.recipients),
        "people": {
            member_id: (person.display_name, person.community_id, person.status)
            for member_id, person in view.people.items()
        },
    }


async def test_a_view_reads_what_piccolo_reads(town: Town) -> None:
    exchange_id = await _exchange_with_history(town)
    view = await view_of(exchange_id, with_history=True)
    assert view is not None
    assert _as_read(view) == await _piccolo_reference(exchange_id)
    assert [event.action for event in view.history][:1] == ["propose"]
    assert view.accepted == {town.alice.id, town.bob.id}  # the proposer and the provider
    assert view.awaiting == [town.coordinator.id]
    assert view.exchange._exists_in_db  # as Piccolo's objects() makes it


async def test_without_history_only_agreements_are_read(town: Town) -> None:
    exchange_id = await _exchange_with_history(town)
    with_history = await view_of(exchange_id, with_history=True)
    without = await view_of(exchange_id)
    assert with_history is not None
    assert without is not None
    assert without.history == ()
    assert without.accepted == with_history.accepted
    assert [view.id for view in await views_of([without.exchange], with_history=False)] == [
        exchange_id
    ]


async def test_an_unknown_exchange_has_no_view(town: Town) -> None:
    assert await view_of(uuid.uuid4()) is None


async def _cancel_and_look(exchange_id: uuid.UUID, seen: list[str]) -> None:
    """Cancel in a write transaction, read the view there, and roll it all back."""
    async with write_transaction(database.active_engine()):
        await Exchange.update({Exchange.status: "cancelled"}).where(Exchange.id == exchange_id)
        inside = await view_of(exchange_id)
        assert inside is not None
        seen.append(inside.status)
        raise RolledBackError


async def test_inside_a_write_the_view_sees_the_write(town: Town) -> None:
    exchange_id = await _exchange_with_history(town)
    seen: list[str] = []
    with pytest.raises(RolledBackError):
        await _cancel_and_look(exchange_id, seen)
    assert seen == ["cancelled"]
    after = await view_of(exchange_id)
    assert after is not None
    assert after.status == "proposed"  # rolled back; the coordinator has yet to accept
