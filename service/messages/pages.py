"""The messages pages: the inbox, a thread with a reply form, and starting a conversation.

Message bodies are shown by Jinja's autoescape, never marked safe: a link or a tag
someone typed is shown as the characters they typed (ADR 0036).
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template

from service.blocks.selectors import has_blocked
from service.blocks.services import block_add
from service.http.access import Access, access, on_object
from service.http.deps import EngineDep
from service.i18n import N_, _
from service.limits import MESSAGE_BODY_CHARS_MAX
from service.messages import selectors, services
from service.principal import Principal, not_found
from service.web.forms import optional_uuid
from service.web.kit import (
    Form,
    PageController,
    Reshow,
    Viewer,
    done_message,
    form_post,
    render,
    see_other,
)

DONE_MESSAGES = {"sent": N_("Your message has been sent.")}
LABELS = {"body": N_("Your message"), "member_id": N_("Who to"), "listing_id": N_("Listing")}
CODE_FIELDS = {"blocked": "body", "rate_limited": "body"}


class MessageForm(msgspec.Struct, kw_only=True):
    body: str = ""


class NewConversationForm(msgspec.Struct, kw_only=True):
    body: str = ""
    member_id: str = ""
    listing_id: str = ""
    exchange_id: str = ""


class MessagePages(PageController):
    opt = access(Access.MEMBER)
    path = "/messages"

    @get("/")
    async def inbox(self, viewer: Viewer) -> Template:
        return render(
            "messages/inbox.html",
            viewer=viewer,
            title=_("Messages"),
            current="messages",
            conversations=await selectors.conversations_of(viewer),
        )

    @get("/new")
    async def new_page(
        self,
        viewer: Viewer,
        member_id: FromQuery[uuid.UUID | None] = None,
        listing_id: FromQuery[uuid.UUID | None] = None,
        exchange_id: FromQuery[uuid.UUID | None] = None,
    ) -> Template:
        form = Form(
            values={
                "member_id": str(member_id or ""),
                "listing_id": str(listing_id or ""),
                "exchange_id": str(exchange_id or ""),
            }
        )
        return await _new_page(viewer, form)

    @post("/new")
    async def start(
        self, viewer: Viewer, data: URLEncodedBody[NewConversationForm], engine: EngineDep
    ) -> Response[Any]:
        async def write(_cleaned: dict[str, Any]) -> Response[Any]:
            # The service checks the body; the form's ids are ids or nothing.
            member_id = optional_uuid(data.member_id, "member_id")
            listing_id = optional_uuid(data.listing_id, "listing_id")
            exchange_id = optional_uuid(data.exchange_id, "exchange_id")
            other_id, _about = await selectors.conversation_recipient(
                viewer, member_id, listing_id, exchange_id
            )
            conversation_id = await services.conversation_start(
                engine=engine,
                actor=viewer,
                member_id=other_id,
                body=data.body,
                listing_id=listing_id,
                exchange_id=exchange_id,
            )
            return see_other(f"/messages/{conversation_id}", done="sent")

        async def reshow(form: Form, refused: Reshow) -> Response[Any]:
            return await _new_page(viewer, form, **refused)

        return await form_post(
            Form.of(data), data, {}, LABELS, write=write, reshow=reshow, code_fields=CODE_FIELDS
        )

    @get("/{conversation_id:uuid}")
    async def thread(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        conversation_id: FromPath[uuid.UUID],
        engine: EngineDep,
        done: FromQuery[str | None] = None,
    ) -> Template:
        await services.conversation_mark_read(
            engine=engine, actor=viewer, conversation_id=conversation_id
        )
        # The navigation was counted before this thread was read: count again.
        request.state.unread_messages = await selectors.unread_count_of(viewer)
        return await _thread_page(
            viewer, conversation_id, Form(), notice=done_message(DONE_MESSAGES, done)
        )

    @post("/{conversation_id:uuid}", opt=on_object("conversation", "conversation_id"))
    async def reply(
        self,
        viewer: Viewer,
        conversation_id: FromPath[uuid.UUID],
        data: URLEncodedBody[MessageForm],
        engine: EngineDep,
    ) -> Response[Any]:
        async def write(_cleaned: dict[str, Any]) -> Response[Any]:
            await services.message_send(
                engine=engine, actor=viewer, conversation_id=conversation_id, body=data.body
            )
            return see_other(f"/messages/{conversation_id}", done="sent")

        async def reshow(form: Form, refused: Reshow) -> Response[Any]:
            return await _thread_page(viewer, conversation_id, form, **refused)

        return await form_post(
            Form.of(data), data, {}, LABELS, write=write, reshow=reshow, code_fields=CODE_FIELDS
        )

    @post("/{conversation_id:uuid}/block", opt=on_object("conversation", "conversation_id"))
    async def block(
        self, viewer: Viewer, conversation_id: FromPath[uuid.UUID], engine: EngineDep
    ) -> Response[Any]:
        conversation = await selectors.conversation_of_participant(viewer, conversation_id)
        other_id = selectors.other_of(conversation, viewer.member_id)
        await block_add(engine=engine, actor=viewer, member_id=other_id)
        return see_other("/settings/blocked", done="blocked")


async def _new_page(
    viewer: Principal, form: Form, *, status: int = 200, headers: dict[str, str] | None = None
) -> Template:
    member_id = optional_uuid(form.values.get("member_id"), "member_id")
    listing_id = optional_uuid(form.values.get("listing_id"), "listing_id")
    exchange_id = optional_uuid(form.values.get("exchange_id"), "exchange_id")
    other_id, about = await selectors.conversation_recipient(
        viewer, member_id, listing_id, exchange_id
    )
    names = await selectors.names_of([other_id])
    if other_id not in names:
        raise not_found(_("That member"))
    return render(
        "messages/new.html",
        viewer=viewer,
        title=_("Message %(name)s") % {"name": names[other_id]},
        current="messages",
        status=status,
        headers=headers,
        form=form,
        other_name=names[other_id],
        about=about,
        body_max=MESSAGE_BODY_CHARS_MAX,
    )


async def _thread_page(
    viewer: Principal,
    conversation_id: uuid.UUID,
    form: Form,
    *,
    notice: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    conversation = await selectors.conversation_of_participant(viewer, conversation_id)
    other_id = selectors.other_of(conversation, viewer.member_id)
    names = await selectors.names_of([other_id])
    return render(
        "messages/thread.html",
        viewer=viewer,
        title=_("Conversation with %(name)s")
        % {"name": names.get(other_id) or _("a former member")},
        current="messages",
        status=status,
        headers=headers,
        form=form,
        notice=notice,
        conversation=conversation,
        other_id=other_id,
        other_name=names.get(other_id) or _("a former member"),
        messages=await selectors.messages_of(conversation_id),
        blocked=await has_blocked(viewer.member_id, other_id),
        body_max=MESSAGE_BODY_CHARS_MAX,
    )


PAGE_ROUTERS = [MessagePages]

__all__ = ["PAGE_ROUTERS"]
