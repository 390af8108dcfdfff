"""Planned volume for council reports: a seeded, deterministic plan of N exchanges
between synthetic members, and the rollups such a plan gives. Pure Python apart
from `rollup_plan`, which writes rollups alone (no ledger) for bench/reports.py.

The plan: mostly inside a community, some between communities; help from
younger to older people is the most common (and older to younger happens too);
a month spread with gentle growth; minutes and categories in plausible
proportions. service/demo/volume.py loads such a plan into a real installation.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from ledger.sql import Connection
from service.rollups import services as rollups

VOLUME_NAMESPACE: Final = uuid.uuid5(rollups.REPORTS_NAMESPACE, "volume")
VOLUME_MONTHS: Final = 12  # the demo's history: the default report period
CROSS_COMMUNITY_SHARE: Final = 0.04
WITHOUT_LISTING_SHARE: Final = 0.2  # exchanges agreed without a listing: category "unknown"
UNKNOWN_BIRTH_YEAR_SHARE: Final = 0.1
MINUTES_CHOICES: Final = (30, 45, 60, 60, 60, 90, 120, 180)
# (age range, weight): a time bank's membership leans older.
AGE_MIX: Final = (((18, 24), 12), ((25, 49), 28), ((50, 64), 22), ((65, 79), 24), ((80, 95), 14))
CATEGORY_WEIGHTS: Final = {
    "companionship": 16,
    "shopping": 12,
    "transport": 12,
    "gardening": 10,
    "household": 9,
    "cooking": 6,
    "technology": 10,
    "admin": 6,
    "wellbeing": 6,
    "learning": 6,
    "pets": 3,
    "family": 3,
    "other": 1,
}
WARDS: Final = (
    "Mill Lane",
    "Parkside",
    "Station Road",
    "Church End",
    "Riverside Green",
    "Brook Street",
    "Hill Top",
    "Market Square",
)
VOLUME_ACTOR: Final = "system:volume"
FIRST_NAMES: Final = ("Alex", "Sam", "Jo", "Chris", "Pat", "Robin", "Jamie", "Morgan", "Kim")


@dataclass(frozen=True, slots=True)
class Person:
    """A synthetic member: enough to place their flows in the rollups."""

    id: uuid.UUID
    community_id: uuid.UUID
    area: int  # index: cross-community help stays inside an area
    ward: str
    birth_year: int | None
    joined_at: datetime


@dataclass(frozen=True, slots=True)
class Planned:
    index: int
    provider: int  # index into the people
    recipient: int
    minutes: int
    service_date: datetime
    category: str | None  # None: no listing


def _age_years(rng: random.Random) -> int:
    ranges = [age_range for age_range, _ in AGE_MIX]
    (lowest, highest) = rng.choices(ranges, weights=[weight for _, weight in AGE_MIX])[0]
    return rng.randint(lowest, highest)


def span_days(months: int) -> float:
    return months * 30.4


def make_people(
    *,
    count: int,
    communities: Sequence[tuple[uuid.UUID, int]],
    now: datetime,
    months: int,
    seed: str,
) -> list[Person]:
    """`count` members spread over (community id, area index) pairs, joined over `months`."""
    rng = random.Random(f"{seed}:people")  # noqa: S311 - demo data, not secrets
    people = []
    for index in range(count):
        community_id, area = communities[index % len(communities)]
        birth_year = None
        if rng.random() >= UNKNOWN_BIRTH_YEAR_SHARE:
            birth_year = now.year - _age_years(rng)
        # The first member joins first, exactly `months` before `now`: a later
        # run finds `now` again from them (see load_volume).
        # Most members joined early on; newcomers keep arriving (1 - u^2 leans early).
        joined_share = 1.0 if index == 0 else 1 - rng.random() ** 2
        joined_days = span_days(months) * joined_share
        people.append(
            Person(
                id=uuid.uuid5(VOLUME_NAMESPACE, f"{seed}:member:{index}"),
                community_id=community_id,
                area=area,
                ward=WARDS[rng.randrange(len(WARDS))],
                birth_year=birth_year,
                joined_at=now - timedelta(days=joined_days + 1),
            )
        )
    return people


def _pick_pair(
    rng: random.Random, people: Sequence[Person], groups: dict[str, list[int]]
) -> tuple[int, int]:
    """(provider, recipient): mostly younger helping older, inside one community."""
    roll = rng.random()
    if roll < 0.5:  # noqa: PLR2004 - the mix of who helps whom
        provider, recipient = rng.choice(groups["younger"]), rng.choice(groups["older"])
    elif roll < 0.7:  # noqa: PLR2004
        provider, recipient = rng.choice(groups["older"]), rng.choice(groups["younger"])
    else:
        provider, recipient = rng.randrange(len(people)), rng.randrange(len(people))
    if rng.random() >= CROSS_COMMUNITY_SHARE:
        # Stay at home: a recipient from the provider's own community.
        same = groups[f"community:{people[provider].community_id}"]
        recipient = same[rng.randrange(len(same))]
    elif people[recipient].area != people[provider].area:
        same_area = groups[f"area:{people[provider].area}"]
        recipient = same_area[rng.randrange(len(same_area))]
    return provider, recipient


def age_groups(people: Sequence[Person], year: int) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {"younger": [], "older": []}
    for index, person in enumerate(people):
        age = None if person.birth_year is None else year - person.birth_year
        groups["older" if age is not None and age >= 65 else "younger"].append(index)  # noqa: PLR2004
        groups.setdefault(f"community:{person.community_id}", []).append(index)
        groups.setdefault(f"area:{person.area}", []).append(index)
    if not groups["older"] or not groups["younger"]:
        groups["older"] = groups["younger"] = list(range(len(people)))
    return groups


def plan_exchanges(
    *, people: Sequence[Person], count: int, now: datetime, seed: str, first: int = 0
) -> Iterator[Planned]:
    """Exchanges `first`..`first + count - 1` of a seeded plan (the same index, the same one)."""
    groups = age_groups(people, now.year)
    categories = list(CATEGORY_WEIGHTS)
    weights = list(CATEGORY_WEIGHTS.values())
    for index in range(first, first + count):
        rng = random.Random(f"{seed}:exchange:{index}")  # noqa: S311 - demo data
        provider, recipient = _pick_pair(rng, people, groups)
        if provider == recipient:
            recipient = (recipient + 1) % len(people)
        joined = max(people[provider].joined_at, people[recipient].joined_at)
        span_seconds = max((now - joined).total_seconds() - 3600, 0)
        offset = rng.random() * span_seconds
        category = None
        if rng.random() >= WITHOUT_LISTING_SHARE:
            category = rng.choices(categories, weights=weights)[0]
        yield Planned(
            index=index,
            provider=provider,
            recipient=recipient,
            minutes=rng.choice(MINUTES_CHOICES),
            service_date=(joined + timedelta(seconds=offset)).replace(microsecond=0),
            category=category,
        )


def flow_of(planned: Planned, people: Sequence[Person], exchange_id: uuid.UUID) -> rollups.Flow:
    """The rollup flow of a planned exchange (what record_exchange_flow would record)."""
    provider, recipient = people[planned.provider], people[planned.recipient]
    year = planned.service_date.year
    return rollups.Flow(
        id=rollups.exchange_flow_id(exchange_id, recipient.id),
        kind="exchange",
        month=rollups.month_of(planned.service_date),
        provider_community=provider.community_id,
        recipient_community=recipient.community_id,
        category=planned.category or rollups.UNKNOWN,
        ward=rollups.ward_key(recipient.ward),
        provider_band=rollups.age_band(provider.birth_year, year),
        recipient_band=rollups.age_band(recipient.birth_year, year),
        provider_key=rollups.member_key(provider.id),
        recipient_key=rollups.member_key(recipient.id),
        one_to_one=True,  # a planned exchange has one recipient
        intergenerational=rollups.intergenerational(
            provider.birth_year, recipient.birth_year, year
        ),
    )


def exchange_id_of(seed: str, index: int) -> uuid.UUID:
    return uuid.uuid5(VOLUME_NAMESPACE, f"{seed}:exchange:{index}")


async def rollup_plan(
    connection: Connection,
    planned: Sequence[Planned],
    people: Sequence[Person],
    *,
    seed: str,
    recorded_at: datetime,
) -> None:
    """Add planned exchanges to reports_flow and the rollups (no ledger: for benchmarks)."""
    flows = [flow_of(each, people, exchange_id_of(seed, each.index)) for each in planned]
    await rollups.insert_flows(connection, flows, recorded_at)
    await connection.execute_many(
        "UPDATE reports_flow SET minutes_net = $2 WHERE id = $1",
        [(flow.id, each.minutes) for flow, each in zip(flows, planned, strict=True)],
    )
    await rollups.apply_deltas(
        connection,
        [
            rollups.FlowDelta(flow, each.minutes, 1)
            for flow, each in zip(flows, planned, strict=True)
        ],
    )
