"""Safeguarding concerns (writes): a member reports, the coordinators close with an outcome.

- Any signed-in member may report, with a text and optionally what it is about:
  a member, a listing, an exchange or one of their own conversations. They must be
  able to see what they attach (else 404); a conversation they are not in is never
  attachable, so a report cannot be used to read other people's messages.
- The concern goes to the coordinators of the community of what it is about (the
  reporter's own when it is about nothing in particular): each gets a notice and
  a mail as their notification choice says; the mail says only that there is one.
- Closing needs an outcome; the reporter is told (notice and mail). Both are audited.
- From the concern, a coordinator may suspend the member it is about pending review
  (service/admin/services.py `member_suspend`, audited there).
"""

from __future__ import annotations

import uuid
from typing import Any

from piccolo.engine.base import Engine

from ledger import Ledger, WriteTransaction, run_write
from service import clock
from service.admin.services import member_suspend
from service.concerns.selectors import concern_for_coordinator
from service.concerns.tables import Concern
from service.errors import Conflict, Invalid, invalid_field
from service.exchanges.selectors import visible_view
from service.i18n import _
from service.limits import CONCERN_OUTCOME_CHARS_MAX, CONCERN_TEXT_CHARS_MAX
from service.listings.services import listing_visible
from service.listings.tables import Listing
from service.members.audit import audit_record
from service.members.mailing import mail_member
from service.members.selectors import coordinator_ids_of
from service.members.tables import Member
from service.messages.selectors import conversation_of_participant
from service.principal import Principal, not_found


def checked_text(value: str, *, field: str, chars_max: int) -> str:
    text = value.strip()
    if not text:
        raise invalid_field(field, _("write a few words"))
    if len(text) > chars_max:
        raise invalid_field(field, _("at most %(chars)s characters") % {"chars": chars_max})
    return text


async def _community_of_member(member_id: uuid.UUID) -> uuid.UUID:
    row = await Member.select(Member.community).where(Member.id == member_id).first().run()
    if row is None:
        raise not_found(_("That member"))
    return uuid.UUID(str(row["community"]))


async def _community_of(
    actor: Principal,
    about_member_id: uuid.UUID | None,
    listing_id: uuid.UUID | None,
    exchange_id: uuid.UUID | None,
    conversation_id: uuid.UUID | None,
) -> uuid.UUID:
    """Check the reporter may see each thing attached; the community whose coordinators hear."""
    community_id = actor.community_id
    if conversation_id is not None:
        conversation = await conversation_of_participant(actor, conversation_id)
        community_id = conversation.community
    if exchange_id is not None:
        view = await visible_view(actor, exchange_id)
        community_id = view.exchange.community
    if listing_id is not None:
        await listing_visible(actor, listing_id)
        row = await Listing.select(Listing.community).where(Listing.id == listing_id).first()
        assert row is not None  # noqa: S101 - just seen
        community_id = row["community"]
    if about_member_id is not None:
        if about_member_id == actor.member_id:
            raise invalid_field("about_member_id", _("report a concern about someone else"))
        community_id = await _community_of_member(about_member_id)
    return uuid.UUID(str(community_id))


async def concern_raise(
    *,
    engine: Engine[Any],
    actor: Principal,
    text: str,
    about_member_id: uuid.UUID | None = None,
    listing_id: uuid.UUID | None = None,
    exchange_id: uuid.UUID | None = None,
    conversation_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """A member reports a worry; the community's coordinators are told. Returns its id."""
    words = checked_text(text, field="text", chars_max=CONCERN_TEXT_CHARS_MAX)
    community_id = await _community_of(
        actor, about_member_id, listing_id, exchange_id, conversation_id
    )
    concern_id = uuid.uuid4()
    now = clock.utc_now()

    async def work(transaction: WriteTransaction) -> None:
        await Concern.insert(
            Concern(
                id=concern_id,
                community=community_id,
                reporter=actor.member_id,
                text=words,
                about_member=about_member_id,
                listing=listing_id,
                exchange=exchange_id,
                conversation=conversation_id,
                status="open",
                created_at=now,
            )
        ).run()
        # The audit names what it is about, never the words of the report.
        await audit_record(
            actor_id=actor.member_id,
            actor_label=actor.label,
            action="concern.raise",
            target_type="concern",
            target_id=str(concern_id),
            community_id=community_id,
            after={
                "about_member_id": about_member_id,
                "listing_id": listing_id,
                "exchange_id": exchange_id,
                "conversation_id": conversation_id,
            },
        )
        for coordinator_id in await coordinator_ids_of(community_id):
            if coordinator_id != actor.member_id:
                await mail_member(
                    transaction,
                    member_id=coordinator_id,
                    kind="concern_raised",
                    context={"concern_id": str(concern_id)},
                )

    await run_write(engine, work)
    return concern_id


async def concern_close(
    *, engine: Engine[Any], actor: Principal, concern_id: uuid.UUID, outcome: str
) -> None:
    """A coordinator closes an open concern with an outcome; the reporter is told."""
    concern = await concern_for_coordinator(actor, concern_id)
    words = checked_text(outcome, field="outcome", chars_max=CONCERN_OUTCOME_CHARS_MAX)
    now = clock.utc_now()

    async def work(transaction: WriteTransaction) -> None:
        # Conditional: of two coordinators closing at once, exactly one does.
        closed = (
            await Concern.update(
                {
                    Concern.status: "closed",
                    Concern.outcome: words,
                    Concern.closed_by: actor.member_id,
                    Concern.closed_at: now,
                }
            )
            .where((Concern.id == concern_id) & (Concern.status == "open"))
            .returning(Concern.id)
            .run()
        )
        if not closed:
            raise Conflict(code="concern_closed", detail=_("This concern has already been closed."))
        await audit_record(
            actor_id=actor.member_id,
            actor_label=actor.label,
            action="concern.close",
            target_type="concern",
            target_id=str(concern_id),
            community_id=concern.community,
            reason=words,
            before={"status": "open"},
            after={"status": "closed"},
        )
        await mail_member(
            transaction,
            member_id=concern.reporter,
            kind="concern_closed",
            context={"concern_id": str(concern_id), "outcome": words},
        )

    await run_write(engine, work)


async def concern_suspend_member(
    *, engine: Engine[Any], ledger: Ledger, actor: Principal, concern_id: uuid.UUID
) -> None:
    """Suspend the member the concern is about, pending review (audited by the suspension)."""
    concern = await concern_for_coordinator(actor, concern_id)
    if concern.about_member is None:
        raise Invalid(
            code="concern_about_nobody",
            detail=_("This concern is not about a member, so there is nobody to suspend."),
        )
    await member_suspend(
        engine=engine,
        ledger=ledger,
        actor=actor,
        member_id=concern.about_member,
        reason=f"Pending review of concern {concern_id}",
        pending_review=True,
    )
