"""A coordinator sends a member without a login an invitation to choose a password."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Response, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template

from service.http.access import Access, access, on_object
from service.http.deps import EngineDep
from service.i18n import N_, _
from service.principal import Principal
from service.recovery import services
from service.recovery.schemas import InvitationIn
from service.web.kit import (
    Form,
    PageController,
    Reshow,
    Rule,
    Viewer,
    form_post,
    render,
    schema_type,
    see_other,
)


class InvitationForm(msgspec.Struct, kw_only=True):
    email: str = ""


INVITATION_RULES = {
    "email": Rule(
        schema_type(InvitationIn, "email"),
        N_("Enter an email address in the right format, like name@example.org"),
    ),
}
INVITATION_LABELS = {"email": N_("Their email address")}


class InvitationPages(PageController):
    opt = access(Access.COORDINATOR)
    path = "/coordinator/members"

    @post("/{member_id:uuid}/invitation", opt=on_object("member", "member_id"))
    async def invite(
        self,
        viewer: Viewer,
        member_id: FromPath[uuid.UUID],
        engine: EngineDep,
        data: URLEncodedBody[InvitationForm],
    ) -> Response[Any]:
        member = await services.member_for_coordinator(actor=viewer, member_id=member_id)

        async def write(cleaned: dict[str, Any]) -> Response[Any]:
            await services.member_invite(
                engine=engine, actor=viewer, member_id=member_id, email=cleaned["email"]
            )
            return see_other(f"/coordinator/members/{member_id}/act", done="invited")

        async def reshow(form: Form, refused: Reshow) -> Response[Any]:
            return _page(viewer, form, member.id, member.display_name, **refused)

        return await form_post(
            Form.of(data), data, INVITATION_RULES, INVITATION_LABELS, write=write, reshow=reshow
        )


def _page(
    viewer: Principal,
    form: Form,
    member_id: uuid.UUID,
    name: str,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    return render(
        "recovery/invite.html",
        viewer=viewer,
        title=_("Invite %(name)s to sign in") % {"name": name},
        current="coordinator",
        status=status,
        headers=headers,
        form=form,
        member_id=member_id,
        name=name,
    )


PAGE_ROUTERS = [InvitationPages]
