"""The gift lane (ADR 0058) answers exactly as the gift route does, on both engines.

Each request is sent twice: once with the lane (and the lanes' front, ADR 0071) taking
what it may, once with the lane off, so that it goes through the app's full stack of
layers to the route. Both answers must be the same (status, headers, problem or gift,
less the ids and instants every new gift has), and the lane must have answered exactly
the requests it is meant to: keyed member gifts with a bearer token and a strict JSON
body naming a member. Whatever else it is sent reaches the route untouched.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from service.limits import GIFT_MINUTES_MAX, REQUEST_BODY_SIZE_MAX_BYTES
from service.members.tables import Member
from service.transfers.lane import GIFT_LANE_STATE, GIFT_PATH, GiftLane
from tests.support.lanes import both_answers, lane_taking
from tests.support.people import Person, Town

# What differs between two gifts made by the same request: never compared.
_PER_GIFT = frozenset({"id", "code", "effective_at", "recorded_at", "request_id"})
# Headers that differ between any two answers (the length moves with what is left out above).
_PER_ANSWER = frozenset({"x-request-id", "date", "content-length"})


@dataclass(frozen=True)
class Case:
    name: str
    body: Any = None
    content: bytes | Callable[[], AsyncIterator[bytes]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    keyed: bool = True
    sender: str = "alice"


_WELSH = {"Accept-Language": "cy"}
_JSON = {"Content-Type": "application/json"}


def _chunks(body: bytes) -> Callable[[], AsyncIterator[bytes]]:
    """A body sent without a declared length (chunked), a fresh iterator for each send."""

    async def chunks() -> AsyncIterator[bytes]:
        yield body

    return chunks


def _padded_past_the_limit(body: bytes) -> bytes:
    return body + b" " * (REQUEST_BODY_SIZE_MAX_BYTES + 1 - len(body))


def _lane_cases(town: Town) -> list[Case]:
    """Keyed member gifts: the lane answers each, granted or refused."""
    bob, carol, alice = str(town.bob.id), str(town.carol.id), str(town.alice.id)
    return [
        Case("a gift", {"to_member_id": bob, "minutes": 5, "memo": "for the lift"}),
        Case("no such member", {"to_member_id": str(uuid.uuid4()), "minutes": 5}),
        Case("another community", {"to_member_id": carol, "minutes": 5}),
        Case("to oneself", {"to_member_id": alice, "minutes": 5}),
        Case("more than one holds", {"to_member_id": bob, "minutes": GIFT_MINUTES_MAX}),
        Case("to oneself, in Welsh", {"to_member_id": alice, "minutes": 5}, headers=_WELSH),
    ]


def _route_cases(town: Town) -> list[Case]:
    """Everything else: the lane hands each to the route untouched."""
    bob, alice = str(town.bob.id), str(town.alice.id)
    gift = {"to_member_id": bob, "minutes": 3}
    as_text = b'{"to_member_id": "%s", "minutes": 3}' % bob.encode()
    return [
        Case("no key", gift, keyed=False),
        Case("a malformed key", gift, headers={"Idempotency-Key": "x" * 300}),
        Case("not sent as JSON", content=as_text, headers={"Content-Type": "text/plain"}),
        Case("a token nobody has", gift, headers={"Authorization": "Bearer not-a-token"}),
        Case("no credentials", gift, headers={"Authorization": ""}),
        Case("minutes as text", {**gift, "minutes": "3"}),
        Case("minutes out of range", {**gift, "minutes": 0}),
        Case("an unknown field", {**gift, "tip": 1}),
        Case("a NUL in the memo", {**gift, "memo": "a\x00b"}),
        Case("not JSON", content=b"{minutes: 3", headers={"Content-Type": "application/json"}),
        Case("two recipients", {**gift, "to": "pool"}),
        Case("by email", {"to_email": town.bob.email, "minutes": 3}),
        Case("to the pool", {"to": "pool", "minutes": 3}),
        Case("a member acting for another", gift, headers={"On-Behalf-Of": bob}),
        Case("a coordinator acting", gift, headers={"On-Behalf-Of": alice}, sender="coordinator"),
        Case("a chunked body", content=_chunks(as_text), headers=_JSON),
        # A gift the lane would give, padded to one byte over the app-wide limit.
        Case("a body over the limit", content=_padded_past_the_limit(as_text), headers=_JSON),
    ]


def _cases(town: Town) -> list[tuple[Case, bool]]:
    """Each case, and whether the lane answers it."""
    return [(case, True) for case in _lane_cases(town)] + [
        (case, False) for case in _route_cases(town)
    ]


def _lane(town: Town) -> GiftLane:
    lane: GiftLane = town.app.state[GIFT_LANE_STATE]
    return lane


async def _send(town: Town, case: Case) -> httpx.Response:
    sender: Person = getattr(town, case.sender)
    headers = {**sender.headers}
    if case.keyed:
        headers["Idempotency-Key"] = f"lane-{uuid.uuid4()}"
    headers.update(case.headers)
    headers = {name: value for name, value in headers.items() if value}
    if case.content is not None:
        content = case.content if isinstance(case.content, bytes) else case.content()
        return await town.client.post(GIFT_PATH, headers=headers, content=content)
    return await town.client.post(GIFT_PATH, headers=headers, json=case.body)


def _comparable(response: httpx.Response) -> tuple[int, dict[str, str], Any]:
    headers = {name: value for name, value in response.headers.items() if name not in _PER_ANSWER}
    body = response.json()
    if isinstance(body, dict):
        body = {name: value for name, value in body.items() if name not in _PER_GIFT}
    return response.status_code, headers, body


async def _answers(town: Town, case: Case) -> tuple[httpx.Response, httpx.Response, int]:
    return await both_answers(_lane(town), lambda: _send(town, case))


async def test_the_lane_answers_as_the_route_does(town: Town) -> None:
    for case, lane_answers in _cases(town):
        by_lane, by_route, served = await _answers(town, case)
        assert served == int(lane_answers), case.name
        assert _comparable(by_lane) == _comparable(by_route), case.name
        assert by_lane.status_code < 500, (case.name, by_lane.text)


async def test_the_cases_cover_success_and_refusal_on_both_sides(town: Town) -> None:
    """The comparison above means something only if each side sees both outcomes."""
    statuses: dict[bool, set[int]] = {True: set(), False: set()}
    for case, lane_answers in _cases(town):
        by_lane, _by_route, _served = await _answers(town, case)
        statuses[lane_answers].add(by_lane.status_code)
    assert 201 in statuses[True] and len(statuses[True]) >= 3
    assert {201, 400, 401, 413, 415} <= statuses[False]


async def test_a_refusal_by_the_lane_is_in_the_language_asked_for(town: Town) -> None:
    """The comparison above holds the lane's Welsh answer to the route's; this shows the
    language asked for is used at all, for a member who stored no choice of their own
    (a stored choice wins: tests/i18n/test_language_choice.py)."""
    await Member.update({Member.language: None}).where(Member.id == town.alice.id)
    to_oneself = {"to_member_id": str(town.alice.id), "minutes": 5}
    details = {}
    for language in ("en", "cy"):
        case = Case(language, to_oneself, headers={"Accept-Language": language})
        by_lane, _by_route, served = await _answers(town, case)
        assert served == 1 and by_lane.status_code == 422, by_lane.text
        details[language] = by_lane.json()["detail"]
    assert details == {
        "en": "You cannot give hours to yourself.",
        "cy": "Allwch chi ddim rhoi oriau i chi eich hun.",
    }


async def test_a_repeat_through_the_lane_gets_the_same_bytes(town: Town) -> None:
    lane = _lane(town)
    headers = {**town.alice.headers, "Idempotency-Key": "lane-repeat"}
    body = {"to_member_id": str(town.bob.id), "minutes": 4}
    served_before = lane.served
    first = await town.client.post(GIFT_PATH, headers=headers, json=body)
    again = await town.client.post(GIFT_PATH, headers=headers, json=body)
    assert lane.served - served_before == 2
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    balance = await town.client.get("/api/v1/accounts/me", headers=town.bob.headers)
    assert balance.json()["balance_minutes"] == 120 + 4


@pytest.mark.parametrize("taking", [True, False], ids=["lane", "route"])
async def test_a_key_used_again_for_another_gift_is_refused_alike(town: Town, taking: bool) -> None:
    lane = _lane(town)
    headers = {**town.alice.headers, "Idempotency-Key": f"lane-reused-{taking}"}
    with lane_taking(lane, taking=taking):
        first = await town.client.post(
            GIFT_PATH, headers=headers, json={"to_member_id": str(town.bob.id), "minutes": 2}
        )
        reused = await town.client.post(
            GIFT_PATH, headers=headers, json={"to_member_id": str(town.bob.id), "minutes": 3}
        )
    assert first.status_code == 201
    assert (reused.status_code, reused.json()["code"]) == (409, "idempotency_key_reused")
