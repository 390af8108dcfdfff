"""A hand-computed set of exchanges on top of the members' `town`, made through the HTTP API.

Months: A = two months ago, B = last month, C = this month (UTC). Area "north"
holds riverside and oakfield; "south" holds hillside. k is 5 everywhere.

riverside members made here (ward, age):
  Y1..Y6  Mill Lane, 20 (under 25)      O1..O6  Parkside, 82 (80 and over)
  M1      Church End, 40 (25 to 49)
town's alice (riverside) and carol, dan (hillside) have no ward and no birth year.

Exchanges (provider -> recipient, minutes, month, category):
  A: Yi -> Oi for i = 1..5, 60 each, gardening (listing, proposed, accepted, completed)
  A: M1 -> O6, 30, no listing (recorded by the coordinator)
  A: carol -> dan, 90, no listing (recorded by an admin), inside hillside
  B: Oi -> Yi for i = 1..5, 45 each, no listing (recorded)
  B: Y6 -> M1, 20, pets (listing)
  B: alice -> carol, 60, no listing (recorded by an admin): riverside to hillside
Pool (month C): O1..O5 donate 10 each to riverside's pool; the coordinator grants 15 to Y1.

What the north council sees for A..C (hand-computed; docs/adr reports suppression):
  total 635 minutes, 13 exchanges; A 330/6, B 305/7, C 0/0
  category: gardening 300/5, pets 20/1 (2 members: primary), unknown 315/7
    -> pets suppressed, gardening complementary (smallest other), unknown shown
  ward of the recipient: Parkside 330/6, Mill Lane 225/5, Church End 20/1 (2
    members: never named, counted as "other"), not given 60/1 (alice, carol)
    -> other and not given primary; together 4 members < 5, so Mill Lane
       (the smallest shown) is complementary; Parkside shown
  active members 14 (Y1-6, O1-6, M1, alice), gave and received 11 (Y1-5, O1-5, M1)
  new members: everyone approved this month in riverside and oakfield
  pool: donations 50 (5 donors) shown, grants 15 (1 member) suppressed
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.support.app import NoRateLimits
from tests.support.people import Person, Town, person, register, sign_in

NOW = datetime.now(UTC)


def month_start(months_back: int) -> datetime:
    index = NOW.year * 12 + NOW.month - 1 - months_back
    return datetime(index // 12, index % 12 + 1, 10, 12, 0, tzinfo=UTC)


MONTH_A = month_start(2)
MONTH_B = month_start(1)
MONTH_C = month_start(0)


def month_key(instant: datetime) -> str:
    return f"{instant.year:04d}-{instant.month:02d}"


@dataclass
class Fixture:
    town: Town
    young: list[Person]
    old: list[Person]
    middle: Person
    dan: Person
    south_council: Person
    exchanges: dict[tuple[str, str], str]  # (provider email, recipient email) -> exchange id
    names: list[str] = field(default_factory=list)  # every display name in the town
    emails: list[str] = field(default_factory=list)
    member_ids: list[uuid.UUID] = field(default_factory=list)

    @property
    def period(self) -> dict[str, str]:
        return {"from": month_key(MONTH_A), "to": month_key(MONTH_C)}


async def _member(
    town: Town, stem: str, community: str, ward: str, age_years: int | None
) -> Person:
    email = f"{stem}@example.org"
    extra: dict[str, Any] = {"ward": ward}
    if age_years is not None:
        extra["birth_year"] = NOW.year - age_years
    member_id = await register(town.client, email, community, **extra)
    return Person(member_id, email, await sign_in(town.client, email))


async def _record(
    town: Town, actor: Person, provider: Person, recipient: Person, *, minutes: int, when: datetime
) -> str:
    response = await town.client.post(
        "/api/v1/coordinator/exchanges",
        headers=actor.headers,
        json={
            "provider_id": str(provider.id),
            "recipient_id": str(recipient.id),
            "minutes": minutes,
            "service_date": when.isoformat(),
            "description": "Recorded for the report tests",
        },
    )
    assert response.status_code == 201, response.text
    exchange_id: str = response.json()["id"]
    return exchange_id


async def _with_listing(
    town: Town,
    provider: Person,
    recipient: Person,
    *,
    minutes: int,
    when: datetime,
    category: str,
) -> str:
    listing = await town.client.post(
        "/api/v1/listings",
        headers=provider.headers,
        json={
            "kind": "offer",
            "title": f"Help with {category}",
            "description": "Happy to help",
            "category": category,
        },
    )
    assert listing.status_code == 201, listing.text
    proposed = await town.client.post(
        "/api/v1/exchanges",
        headers=provider.headers,
        json={
            "provider_id": str(provider.id),
            "recipient_id": str(recipient.id),
            "minutes": minutes,
            "service_date": when.isoformat(),
            "description": f"{category} help",
            "listing_id": listing.json()["id"],
        },
    )
    assert proposed.status_code == 201, proposed.text
    exchange_id = proposed.json()["id"]
    for action in ("accept", "complete"):
        response = await town.client.post(
            f"/api/v1/exchanges/{exchange_id}/{action}", headers=recipient.headers
        )
        assert response.status_code == 200, response.text
    return str(exchange_id)


async def build(town: Town) -> Fixture:
    # Two dozen sign-ups from one address: the registration limit is not under test here.
    town.client.app.state.rate_limiter = NoRateLimits()
    young = [await _member(town, f"young{i}", "riverside", "Mill Lane", 20) for i in range(1, 7)]
    old = [await _member(town, f"old{i}", "riverside", "Parkside", 82) for i in range(1, 7)]
    middle = await _member(town, "middle", "riverside", "Church End", 40)
    dan = await person(town.client, "dan@example.org", "hillside")
    south_council = await person(town.client, "sully@example.org", "hillside")
    response = await town.client.post(
        f"/api/v1/admin/members/{south_council.id}/roles",
        headers=town.admin.headers,
        json={"action": "grant", "reason": "appointed", "role": "council", "area": "south"},
    )
    assert response.status_code == 200, response.text
    south_council = Person(
        south_council.id, south_council.email, await sign_in(town.client, south_council.email)
    )

    exchanges: dict[tuple[str, str], str] = {}
    for provider, recipient in zip(young[:5], old[:5], strict=True):
        exchanges[(provider.email, recipient.email)] = await _with_listing(
            town, provider, recipient, minutes=60, when=MONTH_A, category="gardening"
        )
    await _record(town, town.coordinator, middle, old[5], minutes=30, when=MONTH_A)
    await _record(town, town.admin, town.carol, dan, minutes=90, when=MONTH_A)
    for provider, recipient in zip(old[:5], young[:5], strict=True):
        exchanges[(provider.email, recipient.email)] = await _record(
            town, town.coordinator, provider, recipient, minutes=45, when=MONTH_B
        )
    await _with_listing(town, young[5], middle, minutes=20, when=MONTH_B, category="pets")
    await _record(town, town.admin, town.alice, town.carol, minutes=60, when=MONTH_B)

    for donor in old[:5]:
        response = await town.client.post(
            "/api/v1/transfers", headers=donor.headers, json={"to": "pool", "minutes": 10}
        )
        assert response.status_code == 201, response.text
    response = await town.client.post(
        "/api/v1/coordinator/grants",
        headers=town.coordinator.headers,
        json={"member_id": str(young[0].id), "minutes": 15, "reason": "a hard month"},
    )
    assert response.status_code == 201, response.text

    everyone = [
        town.admin, town.coordinator, town.council, town.alice, town.bob, town.carol,
        town.pending, *young, *old, middle, dan, south_council,
    ]  # fmt: skip
    # Display names: "Ada Admin" (tests/members/conftest.py), else the email's stem.
    names = ["Ada Admin", *(who.email.split("@")[0].title() for who in everyone[1:])]
    return Fixture(
        town=town,
        young=young,
        old=old,
        middle=middle,
        dan=dan,
        south_council=south_council,
        exchanges=exchanges,
        names=names,
        emails=[who.email for who in everyone],
        member_ids=[who.id for who in everyone],
    )
