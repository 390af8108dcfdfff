"""In-app notices of mailed events: every event mailed to a member is also a notice.

`service.members.mailing.mail_member` writes one with every event message, in
the event's own transaction and whether or not the mail goes (email `off`, a
member without an address or a login): the words are the mail's own (subject,
first paragraph, the one link), from service/mail/messages.py.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.transactions import WriteTransaction
from service.mail.messages import wording_of
from service.mail.outbox import utc_now
from service.mail.tables import MailNotice

logger = logging.getLogger("timebank.mail")

# The newest notices listed at once on the dashboard and by GET /api/v1/me/notices.
EVENT_NOTICES_MAX = 30


@dataclass(frozen=True, slots=True)
class EventNotice:
    id: uuid.UUID
    kind: str
    subject: str
    text: str
    link: str  # the page where the member acts, a path on this site
    at: datetime


async def notice_add(
    _transaction: WriteTransaction,
    *,
    member_id: uuid.UUID,
    kind: str,
    context: Mapping[str, Any],
) -> uuid.UUID:
    """Record the notice inside the caller's write transaction (it commits with the event)."""
    notice_id = uuid.uuid4()
    await MailNotice.insert(
        MailNotice(
            id=notice_id,
            member=member_id,
            kind=kind,
            context_json=json.dumps(dict(context), default=str, sort_keys=True),
            created_at=utc_now(),
        )
    ).run()
    return notice_id


async def event_notices_of(
    member_id: uuid.UUID, *, limit: int = EVENT_NOTICES_MAX
) -> list[EventNotice]:
    """The member's newest notices, worded as their mail was."""
    rows = (
        await MailNotice.select()
        .where(MailNotice.member == member_id)
        .order_by(MailNotice.created_at, ascending=False)
        .limit(limit)
        .run()
    )
    notices = []
    for row in rows:
        try:
            wording = wording_of(row["kind"], json.loads(row["context_json"]))
        except KeyError:
            # A kind retired or a context without its fields: one notice lost, never the page.
            logger.warning("notice %s of kind %s cannot be worded", row["id"], row["kind"])
            continue
        notices.append(
            EventNotice(
                id=row["id"],
                kind=row["kind"],
                subject=wording.subject,
                text=wording.paragraphs[0] if wording.paragraphs else "",
                link=wording.action_path,
                at=row["created_at"],
            )
        )
    return notices


async def notices_erase(member_id: uuid.UUID) -> None:
    """A closing member's notices go with their personal data (inside the closure)."""
    await MailNotice.delete().where(MailNotice.member == member_id).run()
