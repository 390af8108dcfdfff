"""Suggested one-to-one friendships (The Cares Family's "Love Your Neighbour").

An older member (OLDER_MEMBER_AGE_MIN or more, by birth year) who asked for
company, and a younger member (YOUNGER_MEMBER_AGE_MAX or less) who offered it:
open listings in the companionship category, both members active in a community
the coordinator looks after. Pairs are ranked by a shared ward, then by shared
skills and interests (words of their profiles' "what you can help with"), then by
shared words of when they are free. Pairs with a block between them, or already
introduced (a `friendship_pair` row, ADR 0040), are left out.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from service import clock
from service.blocks.selectors import hidden_member_ids
from service.limits import OLDER_MEMBER_AGE_MIN, PAIRS_SHOWN_MAX, YOUNGER_MEMBER_AGE_MAX
from service.listings.tables import Listing
from service.pairing.tables import FriendshipPair
from service.principal import Principal

COMPANY_CATEGORY = "companionship"
INTRODUCE_ACTION = "pairing.introduce"
WARD_SCORE = 10  # a shared ward matters most: visits are on foot
_WORD = re.compile(r"[a-z]{3,}")
_COMMON_WORDS = frozenset({"and", "the", "for", "with", "any", "can", "help", "some"})


@dataclass(frozen=True, slots=True)
class Person:
    member_id: uuid.UUID
    display_name: str
    community_id: uuid.UUID
    ward: str
    birth_year: int
    skills: frozenset[str]
    availability: frozenset[str]
    listing_title: str


@dataclass(frozen=True, slots=True)
class Pair:
    older: Person
    younger: Person
    score: int
    same_ward: bool
    shared_skills: tuple[str, ...]


def words_of(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower())) - _COMMON_WORDS


async def _people(
    communities: list[uuid.UUID] | None, kind: str, years: tuple[int, int]
) -> list[Person]:
    query = Listing.select(
        Listing.title,
        Listing.availability,
        Listing.member.id.as_alias("member_id"),
        Listing.member.display_name.as_alias("display_name"),
        Listing.member.community.as_alias("community_id"),
        Listing.member.ward.as_alias("ward"),
        Listing.member.birth_year.as_alias("birth_year"),
        Listing.member.skills.as_alias("skills"),
    ).where(
        (Listing.kind == kind)
        & (Listing.status == "open")
        & (Listing.category.slug == COMPANY_CATEGORY)
        & (Listing.member.status == "active")
        & (Listing.member.birth_year >= years[0])
        & (Listing.member.birth_year <= years[1])
    )
    if communities is not None:
        query = query.where(Listing.member.community.is_in(communities))
    people: dict[uuid.UUID, Person] = {}
    for row in await query.run():
        member_id = uuid.UUID(str(row["member_id"]))
        people.setdefault(
            member_id,
            Person(
                member_id=member_id,
                display_name=row["display_name"],
                community_id=uuid.UUID(str(row["community_id"])),
                ward=(row["ward"] or "").strip(),
                birth_year=int(row["birth_year"]),
                skills=words_of(row["skills"] or ""),
                availability=words_of(row["availability"] or ""),
                listing_title=row["title"],
            ),
        )
    return list(people.values())


async def introduced_pairs() -> set[tuple[uuid.UUID, uuid.UUID]]:
    """Every pair ever introduced, active or ended: none is suggested again."""
    rows = await FriendshipPair.select(FriendshipPair.older, FriendshipPair.younger)
    return {(uuid.UUID(str(row["older"])), uuid.UUID(str(row["younger"]))) for row in rows}


def pair_of(older: Person, younger: Person) -> Pair:
    same_ward = bool(older.ward) and older.ward.lower() == younger.ward.lower()
    shared = tuple(sorted(older.skills & younger.skills))
    score = (
        (WARD_SCORE if same_ward else 0)
        + 2 * len(shared)
        + len(older.availability & younger.availability)
    )
    return Pair(
        older=older, younger=younger, score=score, same_ward=same_ward, shared_skills=shared
    )


async def suggested_pairs(actor: Principal) -> list[Pair]:
    """The best-ranked pairs in the communities the actor coordinates (all, for an admin)."""
    communities = None if actor.is_admin else list(actor.coordinated_communities)
    if communities is not None and not communities:
        return []
    this_year = clock.utc_now().year
    older = await _people(communities, "request", (1900, this_year - OLDER_MEMBER_AGE_MIN))
    younger = await _people(communities, "offer", (this_year - YOUNGER_MEMBER_AGE_MAX, this_year))
    done = await introduced_pairs()
    pairs = []
    for elder in older:
        hidden = await hidden_member_ids(member_id=elder.member_id)
        for young in younger:
            if young.community_id != elder.community_id or young.member_id in hidden:
                continue
            if (elder.member_id, young.member_id) in done:
                continue
            pairs.append(pair_of(elder, young))
    pairs.sort(key=lambda pair: (-pair.score, pair.older.display_name, pair.younger.display_name))
    return pairs[:PAIRS_SHOWN_MAX]
