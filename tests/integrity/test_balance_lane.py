"""The balance lane (ADR 0062) answers exactly as the balance route does, on both engines.

Each request is sent twice: once with the lane (and the lanes' front, ADR 0071) taking
what it may, once with the lane off, so that it goes through the app's full stack of
layers to the route. Both answers
must be the same (status, headers less the request's own id, body), and the lane must
have answered exactly the requests it is meant to: a caller's own read with a bearer
token, no query string, nobody acted for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from service.accounts.lane import BALANCE_LANE_STATE, BALANCE_PATH, BalanceLane
from service.transfers.lane import GIFT_PATH
from tests.support.lanes import both_answers
from tests.support.people import Person, Town

# Headers that differ between any two answers: never compared (a problem's length
# moves with its request id, which is left out of its body below).
_PER_ANSWER = frozenset({"x-request-id", "date", "content-length"})
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Case:
    name: str
    who: str = "alice"
    headers: dict[str, str] = field(default_factory=dict)
    path: str = BALANCE_PATH


def _lane_cases() -> list[Case]:
    """A caller's own read with a bearer token: the lane answers each, whatever it is."""
    return [
        Case("a member"),
        Case("another member", who="bob"),
        Case("a coordinator", who="coordinator"),
        Case("a member awaiting approval", who="pending"),
        Case("an admin", who="admin"),
        Case("in Welsh", headers={"Accept-Language": "cy"}),
    ]


def _route_cases(town: Town) -> list[Case]:
    """Everything else: the lane hands each to the route untouched."""
    return [
        Case("no credentials", headers={"Authorization": ""}),
        Case("a token nobody has", headers={"Authorization": "Bearer not-a-token"}),
        Case("another scheme", headers={"Authorization": "Basic YWxpY2U6eA=="}),
        Case("a query string", path=f"{BALANCE_PATH}?fresh=1"),
        Case(
            "acting for a member", who="coordinator", headers={"On-Behalf-Of": str(town.alice.id)}
        ),
        Case("a member acting for another", headers={"On-Behalf-Of": str(town.bob.id)}),
    ]


def _cases(town: Town) -> list[tuple[Case, bool]]:
    return [(case, True) for case in _lane_cases()] + [(case, False) for case in _route_cases(town)]


async def _send(town: Town, case: Case) -> httpx.Response:
    sender: Person = getattr(town, case.who)
    headers = {**sender.headers, **case.headers}
    headers = {name: value for name, value in headers.items() if value}
    return await town.client.get(case.path, headers=headers)


def _comparable(response: httpx.Response) -> tuple[int, dict[str, str], Any]:
    headers = {name: value for name, value in response.headers.items() if name not in _PER_ANSWER}
    body: Any = response.content
    if response.headers["content-type"].startswith(PROBLEM):  # it names its request
        body = {name: value for name, value in response.json().items() if name != "request_id"}
    return response.status_code, headers, body


async def _answers(town: Town, case: Case) -> tuple[httpx.Response, httpx.Response, int]:
    lane: BalanceLane = town.app.state[BALANCE_LANE_STATE]
    return await both_answers(lane, lambda: _send(town, case))


async def test_the_lane_answers_as_the_route_does(town: Town) -> None:
    statuses: dict[bool, set[int]] = {True: set(), False: set()}
    for case, lane_answers in _cases(town):
        by_lane, by_route, served = await _answers(town, case)
        assert served == int(lane_answers), case.name
        assert _comparable(by_lane) == _comparable(by_route), case.name
        assert by_lane.status_code < 500, (case.name, by_lane.text)
        statuses[lane_answers].add(by_lane.status_code)
    # Every read the lane takes has an account to show; the route's side sees both
    # success and refusal, so the comparison covers both.
    assert statuses[True] == {200}, statuses
    assert {200, 401, 403} <= statuses[False], statuses


async def test_the_lane_reads_the_balance_as_it_now_stands(town: Town) -> None:
    lane: BalanceLane = town.app.state[BALANCE_LANE_STATE]
    before = (await town.client.get(BALANCE_PATH, headers=town.bob.headers)).json()
    gift = await town.client.post(
        GIFT_PATH,
        headers={**town.alice.headers, "Idempotency-Key": "balance-lane-gift"},
        json={"to_member_id": str(town.bob.id), "minutes": 7},
    )
    assert gift.status_code == 201, gift.text
    served_before = lane.served
    after = await town.client.get(BALANCE_PATH, headers=town.bob.headers)
    assert lane.served - served_before == 1
    assert after.json()["balance_minutes"] == before["balance_minutes"] + 7
