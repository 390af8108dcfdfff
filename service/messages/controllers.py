"""The conversations JSON API: thin handlers over service/messages/."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from service.http.access import Access, access, on_object
from service.http.deps import CurrentMember, EngineDep
from service.i18n import _
from service.messages import selectors, services
from service.messages.schemas import (
    ConversationIn,
    ConversationOut,
    ConversationPage,
    CreatedOut,
    MessageIn,
    MessagePage,
    messages_out,
)
from service.principal import Principal


async def thread_out(actor: Principal, conversation_id: uuid.UUID) -> MessagePage:
    conversation = await selectors.conversation_of_participant(actor, conversation_id)
    other_id = selectors.other_of(conversation, actor.member_id)
    names = await selectors.names_of([other_id])
    return MessagePage(
        conversation_id=conversation_id,
        other_member_id=other_id,
        other_name=names.get(other_id) or _("A former member"),
        items=messages_out(await selectors.messages_of(conversation_id), reader_id=actor.member_id),
    )


class ConversationsController(Controller):
    opt = access(Access.MEMBER)
    path = "/api/v1/conversations"
    tags = ("conversations",)

    @post("/", status_code=HTTP_201_CREATED)
    async def start(
        self, member: CurrentMember, data: JSONBody[ConversationIn], engine: EngineDep
    ) -> CreatedOut:
        """Message a member, optionally about a listing or an exchange (one thread per topic)."""
        conversation_id = await services.conversation_start(
            engine=engine,
            actor=member,
            member_id=data.member_id,
            body=data.body,
            listing_id=data.listing_id,
            exchange_id=data.exchange_id,
        )
        return CreatedOut(id=conversation_id)

    @get("/")
    async def own(self, member: CurrentMember) -> ConversationPage:
        items = await selectors.conversations_of(member)
        return ConversationPage(
            items=[
                ConversationOut(
                    id=item.id,
                    other_member_id=item.other_member_id,
                    other_name=item.other_name,
                    listing_id=item.listing_id,
                    exchange_id=item.exchange_id,
                    last_message_at=item.last_message_at,
                    unread_count=item.unread_count,
                )
                for item in items
            ],
            unread_count=sum(item.unread_count for item in items),
        )

    @get("/{conversation_id:uuid}/messages")
    async def thread(
        self, member: CurrentMember, conversation_id: FromPath[uuid.UUID], engine: EngineDep
    ) -> MessagePage:
        """The thread, for its two members only; reading it marks it read."""
        page = await thread_out(member, conversation_id)
        await services.conversation_mark_read(
            engine=engine, actor=member, conversation_id=conversation_id
        )
        return page

    @post(
        "/{conversation_id:uuid}/messages",
        status_code=HTTP_201_CREATED,
        opt=on_object("conversation", "conversation_id"),
    )
    async def send(
        self,
        member: CurrentMember,
        conversation_id: FromPath[uuid.UUID],
        data: JSONBody[MessageIn],
        engine: EngineDep,
    ) -> CreatedOut:
        message_id = await services.message_send(
            engine=engine, actor=member, conversation_id=conversation_id, body=data.body
        )
        return CreatedOut(id=message_id)


ROUTERS = [ConversationsController]

__all__ = ["ROUTERS"]
