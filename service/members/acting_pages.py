"""Pages for members who are not online: a coordinator adds them, acts for them and
stops acting; a member lets a coordinator act for them (issue 16, ADR 0031)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from service.errors import DomainError
from service.http.access import Access, access, on_object
from service.http.deps import EngineDep, LedgerDep
from service.i18n import _
from service.members import offline
from service.members.communities import communities_list, community_by_id
from service.members.forms import CHECKED
from service.members.offline_forms import (
    ACTING_DONE_MESSAGES,
    OFFLINE_MEMBER_LABELS,
    OFFLINE_MEMBER_RULES,
    ConsentForm,
    OfflineMemberForm,
)
from service.members.schemas import OfflineMemberIn
from service.members.selectors import communities_in_reach
from service.principal import Principal, require_any_coordinator
from service.web.kit import (
    Form,
    PageController,
    Viewer,
    done_message,
    form_refused,
    render,
    see_other,
    validate,
)


class OfflineMemberPages(PageController):
    opt = access(Access.COORDINATOR)
    path = "/coordinator/members"

    @get("/new")
    async def new_page(self, viewer: Viewer) -> Template:
        require_any_coordinator(viewer)
        return await _new_member_page(viewer, Form())

    @post("/new")
    async def create(
        self,
        viewer: Viewer,
        engine: EngineDep,
        ledger: LedgerDep,
        data: URLEncodedBody[OfflineMemberForm],
    ) -> Response[Any]:
        require_any_coordinator(viewer)
        form = Form.of(data)
        cleaned = validate(form, data, OFFLINE_MEMBER_RULES)
        if form.failed:
            return await _new_member_page(viewer, form, status=422)
        try:
            member = await offline.member_create_offline(
                engine=engine,
                ledger=ledger,
                actor=viewer,
                data=OfflineMemberIn(**cleaned),
            )
        except DomainError as problem:
            refused = form_refused(form, problem, OFFLINE_MEMBER_LABELS)
            return await _new_member_page(viewer, form, **refused)
        return see_other(f"/coordinator/members/{member.id}/act", done="created")

    @get("/{member_id:uuid}/act", opt=on_object("member", "member_id"))
    async def act_page(
        self, viewer: Viewer, member_id: FromPath[uuid.UUID], done: FromQuery[str | None] = None
    ) -> Template:
        require_any_coordinator(viewer)
        member = await offline.member_for_acting_page(actor=viewer, member_id=member_id)
        community = await community_by_id(member.community)
        return render(
            "members/act_for.html",
            viewer=viewer,
            title=_("Act for %(name)s") % {"name": member.display_name},
            current="coordinator",
            member=member,
            community=community,
            has_login=offline.has_login(member),
            may_act=offline.may_act_for(viewer, member),
            acting_now=viewer.acting_for_id == member.id,
            form=Form(),
            notice=done_message(ACTING_DONE_MESSAGES, done),
        )

    @post("/{member_id:uuid}/act", opt=on_object("member", "member_id"))
    async def start(
        self, viewer: Viewer, member_id: FromPath[uuid.UUID], engine: EngineDep
    ) -> Redirect:
        require_any_coordinator(viewer)
        await offline.acting_start(engine=engine, viewer=viewer, member_id=member_id)
        return see_other("/dashboard")


class ActingPages(PageController):
    """Any signed-in browser may leave acting mode (even once the coordinator role is gone)."""

    opt = access(Access.MEMBER)

    @post("/acting/stop")
    async def stop(self, viewer: Viewer, engine: EngineDep) -> Redirect:
        member_id = await offline.acting_stop(engine=engine, viewer=viewer)
        if member_id is None:
            return see_other("/dashboard")
        return see_other(f"/coordinator/members/{member_id}/act", done="stopped")

    @post("/profile/consent")
    async def consent(
        self, viewer: Viewer, engine: EngineDep, data: URLEncodedBody[ConsentForm]
    ) -> Redirect:
        allowed = data.coordinator_may_act == CHECKED
        await offline.consent_set(engine=engine, principal=viewer, allowed=allowed)
        return see_other("/profile", done="consent-on" if allowed else "consent-off")


async def _new_member_page(
    viewer: Principal,
    form: Form,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    communities = communities_in_reach(viewer, await communities_list())
    return render(
        "members/new_offline_member.html",
        viewer=viewer,
        title=_("Add a member who is not online"),
        current="coordinator",
        status=status,
        headers=headers,
        form=form,
        communities=communities,
    )


PAGE_ROUTERS = [OfflineMemberPages, ActingPages]
