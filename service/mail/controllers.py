"""The mail JSON API: a member's notification preferences; the admin's outbox."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import Controller, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from service.http.access import Access, access
from service.http.deps import CurrentMember
from service.limits import PAGE_SIZE_DEFAULT
from service.mail import outbox
from service.mail.limits import OUTBOX_PAGE_SIZE_MAX
from service.mail.schemas import NotificationsIn, NotificationsOut, OutboxItemOut, OutboxOut


class NotificationPreferencesController(Controller):
    opt = access(Access.MEMBER)
    path = "/api/v1/me/notifications"
    tags = ("me",)

    @get("/")
    async def read(self, member: CurrentMember) -> NotificationsOut:
        return NotificationsOut(email=await outbox.email_frequency_of(member.member_id))

    @put("/")
    async def replace(
        self, member: CurrentMember, data: JSONBody[NotificationsIn]
    ) -> NotificationsOut:
        await outbox.email_frequency_set(member_id=member.member_id, frequency=data.email)
        return NotificationsOut(email=data.email)


class AdminOutboxController(Controller):
    opt = access(Access.ADMIN)
    path = "/api/v1/admin/outbox"
    tags = ("admin",)

    @get("/")
    async def list_outbox(
        self,
        member: CurrentMember,
        status: FromQuery[Literal["queued", "sent", "dead"] | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=OUTBOX_PAGE_SIZE_MAX)] = PAGE_SIZE_DEFAULT,
    ) -> OutboxOut:
        rows = await outbox.outbox_list(actor=member, status=status, limit=limit)
        return OutboxOut(items=[OutboxItemOut(**row) for row in rows])

    @post("/{message_id:uuid}/retry", status_code=HTTP_200_OK)
    async def retry(self, member: CurrentMember, message_id: FromPath[uuid.UUID]) -> dict[str, str]:
        await outbox.outbox_retry(actor=member, message_id=message_id)
        return {"status": "queued"}


ROUTERS = [NotificationPreferencesController, AdminOutboxController]
