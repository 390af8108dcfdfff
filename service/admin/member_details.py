"""An admin corrects a member's details and keeps private notes on them (issue 22, ADR 0033).

Both are audited. The audit log keeps the display name and ward before and after (they
are what other members see anyway); for the email address and phone it records only
that they changed, because the log can never be erased and contact details must go
when the account is closed. A note's text is never in the log either: only that a
note was added. Notes are never shown to the member, in the directory or in their
export; closing the account deletes them (service/members/closure.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import msgspec
from piccolo.engine.base import Engine

from ledger import WriteTransaction, run_write
from service import clock
from service.errors import Conflict, invalid_field
from service.http.principal_cache import principals_changed
from service.i18n import _
from service.limits import ADMIN_NOTE_CHARS_MAX, ADMIN_NOTES_SHOWN_MAX, REASON_CHARS_MAX
from service.members.audit import audit_record
from service.members.schemas import TEXT_PATTERN, DisplayName, Email, Phone, Ward
from service.members.services import normalise_email
from service.members.tables import AdminNote, Member
from service.principal import Principal, not_found, require_admin

NoteText = Annotated[
    str, msgspec.Meta(min_length=1, max_length=ADMIN_NOTE_CHARS_MAX, pattern=TEXT_PATTERN)
]
DetailsReason = Annotated[str, msgspec.Meta(max_length=REASON_CHARS_MAX, pattern=TEXT_PATTERN)]
# Shown in the audit log before and after; the others only as "changed".
PUBLIC_FIELDS = ("display_name", "ward")
PRIVATE_FIELDS = ("email", "phone")


class MemberDetailsIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Fields left out stay as they are. An empty email is allowed only for a member
    without a password (they cannot sign in, so need no address)."""

    display_name: DisplayName | None = None
    email: Email | None = None
    phone: Phone | None = None
    ward: Ward | None = None
    reason: DetailsReason = ""


class AdminNoteIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    body: NoteText


@dataclass(frozen=True, slots=True)
class NoteView:
    id: uuid.UUID
    body: str
    written_by: str
    written_at: datetime


async def _member(member_id: uuid.UUID) -> Member:
    member = await Member.objects().where(Member.id == member_id).first().run()
    if member is None:
        raise not_found(_("That member"))
    return member


def _changes(member: Member, data: MemberDetailsIn) -> dict[str, str | None]:
    wanted: dict[str, str | None] = {}
    for field in (*PUBLIC_FIELDS, *PRIVATE_FIELDS):
        value = getattr(data, field)
        if value is None:
            continue
        value = value.strip()
        if field == "email":
            value = normalise_email(value) or None
        if value != getattr(member, field):
            wanted[field] = value
    return wanted


async def member_details_update(
    *, engine: Engine[Any], actor: Principal, member_id: uuid.UUID, data: MemberDetailsIn
) -> Member:
    """Change what was asked; audited in the same transaction. Nothing changed, nothing written."""
    require_admin(actor)

    async def work(_transaction: WriteTransaction) -> None:
        member = await _member(member_id)
        if member.status == "closed":
            raise Conflict(
                code="member_closed", detail=_("This account is closed: its details were erased.")
            )
        changes = _changes(member, data)
        if "display_name" in changes and not changes["display_name"]:
            raise invalid_field("display_name", "is required")
        if "email" in changes and changes["email"] is None and member.password_hash:
            raise invalid_field("email", "is required for a member who signs in")
        if changes.get("email") and await Member.exists().where(
            (Member.email == changes["email"]) & (Member.id != member_id)
        ):
            raise Conflict(code="email_taken", detail=_("Another member has that email address."))
        if not changes:
            return
        principals_changed()  # the version moves once this commits (ADR 0043)
        await (
            Member.update({getattr(Member, name): value for name, value in changes.items()})
            .where(Member.id == member_id)
            .run()
        )
        await audit_record(
            actor_id=actor.member_id,
            actor_label=actor.label,
            action="member.details",
            target_type="member",
            target_id=str(member_id),
            community_id=member.community,
            reason=data.reason.strip(),
            before={
                name: getattr(member, name) if name in PUBLIC_FIELDS else "—" for name in changes
            },
            after={
                name: value if name in PUBLIC_FIELDS else "changed"
                for name, value in changes.items()
            },
        )

    await run_write(engine, work)
    return await _member(member_id)


async def admin_note_add(
    *, engine: Engine[Any], actor: Principal, member_id: uuid.UUID, body: str
) -> uuid.UUID:
    require_admin(actor)
    note_id = uuid.uuid4()

    async def work(_transaction: WriteTransaction) -> None:
        member = await _member(member_id)
        if member.status == "closed":
            raise Conflict(
                code="member_closed", detail=_("This account is closed: no notes are kept on it.")
            )
        await AdminNote.insert(
            AdminNote(
                id=note_id,
                member=member_id,
                body=body.strip(),
                written_by=actor.member_id,
                written_at=clock.utc_now(),
            )
        ).run()
        await audit_record(
            actor_id=actor.member_id,
            actor_label=actor.label,
            action="member.note",
            target_type="member",
            target_id=str(member_id),
            community_id=member.community,
            after={"note": "added"},
        )

    await run_write(engine, work)
    return note_id


async def admin_notes_of(*, actor: Principal, member_id: uuid.UUID) -> list[NoteView]:
    """The newest notes on a member, for admins only."""
    require_admin(actor)
    await _member(member_id)
    notes = (
        await AdminNote.objects()
        .where(AdminNote.member == member_id)
        .order_by(AdminNote.written_at, ascending=False)
        .limit(ADMIN_NOTES_SHOWN_MAX)
        .run()
    )
    writers = {
        row["id"]: row["display_name"]
        for row in await Member.select(Member.id, Member.display_name).where(
            Member.id.is_in([note.written_by for note in notes if note.written_by] or [member_id])
        )
    }
    return [
        NoteView(
            id=note.id,
            body=note.body,
            written_by=writers.get(note.written_by) or _("A former admin"),
            written_at=note.written_at,
        )
        for note in notes
    ]
