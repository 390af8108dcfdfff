"""Realistic volume for trying and measuring council reports: `timebank demo --exchanges N`.

`load_volume` writes a plan (service/demo/volume_plan.py) into a real
installation in bulk: member rows and their ledger accounts, listings, then per
chunk of exchanges ONE write transaction holding the ledger batch (one transfer
per exchange, the way a coordinator records one), the exchange rows and their
history, and the rollups. The ledger verifies clean afterwards, and figures
match what the same exchanges made one by one would give.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from piccolo.engine.base import Engine

from ledger import Ledger, NewTransfer, Unit, write_transaction
from ledger.sql import Connection
from service.demo.volume_plan import (
    FIRST_NAMES,
    VOLUME_MONTHS,
    VOLUME_NAMESPACE,
    Person,
    Planned,
    age_groups,
    exchange_id_of,
    flow_of,
    make_people,
    plan_exchanges,
    rollup_plan,
    span_days,
)
from service.exchanges.ids import record_transfer_id
from service.exchanges.services import EXCHANGE_CODE
from service.exchanges.tables import Exchange, ExchangeEvent, ExchangeRecipient
from service.listings.tables import Category, Listing
from service.members import passwords
from service.members.accounts import member_account_id
from service.members.tables import Community, Member

VOLUME_EXCHANGES_MAX: Final = 1_000_000  # `timebank demo --exchanges N`
CHUNK_EXCHANGES: Final = 500  # per write transaction (the ledger takes up to 1,000 a batch)
MEMBERS_PER_EXCHANGES: Final = 25  # one synthetic member per this many exchanges ...
MEMBERS_MIN: Final = 60  # ... at least (so figures pass k) ...
MEMBERS_MAX: Final = 2_000  # ... at most, for the demo command
FLOOR_MARGIN_MINUTES: Final = 60  # keep synthetic balances this far above the floor


@dataclass
class VolumeReport:
    members_added: int
    exchanges_added: int
    exchanges_skipped: int  # already there from an earlier run


async def _volume_people(
    communities: Sequence[Community], count: int, now: datetime, seed: str
) -> list[Person]:
    areas = {community.area: index for index, community in enumerate(communities)}
    return make_people(
        count=count,
        communities=[(community.id, areas[community.area]) for community in communities],
        now=now,
        months=VOLUME_MONTHS,
        seed=seed,
    )


async def _ensure_members(
    ledger: Ledger,
    people: Sequence[Person],
    communities: dict[uuid.UUID, Community],
    password_hash: str,
) -> int:
    existing = {
        row["id"]
        for row in await Member.select(Member.id)
        .where(Member.id.is_in([person.id for person in people]))
        .run()
    }
    added = 0
    for index, person in enumerate(people):
        if person.id in existing:
            continue
        community = communities[person.community_id]
        await ledger.open_account(
            unit=Unit.HOUR,
            owner=f"member:{person.id}",
            floor_minor=community.member_floor_minutes,
            ceiling_minor=community.member_ceiling_minutes,
            account_id=member_account_id(person.id),
        )
        await Member.insert(
            Member(
                id=person.id,
                email=f"neighbour{index}.{str(person.id)[:8]}@volume.demo.example",
                password_hash=password_hash,
                display_name=f"{FIRST_NAMES[index % len(FIRST_NAMES)]} Neighbour {index}",
                community=person.community_id,
                ward=person.ward,
                birth_year=person.birth_year,
                skills="",
                status="active",
                hour_account_id=member_account_id(person.id),
                consented_at=person.joined_at,
                created_at=person.joined_at,
                approved_at=person.joined_at,
            )
        ).run()
        added += 1
    return added


def _fits(balances: dict[int, int], floors: dict[int, int], recipient: int, minutes: int) -> bool:
    return balances[recipient] - minutes >= floors[recipient] + FLOOR_MARGIN_MINUTES


def _affordable(
    planned: Planned,
    balances: dict[int, int],
    floors: dict[int, int],
    groups: dict[str, list[int]],
    people: Sequence[Person],
) -> Planned:
    """The exchange with roles swapped, or another recipient, if the recipient would near
    their floor (synthetic balances stay inside the ledger's limits)."""
    if _fits(balances, floors, planned.recipient, planned.minutes):
        return planned
    if _fits(balances, floors, planned.provider, planned.minutes):
        return dataclasses.replace(planned, provider=planned.recipient, recipient=planned.provider)
    neighbours = groups[f"community:{people[planned.provider].community_id}"]
    best = max(
        (index for index in neighbours if index != planned.provider),
        key=lambda index: (balances[index], -index),
    )
    return dataclasses.replace(planned, recipient=best)


def members_for(exchanges: int) -> int:
    return max(MEMBERS_MIN, min(MEMBERS_MAX, exchanges // MEMBERS_PER_EXCHANGES))


def _chunks(planned: list[Planned]) -> Iterator[list[Planned]]:
    for start in range(0, len(planned), CHUNK_EXCHANGES):
        yield planned[start : start + CHUNK_EXCHANGES]


def _balanced_plan(
    people: Sequence[Person], floors: dict[int, int], count: int, now: datetime, seed: str
) -> list[Planned]:
    """The plan, with roles swapped where a recipient would near their floor.

    Synthetic members only ever exchange with each other, so their balances
    follow from the plan alone: replaying it gives the same swaps on every run.
    """
    balances = dict.fromkeys(range(len(people)), 0)
    groups = age_groups(people, now.year)
    planned = []
    for each in plan_exchanges(people=people, count=count, now=now, seed=seed):
        fixed = _affordable(each, balances, floors, groups, people)
        balances[fixed.recipient] -= fixed.minutes
        balances[fixed.provider] += fixed.minutes
        planned.append(fixed)
    return planned


@dataclass(frozen=True, slots=True)
class _Context:
    ledger: Ledger
    people: Sequence[Person]
    categories: dict[str, uuid.UUID]  # slug -> id
    category_names: dict[str, str]
    recorder_id: uuid.UUID
    seed: str
    now: datetime


def _listing_id(context: _Context, person: Person, category: str) -> uuid.UUID:
    return uuid.uuid5(VOLUME_NAMESPACE, f"{context.seed}:listing:{person.id}:{category}")


async def _ensure_listings(context: _Context, chunk: Sequence[Planned]) -> None:
    wanted = {
        _listing_id(context, context.people[each.provider], each.category): (
            each.provider,
            each.category,
        )
        for each in chunk
        if each.category is not None
    }
    if not wanted:
        return
    found = {
        row["id"]
        for row in await Listing.select(Listing.id).where(Listing.id.is_in(list(wanted))).run()
    }
    rows = []
    for listing_id, (provider, category) in wanted.items():
        if listing_id in found:
            continue
        person = context.people[provider]
        name = context.category_names[category]
        rows.append(
            Listing(
                id=listing_id,
                member=person.id,
                community=person.community_id,
                kind="offer",
                title=f"Happy to help: {name.lower()}",
                description=f"I can help with {name.lower()} most weeks.",
                category=context.categories[category],
                ward=person.ward,
                availability="",
                status="open",
                created_at=person.joined_at,
                updated_at=person.joined_at,
            )
        )
    if rows:
        await Listing.insert(*rows).run()


def _exchange_rows(
    context: _Context, each: Planned
) -> tuple[Exchange, ExchangeRecipient, ExchangeEvent]:
    exchange_id = exchange_id_of(context.seed, each.index)
    provider, recipient = context.people[each.provider], context.people[each.recipient]
    listing = None if each.category is None else _listing_id(context, provider, each.category)
    return (
        Exchange(
            id=exchange_id,
            community=provider.community_id,
            provider=provider.id,
            proposer=context.recorder_id,
            minutes=each.minutes,
            service_date=each.service_date,
            description="Help recorded for the demo",
            listing=listing,
            status="completed",
            recorded_by=context.recorder_id,
            hold_expires_at=None,
            chain_id=None,
            created_at=context.now,
            updated_at=context.now,
        ),
        ExchangeRecipient(
            exchange=exchange_id,
            member=recipient.id,
            transfer_id=record_transfer_id(exchange_id),
        ),
        ExchangeEvent(
            id=uuid.uuid5(exchange_id, "volume:record"),
            exchange=exchange_id,
            at=context.now,
            actor=context.recorder_id,
            actor_label=f"member:{context.recorder_id}",
            action="record",
            note=f"service date {each.service_date.date().isoformat()}",
        ),
    )


async def _write_chunk(context: _Context, connection: Connection, chunk: Sequence[Planned]) -> None:
    await _ensure_listings(context, chunk)
    items = [
        NewTransfer(
            id=record_transfer_id(exchange_id_of(context.seed, each.index)),
            debit_account_id=member_account_id(context.people[each.recipient].id),
            credit_account_id=member_account_id(context.people[each.provider].id),
            amount_minor=each.minutes,
            unit=Unit.HOUR,
            code=EXCHANGE_CODE,
            actor=f"admin:{context.recorder_id}",
            memo="Help recorded for the demo",
            effective_at=each.service_date,
        )
        for each in chunk
    ]
    for result in await context.ledger.batch(items=items):
        if result.error is not None:
            raise result.error
    rows = [_exchange_rows(context, each) for each in chunk]
    await Exchange.insert(*(row[0] for row in rows)).run()
    await ExchangeRecipient.insert(*(row[1] for row in rows)).run()
    await ExchangeEvent.insert(*(row[2] for row in rows)).run()
    await connection.execute_many(
        "INSERT INTO reports_flow_change (source_id, flow_id, minutes_signed, at) "
        "VALUES ($1, $2, $3, $4)",
        [
            (
                record_transfer_id(exchange_id_of(context.seed, each.index)),
                flow_of(each, context.people, exchange_id_of(context.seed, each.index)).id,
                each.minutes,
                each.service_date,
            )
            for each in chunk
        ],
    )
    await rollup_plan(connection, chunk, context.people, seed=context.seed, recorded_at=context.now)


async def load_volume(
    *,
    engine: Engine[Any],
    ledger: Ledger,
    exchanges: int,
    communities: Sequence[Community],
    recorder_id: uuid.UUID,
    password_hash: str,
    seed: str = "demo",
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> VolumeReport:
    """Add `exchanges` recorded exchanges between synthetic members of `communities`.

    Safe to run twice: members, listings and exchanges have derived ids, and a
    chunk of exchanges already present is skipped (a larger N adds the rest).
    """
    instant = (now or datetime.now(UTC)).replace(microsecond=0)
    # Dates follow the first run, so a second run plans the same exchanges.
    first_member = (
        await Member.select(Member.created_at)
        .where(Member.id == uuid.uuid5(VOLUME_NAMESPACE, f"{seed}:member:0"))
        .first()
        .run()
    )
    anchor = instant
    if first_member is not None:
        anchor = first_member["created_at"] + timedelta(days=span_days(VOLUME_MONTHS) + 1)
    people = await _volume_people(communities, members_for(exchanges), anchor, seed)
    by_id = {community.id: community for community in communities}
    added = await _ensure_members(ledger, people, by_id, password_hash)
    floors = {
        index: by_id[person.community_id].member_floor_minutes
        for index, person in enumerate(people)
    }
    category_rows = await Category.select(Category.id, Category.slug, Category.name).run()
    context = _Context(
        ledger=ledger,
        people=people,
        categories={row["slug"]: row["id"] for row in category_rows},
        category_names={row["slug"]: row["name"] for row in category_rows},
        recorder_id=recorder_id,
        seed=seed,
        now=instant,
    )
    planned = _balanced_plan(people, floors, exchanges, anchor, seed)
    written = skipped = 0
    for chunk in _chunks(planned):
        last_id = exchange_id_of(seed, chunk[-1].index)
        if await Exchange.exists().where(Exchange.id == last_id).run():
            skipped += len(chunk)
            continue
        async with write_transaction(engine) as transaction:
            await _write_chunk(context, transaction.connection, chunk)
        written += len(chunk)
        if progress is not None:
            progress(written + skipped, exchanges)
    return VolumeReport(members_added=added, exchanges_added=written, exchanges_skipped=skipped)


async def demo_volume(
    *,
    engine: Engine[Any],
    ledger: Ledger,
    exchanges: int,
    communities: Sequence[Community],
    recorder_id: uuid.UUID,
    password: str,
) -> list[str]:
    """`timebank demo --exchanges N`: the volume, and lines saying what was added."""
    if not 1 <= exchanges <= VOLUME_EXCHANGES_MAX:
        raise ValueError(f"--exchanges must be 1 to {VOLUME_EXCHANGES_MAX}")
    report = await load_volume(
        engine=engine,
        ledger=ledger,
        exchanges=exchanges,
        communities=communities,
        recorder_id=recorder_id,
        # Synthetic members share the demo password (they are demo people too).
        password_hash=await passwords.hash_password(password),
    )
    lines = []
    if report.members_added:
        lines.append(f"{report.members_added} synthetic members for volume")
    if report.exchanges_added:
        lines.append(f"{report.exchanges_added} recorded exchanges for volume")
    return lines


__all__ = [
    "VOLUME_EXCHANGES_MAX",
    "Person",
    "Planned",
    "VolumeReport",
    "demo_volume",
    "exchange_id_of",
    "flow_of",
    "load_volume",
    "make_people",
    "members_for",
    "plan_exchanges",
    "rollup_plan",
]
