"""Members as the pages list them: choices for the member pickers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from service.members.tables import Member
from service.principal import Principal

EXCHANGES_PER_PAGE = 20

DONE_MESSAGES = {
    "proposed": "Your proposal has been sent. The other member needs to accept it.",
    "accepted": "You have accepted this exchange.",
    "completed": "Thank you for confirming. The hours have moved.",
    "cancelled": "The exchange has been cancelled. Any hours on hold were released.",
    "given": "Thank you. Your hours have been given.",
    "recorded": "The exchange has been recorded and the hours have moved.",
    "granted": "The hours have been granted from the pool. It is recorded in the audit log.",
}
STATUS_NAMES = {
    "proposed": "Waiting for acceptance",
    "accepted": "Agreed, waiting for confirmation",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "expired": "Expired",
}
ACTION_NAMES = {
    "propose": "Proposed",
    "agree": "Agreed",
    "accept": "Accepted",
    "complete": "Confirmed the help happened",
    "cancel": "Cancelled",
    "expire": "Expired",
    "record": "Recorded by a coordinator",
    "dispute": "Disputed",
    "dispute_resolved": "Dispute decided",
}
CODE_NAMES = {
    "exchange": "Exchange",
    "gift": "Gift",
    "donation": "Donation to the pool",
    "grant": "Grant from the pool",
    "welcome": "Welcome credit",
    "closure": "Account closure",
    "dispute": "Correction after a dispute",
}
ROLE_OPTIONS = [("provide", "I will help them"), ("receive", "They will help me")]


MEMBER_OPTIONS_MAX = 500


@dataclass(frozen=True, slots=True)
class MemberChoice:
    id: uuid.UUID
    display_name: str
    email: str | None


async def member_choices(community_ids: frozenset[uuid.UUID] | None) -> list[MemberChoice]:
    """Active members of these communities (all communities if None), by name."""
    query = Member.select(Member.id, Member.display_name, Member.email).where(
        Member.status == "active"
    )
    if community_ids is not None:
        if not community_ids:
            return []
        query = query.where(Member.community.is_in(list(community_ids)))
    rows = await query.order_by(Member.display_name).limit(MEMBER_OPTIONS_MAX).run()
    return [MemberChoice(row["id"], row["display_name"], row["email"]) for row in rows]


def member_options(
    choices: list[MemberChoice], *, without: uuid.UUID | None
) -> list[tuple[str, str]]:
    return [(str(choice.id), choice.display_name) for choice in choices if choice.id != without]


async def coordinated_member_options(viewer: Principal) -> list[tuple[str, str]]:
    scope = None if viewer.is_admin else viewer.coordinated_communities
    return member_options(await member_choices(scope), without=None)
