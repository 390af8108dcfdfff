"""The weekly digest (issue 15): new offers and requests in a member's community that
may suit them, mailed once a week by the sweep (service/sweeps.py).

Members have skills (free text, "gardening, lifts to town") but no wishes yet, so
the match is (ADR 0028):

- a new REQUEST matches when one of the member's skill words (3 letters or more)
  appears in its title or its category's name: they could help;
- a new OFFER matches when it is in a category the member has asked for help in
  before (one of their own requests, open or not): the closest thing to a wish.

Only members who want mail (an address, email not `off`, active) are sent one;
"new" means published since their last digest (or in the last week). A member's
week is claimed by an UPSERT of their `mail_listing_digest` row in the same
transaction that queues the mail, so two sweeps at once send it once. A week
with nothing that matches sends nothing, and is still marked as looked at.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from piccolo.engine.base import Engine

from ledger import run_write
from ledger.transactions import WriteTransaction
from service.listings.tables import Listing
from service.mail.tables import MailListingDigest, MailPreference
from service.members.mailing import mail_member
from service.members.tables import Member

DIGEST_INTERVAL = timedelta(days=7)
# Members looked at in one sweep pass, and matching listings named in one digest.
DIGEST_MEMBERS_PER_PASS = 200
DIGEST_ITEMS_MAX = 20
# Skill words shorter than this ("a", "to", "and") would match everything.
SKILL_WORD_CHARS_MIN = 3
_WORD = re.compile(r"[^\W\d_]+")
_COMMON_WORDS = frozenset({"and", "the", "with", "for", "help", "can", "any", "all"})


def skill_words(skills: str) -> frozenset[str]:
    """The words of a member's skills worth matching on, lower case, a plural's "s" off
    ("lifts" finds "Lift to the clinic")."""
    words = set()
    for found in _WORD.findall(skills):
        word = found.lower()
        if len(word) < SKILL_WORD_CHARS_MIN or word in _COMMON_WORDS:
            continue
        words.add(word[:-1] if word.endswith("s") and len(word) > SKILL_WORD_CHARS_MIN else word)
    return frozenset(words)


def _matches_skills(words: frozenset[str], title: str, category_name: str) -> bool:
    text = f"{title} {category_name}".lower()
    return any(word in text for word in words)


async def listing_digest_sweep(*, engine: Engine[Any], now: datetime) -> int:
    """Send every due member's weekly digest; returns how many digests were queued."""
    sent = 0
    for member_id in await _due_members(now):
        sent += await _digest_one(engine, member_id, now)
    return sent


async def _due_members(now: datetime) -> list[uuid.UUID]:
    recent = MailListingDigest.select(MailListingDigest.member).where(
        MailListingDigest.sent_at > now - DIGEST_INTERVAL
    )
    off = MailPreference.select(MailPreference.member).where(MailPreference.email == "off")
    rows = (
        await Member.select(Member.id)
        .where(
            (Member.status == "active")
            & Member.email.is_not_null()
            & Member.id.not_in(recent)
            & Member.id.not_in(off)
        )
        .order_by(Member.id)
        .limit(DIGEST_MEMBERS_PER_PASS)
        .run()
    )
    return [row["id"] for row in rows]


async def _digest_one(engine: Engine[Any], member_id: uuid.UUID, now: datetime) -> int:
    async def work(transaction: WriteTransaction) -> int:
        since = await _claim_week(member_id, now)
        if since is None:
            return 0  # another sweep took this week
        items = await matching_listings(member_id, since=since)
        if not items:
            return 0
        await mail_member(
            transaction, member_id=member_id, kind="listing_digest", context={"items": items}
        )
        return 1

    return await run_write(engine, work)


async def _claim_week(member_id: uuid.UUID, now: datetime) -> datetime | None:
    """Mark this week as sent; returns where the digest starts, None if already taken."""
    cutoff = now - DIGEST_INTERVAL
    previous = (
        await MailListingDigest.select(MailListingDigest.sent_at)
        .where(MailListingDigest.member == member_id)
        .first()
        .run()
    )
    if previous is None:
        inserted = (
            await MailListingDigest.insert(MailListingDigest(member=member_id, sent_at=now))
            .on_conflict(action="DO NOTHING")
            .returning(MailListingDigest.member)
            .run()
        )
        return cutoff if inserted else None
    updated = (
        await MailListingDigest.update({MailListingDigest.sent_at: now})
        .where((MailListingDigest.member == member_id) & (MailListingDigest.sent_at <= cutoff))
        .returning(MailListingDigest.member)
        .run()
    )
    if not updated:
        return None
    last: datetime = previous["sent_at"]
    return max(last, now - 2 * DIGEST_INTERVAL)  # a long gap shows two weeks, not years


async def matching_listings(member_id: uuid.UUID, *, since: datetime) -> list[dict[str, str]]:
    """New open listings of the member's community that match (see the module docstring)."""
    member = (
        await Member.select(Member.community, Member.skills)
        .where(Member.id == member_id)
        .first()
        .run()
    )
    if member is None:
        return []
    words = skill_words(member["skills"])
    wished = {
        row["category"]
        for row in await Listing.select(Listing.category)
        .where((Listing.member == member_id) & (Listing.kind == "request"))
        .run()
    }
    rows = (
        await Listing.select(
            Listing.id,
            Listing.kind,
            Listing.title,
            Listing.category,
            Listing.category.name.as_alias("category_name"),
            Listing.member.display_name.as_alias("owner_name"),
        )
        .where(
            (Listing.community == member["community"])
            & (Listing.status == "open")
            & (Listing.member != member_id)
            & (Listing.created_at > since)
        )
        .order_by(Listing.created_at)
        .run()
    )
    found = [
        {
            "kind": row["kind"],
            "title": row["title"],
            "category": row["category_name"],
            "owner_name": row["owner_name"],
            "listing_id": str(row["id"]),
        }
        for row in rows
        if (row["kind"] == "request" and _matches_skills(words, row["title"], row["category_name"]))
        or (row["kind"] == "offer" and row["category"] in wished)
    ]
    return found[:DIGEST_ITEMS_MAX]
