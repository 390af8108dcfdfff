"""`GET /api/v1/me/notices`: what waits for the caller across exchanges and disputes."""

from __future__ import annotations

from litestar import Controller, get

from service.disputes.selectors import dispute_notices_waiting, disputes_awaiting_count
from service.exchanges import selectors as exchanges_selectors
from service.exchanges.schemas import (
    DisputeNoticeOut,
    MembershipNoticeOut,
    NoticeOut,
    NoticesOut,
)
from service.http.access import Access, access
from service.http.deps import CurrentMember
from service.mail.notices import event_notices_of
from service.mail.schemas import EventNoticeOut
from service.members.registration import decline_reason
from service.principal import Principal


class NoticesController(Controller):
    opt = access(Access.MEMBER)
    path = "/api/v1"
    tags = ("me",)

    @get("/me/notices")
    async def notices(self, member: CurrentMember) -> NoticesOut:
        """Exchanges to accept or confirm, disputes to answer, recent dispute outcomes, and
        every event the member was mailed about (`events`, newest first)."""
        count, notices = await exchanges_selectors.notices_of(actor=member)
        disputes = await dispute_notices_waiting(actor=member)
        return NoticesOut(
            count=count,
            items=[
                NoticeOut(
                    kind=notice.kind,  # type: ignore[arg-type]
                    exchange_id=notice.exchange.id,
                    provider_id=notice.exchange.provider,
                    provider_name=notice.provider_name,
                    minutes=notice.exchange.minutes,
                    service_date=notice.exchange.service_date,
                    description=notice.exchange.description,
                    since=notice.exchange.updated_at,
                    marked_done_at=notice.exchange.marked_done_at,
                    autoconfirm_at=notice.exchange.autoconfirm_at,
                )
                for notice in notices
            ],
            disputes_count=await disputes_awaiting_count(actor=member),
            disputes=[
                DisputeNoticeOut(
                    kind=notice.kind,  # type: ignore[arg-type]
                    dispute_id=notice.dispute.id,
                    exchange_id=notice.exchange.id,
                    description=notice.exchange.description,
                    outcome=notice.dispute.outcome,  # type: ignore[arg-type]
                    since=notice.since,
                )
                for notice in disputes
            ],
            events=[
                EventNoticeOut(
                    id=notice.id,
                    kind=notice.kind,
                    subject=notice.subject,
                    text=notice.text,
                    link=notice.link,
                    at=notice.at,
                )
                for notice in await event_notices_of(member.member_id)
            ],
            membership=await membership_notice(member),
        )


async def membership_notice(member: Principal) -> MembershipNoticeOut | None:
    """A declined applicant is told why, here as in the mail they were sent."""
    if member.status != "declined":
        return None
    return MembershipNoticeOut(
        status="declined", reason=await decline_reason(member.member_id) or ""
    )


ROUTERS = [NoticesController]
