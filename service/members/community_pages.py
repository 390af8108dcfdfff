"""Coordinators approve members; admins set up areas, communities and roles: the pages."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from service.errors import DomainError
from service.http.access import Access, access
from service.http.deps import EngineDep, LedgerDep
from service.i18n import _
from service.members import roles as members_roles
from service.members import selectors
from service.members.communities import (
    area_create,
    communities_list,
    community_by_id,
    community_create,
)
from service.members.forms import (
    AREA_LABELS,
    AREA_RULES,
    CHECKED,
    COMMUNITY_LABELS,
    COMMUNITY_RULES,
    DONE_MESSAGES,
    ROLE_LABELS,
    ROLE_NAMES,
    ROLE_RULES,
    AreaForm,
    CommunityForm,
    RoleForm,
)
from service.members.registration import member_approve
from service.members.schemas import (
    AreaIn,
    CommunityIn,
    RoleChangeIn,
)
from service.members.selectors import member_id_of, role_holders
from service.principal import Principal, require_admin, require_any_coordinator
from service.web.kit import (
    Form,
    PageController,
    Viewer,
    done_message,
    form_refused,
    render,
    see_other,
    show_problem,
    validate,
)


class CoordinatorPages(PageController):
    opt = access(Access.COORDINATOR)
    path = "/coordinator"

    @post("/members/{member_id:uuid}/approve")
    async def approve(
        self, viewer: Viewer, member_id: FromPath[uuid.UUID], engine: EngineDep, ledger: LedgerDep
    ) -> Redirect:
        require_any_coordinator(viewer)
        approved = await member_approve(
            engine=engine, ledger=ledger, actor=viewer, member_id=member_id
        )
        community = await community_by_id(approved.community)
        return see_other("/coordinator/members", community=community.slug, done="approved")


class AdminPages(PageController):
    opt = access(Access.ADMIN)
    path = "/admin"

    @get("/communities")
    async def communities(self, viewer: Viewer, done: FromQuery[str | None] = None) -> Template:
        require_admin(viewer)
        return await communities_page(viewer, notice=done_message(DONE_MESSAGES, done))

    @post("/areas")
    async def create_area(
        self, viewer: Viewer, data: URLEncodedBody[AreaForm], engine: EngineDep
    ) -> Response[Any]:
        require_admin(viewer)
        form = Form.of(data, prefix="area-")
        cleaned = validate(form, data, AREA_RULES)
        if not form.failed:
            try:
                await area_create(engine=engine, actor=viewer, data=AreaIn(**cleaned))
            except DomainError as problem:
                show_problem(form, problem, AREA_LABELS, code_fields={"slug_taken": "slug"})
            else:
                return see_other("/admin/communities", done="area-created")
        return await communities_page(viewer, area_form=form, status=422)

    @post("/communities")
    async def create_community(
        self,
        viewer: Viewer,
        data: URLEncodedBody[CommunityForm],
        engine: EngineDep,
        ledger: LedgerDep,
    ) -> Response[Any]:
        require_admin(viewer)
        form = Form.of(data, prefix="community-")
        cleaned = validate(form, data, COMMUNITY_RULES)
        if not form.failed:
            community_in = CommunityIn(
                **cleaned, requires_approval=data.requires_approval == CHECKED
            )
            try:
                await community_create(
                    engine=engine, ledger=ledger, actor=viewer, data=community_in
                )
            except DomainError as problem:
                show_problem(
                    form,
                    problem,
                    COMMUNITY_LABELS,
                    code_fields={"slug_taken": "slug", "unknown_area": "area"},
                )
            else:
                return see_other("/admin/communities", done="community-created")
        return await communities_page(viewer, community_form=form, status=422)

    @get("/roles")
    async def roles(self, viewer: Viewer, done: FromQuery[str | None] = None) -> Template:
        require_admin(viewer)
        return await roles_page(
            viewer, Form(values={"action": "grant"}), notice=done_message(DONE_MESSAGES, done)
        )

    @post("/roles")
    async def change_role(
        self, viewer: Viewer, data: URLEncodedBody[RoleForm], engine: EngineDep
    ) -> Response[Any]:
        require_admin(viewer)
        form = Form.of(data)
        cleaned = validate(form, data, ROLE_RULES)
        member_id = await member_id_of(data.member)
        if member_id is None:
            form.errors["member"] = _("Enter the email address or id of a member")
        if form.failed or member_id is None:
            return await roles_page(viewer, form, status=422)
        try:
            await members_roles.role_change(
                engine=engine, actor=viewer, member_id=member_id, change=RoleChangeIn(**cleaned)
            )
        except DomainError as problem:
            reshow = form_refused(form, problem, ROLE_LABELS, code_fields={"not_found": "member"})
            return await roles_page(viewer, form, **reshow)
        done = "role-granted" if cleaned["action"] == "grant" else "role-revoked"
        return see_other("/admin/roles", done=done)


async def communities_page(
    viewer: Principal,
    *,
    area_form: Form | None = None,
    community_form: Form | None = None,
    status: int = 200,
    notice: str | None = None,
) -> Template:
    areas = await selectors.areas_list()
    area_names = {area.id: area.name for area in areas}
    communities = await communities_list()
    failed = area_form if area_form is not None else community_form
    return render(
        "members/admin_communities.html",
        viewer=viewer,
        title=_("Communities and areas"),
        current="admin",
        status=status,
        notice=notice,
        areas=areas,
        area_choices=[(area.slug, area.name) for area in areas],
        communities=[(community, area_names.get(community.area, "")) for community in communities],
        area_form=area_form or Form(prefix="area-"),
        community_form=community_form
        or Form(values={"welcome_credit_minutes": "120"}, prefix="community-"),
        failed_form=failed,
    )


async def roles_page(
    viewer: Principal,
    form: Form,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    notice: str | None = None,
) -> Template:
    return render(
        "members/admin_roles.html",
        viewer=viewer,
        title=_("Roles"),
        current="admin",
        status=status,
        headers=headers,
        notice=notice,
        form=form,
        community_choices=[(c.slug, c.name) for c in await communities_list()],
        area_choices=[(a.slug, a.name) for a in await selectors.areas_list()],
        holders=await role_holders(),
        role_names=ROLE_NAMES,
    )


PAGE_ROUTERS = [CoordinatorPages, AdminPages]
