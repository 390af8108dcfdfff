"""The members' HTML pages: join, sign in and out, dashboard, profile, data, closure,
approval by coordinators and the admin pages for communities and roles.

Handlers stay thin: read the form, check it against the API's own schema types,
call one service function, then render or redirect (POST-redirect-GET, with a
`done` flag that picks a fixed confirmation message). Every form carries the
CSRF token; errors are shown next to their field and listed at the top.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath, FromQuery, QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template

from service.disputes.services import dispute_notices_of
from service.exchanges import services as exchanges
from service.export import services as data_export
from service.http.deps import EngineDep, LedgerDep, LimiterDep, MaybePrincipal
from service.http.ratelimit import enforce
from service.limits import (
    DISPLAY_NAME_CHARS_MAX,
    EMAIL_CHARS_MAX,
    PAGE_SIZE_MAX,
    PASSWORD_CHARS_MAX,
    PASSWORD_CHARS_MIN,
    REASON_CHARS_MAX,
    REGISTER_PER_ADDRESS,
    SESSION_COOKIE_NAME,
    SKILLS_CHARS_MAX,
    WARD_CHARS_MAX,
)
from service.members import services
from service.members.controllers import client_address, limit_sign_in
from service.members.schemas import (
    AreaIn,
    CommunityIn,
    ProfilePatch,
    RegisterIn,
    RoleChangeIn,
    TokenIn,
)
from service.members.tables import Area, Community, Member, RoleGrant
from service.principal import Principal, not_found, require_admin, require_any_coordinator
from service.problems import Problem
from service.settings import Settings
from service.web.kit import (
    PAGE_DEPENDENCIES,
    Form,
    Rule,
    Viewer,
    form_refused,
    page_exception_handlers,
    render,
    safe_next,
    schema_type,
    see_other,
    show_problem,
    validate,
)

CHECKED = "yes"  # the value of every checkbox in these forms
DISPUTE_OUTCOME_WORDS = {
    "upheld": "the exchange stands",
    "reversed": "all the hours went back",
    "adjusted": "some of the hours went back",
}
EXPORT_MEDIA_TYPE = "application/json"

# Confirmations after a redirect: the query names one, the text is fixed here,
# so nothing from the address is ever echoed into the page.
DONE_MESSAGES = {
    "registered": "Your account is ready. Please sign in.",
    "registered-pending": "Your account is ready. You can sign in now; a coordinator "
    "will approve your membership soon.",
    "signed-out": "You have signed out. Thank you for visiting.",
    "profile-saved": "Your profile has been saved.",
    "approved": "Approved. Their welcome credit has been added to their account.",
    "area-created": "The area has been created.",
    "community-created": "The community has been created, with its accounts.",
    "role-granted": "The role has been granted. It is recorded in the audit log.",
    "role-revoked": "The role has been revoked. It is recorded in the audit log.",
}


def done_message(done: str | None) -> str | None:
    return DONE_MESSAGES.get(done or "")


def hours_text(minutes: int) -> str:
    """Whole minutes as people say them: "3 hours 30 minutes", "1 hour", "minus 45 minutes"."""
    hours, rest = divmod(abs(minutes), 60)
    parts = []
    if hours or not rest:
        parts.append(f"{hours} hour{'' if hours == 1 else 's'}")
    if rest:
        parts.append(f"{rest} minute{'' if rest == 1 else 's'}")
    return ("minus " if minutes < 0 else "") + " ".join(parts)


def _settings(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _session_cookie(request: Request[Any, Any, Any], value: str, *, max_age: int | None) -> Cookie:
    # No Max-Age while signed in: the cookie goes when the browser closes (a
    # shared computer signs out by itself); the server ends the session anyway
    # after SESSION_IDLE_SECONDS idle or SESSION_ABSOLUTE_SECONDS in all.
    return Cookie(
        key=SESSION_COOKIE_NAME,
        value=value,
        path="/",
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=_settings(request).is_https,
    )


# Forms as posted: every field a string, so a bad value is shown, never a 400. ------


class RegisterForm(msgspec.Struct, kw_only=True):
    email: str = ""
    password: str = ""
    display_name: str = ""
    community: str = ""
    ward: str = ""
    birth_year: str = ""
    consent: str = ""


class SignInForm(msgspec.Struct, kw_only=True):
    email: str = ""
    password: str = ""
    next_path: str = msgspec.field(default="", name="next")


class ProfileForm(msgspec.Struct, kw_only=True):
    display_name: str = ""
    ward: str = ""
    skills: str = ""
    birth_year: str = ""


class AreaForm(msgspec.Struct, kw_only=True):
    name: str = ""
    slug: str = ""


class CommunityForm(msgspec.Struct, kw_only=True):
    name: str = ""
    slug: str = ""
    area: str = ""
    requires_approval: str = ""
    welcome_credit_minutes: str = ""


class RoleForm(msgspec.Struct, kw_only=True):
    member: str = ""
    action: str = ""
    role: str = ""
    community: str = ""
    area: str = ""
    reason: str = ""


BIRTH_YEAR_MESSAGE = "Enter the year you were born as 4 digits, like 1950, or leave it blank"

REGISTER_RULES = {
    "email": Rule(
        schema_type(RegisterIn, "email"),
        "Enter an email address in the right format, like name@example.org",
    ),
    "password": Rule(
        schema_type(RegisterIn, "password"),
        f"Enter a password of {PASSWORD_CHARS_MIN} to {PASSWORD_CHARS_MAX} characters",
        strip=False,
    ),
    "display_name": Rule(
        schema_type(RegisterIn, "display_name"),
        f"Enter your name, in {DISPLAY_NAME_CHARS_MAX} characters or fewer",
    ),
    "community": Rule(schema_type(RegisterIn, "community"), "Choose your time bank from the list"),
    "ward": Rule(
        schema_type(RegisterIn, "ward"),
        f"Enter your neighbourhood in {WARD_CHARS_MAX} characters or fewer",
    ),
    "birth_year": Rule(schema_type(RegisterIn, "birth_year"), BIRTH_YEAR_MESSAGE, optional=True),
}
REGISTER_LABELS = {
    "email": "Email address",
    "password": "Password",
    "display_name": "Your name",
    "community": "Time bank",
    "ward": "Neighbourhood or ward",
    "birth_year": "Year of birth",
    "consent": "Privacy notice",
}

PROFILE_RULES = {
    "display_name": REGISTER_RULES["display_name"],
    "ward": REGISTER_RULES["ward"],
    "skills": Rule(
        schema_type(ProfilePatch, "skills"),
        f"Describe what you can help with in {SKILLS_CHARS_MAX} characters or fewer",
    ),
    "birth_year": Rule(schema_type(ProfilePatch, "birth_year"), BIRTH_YEAR_MESSAGE, optional=True),
}
PROFILE_LABELS = {
    "display_name": "Your name",
    "ward": "Neighbourhood or ward",
    "skills": "What you can help with",
    "birth_year": "Year of birth",
}

SLUG_MESSAGE = "Enter a short name of 2 to 60 lowercase letters, digits and single hyphens"
AREA_RULES = {
    "name": Rule(schema_type(AreaIn, "name"), "Enter the area's name, in 100 characters or fewer"),
    "slug": Rule(schema_type(AreaIn, "slug"), SLUG_MESSAGE),
}
AREA_LABELS = {"name": "Area name", "slug": "Short name"}

COMMUNITY_RULES = {
    "name": Rule(
        schema_type(CommunityIn, "name"), "Enter the community's name, in 100 characters or fewer"
    ),
    "slug": Rule(schema_type(CommunityIn, "slug"), SLUG_MESSAGE),
    "area": Rule(schema_type(CommunityIn, "area"), "Choose the council area"),
    "welcome_credit_minutes": Rule(
        schema_type(CommunityIn, "welcome_credit_minutes"),
        "Enter the welcome credit as a whole number of minutes, from 0 to 6000",
    ),
}
COMMUNITY_LABELS = {
    "name": "Community name",
    "slug": "Short name",
    "area": "Council area",
    "requires_approval": "Approval",
    "welcome_credit_minutes": "Welcome credit",
}

ROLE_RULES = {
    "action": Rule(schema_type(RoleChangeIn, "action"), "Choose whether to grant or revoke"),
    "role": Rule(schema_type(RoleChangeIn, "role"), "Choose a role"),
    "community": Rule(
        schema_type(RoleChangeIn, "community"), "Choose a community from the list", optional=True
    ),
    "area": Rule(schema_type(RoleChangeIn, "area"), "Choose an area from the list", optional=True),
    "reason": Rule(
        schema_type(RoleChangeIn, "reason"),
        f"Enter the reason, in {REASON_CHARS_MAX} characters or fewer",
    ),
}
ROLE_NAMES = {"coordinator": "Coordinator", "council": "Council viewer", "admin": "Admin"}
ROLE_LABELS = {
    "member": "Member",
    "action": "Grant or revoke",
    "role": "Role",
    "community": "Community",
    "area": "Council area",
    "reason": "Reason",
}


# Joining, signing in and out ---------------------------------------------------------


class AuthPages(Controller):
    """Pages anyone may open."""

    include_in_schema = False
    exception_handlers = page_exception_handlers()

    @get("/register")
    async def register_page(self, principal: MaybePrincipal) -> Template:
        return await _register_page(principal, Form())

    @post("/register")
    async def register(
        self,
        *,
        request: Request[Any, Any, Any],
        data: URLEncodedBody[RegisterForm],
        principal: MaybePrincipal,
        engine: EngineDep,
        ledger: LedgerDep,
        limiter: LimiterDep,
    ) -> Response[Any]:
        form = Form.of(data, secret=("password",))
        cleaned = validate(form, data, REGISTER_RULES)
        if data.consent != CHECKED:
            form.errors["consent"] = "Tick the box to agree to the privacy notice"
        if form.failed:
            return await _register_page(principal, form, status=422)
        try:
            key = f"register:address:{client_address(request)}"
            await enforce(limiter, key, REGISTER_PER_ADDRESS)
            member = await services.member_register(
                engine=engine, ledger=ledger, data=RegisterIn(**cleaned, consent=True)
            )
        except Problem as problem:
            reshow = form_refused(
                form,
                problem,
                REGISTER_LABELS,
                code_fields={"email_taken": "email", "consent_required": "consent"},
            )
            return await _register_page(principal, form, **reshow)
        done = "registered-pending" if member.status == "pending" else "registered"
        return see_other("/sign-in", done=done)

    @get("/sign-in")
    async def sign_in_page(
        self,
        principal: MaybePrincipal,
        next_path: Annotated[str | None, QueryParameter(name="next")] = None,
        done: FromQuery[str | None] = None,
    ) -> Template:
        form = Form(values={"next_path": next_path or ""})
        return _sign_in_page(principal, form, notice=done_message(done))

    @post("/sign-in")
    async def sign_in(
        self,
        request: Request[Any, Any, Any],
        data: URLEncodedBody[SignInForm],
        principal: MaybePrincipal,
        limiter: LimiterDep,
    ) -> Response[Any]:
        form = Form.of(data, secret=("password",))
        if not data.email.strip():
            form.errors["email"] = "Enter your email address"
        if not data.password:
            form.errors["password"] = "Enter your password"  # noqa: S105 - a message
        if form.failed:
            return _sign_in_page(principal, form, status=422)
        try:
            await limit_sign_in(limiter, request, data.email[:EMAIL_CHARS_MAX])
            # Too long to be anyone's: answered like a wrong password, without hashing.
            credentials = msgspec.convert({"email": data.email, "password": data.password}, TokenIn)
            member = await services.authenticate(
                email=credentials.email, password=credentials.password
            )
        except msgspec.ValidationError:
            form.general.append("That email and password do not match an account.")
            return _sign_in_page(principal, form, status=422)
        except Problem as problem:
            return _sign_in_page(principal, form, **form_refused(form, problem, {}))
        issued = await services.session_create(
            member=member, replacing_token=request.cookies.get(SESSION_COOKIE_NAME)
        )
        response = Redirect(safe_next(data.next_path), status_code=303)
        response.set_cookie(_session_cookie(request, issued.token, max_age=None))
        return response

    @get("/sign-out")
    async def sign_out_page(self, principal: MaybePrincipal) -> Template:
        """A page with the sign-out button, for when the one in the navigation cannot be used."""
        return render("members/sign_out.html", viewer=principal, title="Sign out")

    @post("/sign-out")
    async def sign_out(self, request: Request[Any, Any, Any]) -> Redirect:
        token = request.cookies.get(SESSION_COOKIE_NAME)
        if token:
            await services.session_end(token=token)
        response = see_other("/sign-in", done="signed-out")
        response.set_cookie(_session_cookie(request, "", max_age=0))
        return response

    @get("/privacy")
    async def privacy(self, principal: MaybePrincipal) -> Template:
        return render("members/privacy.html", viewer=principal, title="Privacy notice")

    @get("/account/closed")
    async def closed(self, principal: MaybePrincipal) -> Template:
        return render("members/closed.html", viewer=principal, title="Your account is closed")


async def _register_page(
    viewer: Principal | None,
    form: Form,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    communities = await services.communities_list()
    if not form.values.get("community") and len(communities) == 1:
        form.values["community"] = communities[0].slug
    return render(
        "members/register.html",
        viewer=viewer,
        title="Join your time bank",
        current="register",
        status=status,
        headers=headers,
        form=form,
        community_options=[(community.slug, community.name) for community in communities],
    )


def _sign_in_page(
    viewer: Principal | None,
    form: Form,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    notice: str | None = None,
) -> Template:
    return render(
        "members/sign_in.html",
        viewer=viewer,
        title="Sign in",
        current="sign-in",
        status=status,
        headers=headers,
        form=form,
        notice=notice,
    )


# A signed-in member's own pages -------------------------------------------------------


class MemberPages(Controller):
    include_in_schema = False
    dependencies = PAGE_DEPENDENCIES
    exception_handlers = page_exception_handlers()

    @get("/dashboard")
    async def dashboard(self, viewer: Viewer, ledger: LedgerDep) -> Template:
        account = await services.account_of(ledger=ledger, principal=viewer)
        community = await services.community_by_id(viewer.community_id)
        notice_count, notices = await exchanges.notices_of(actor=viewer)
        below_floor = account["below_floor_minutes"]
        return render(
            "members/dashboard.html",
            viewer=viewer,
            title="Your dashboard",
            current="dashboard",
            community=community,
            balance=hours_text(account["balance_minutes"]),
            balance_negative=account["balance_minutes"] < 0,
            available=hours_text(account["available_minutes"]),
            on_hold=hours_text(account["pending_minutes"]),
            welcome_credit=hours_text(community.welcome_credit_minutes),
            notice_count=notice_count,
            notices=[
                {
                    "id": notice.exchange.id,
                    "to_confirm": notice.kind == "exchange_to_confirm",
                    "provider": notice.provider_name,
                    "description": notice.exchange.description,
                    "hours": hours_text(notice.exchange.minutes),
                }
                for notice in notices
            ],
            below_floor=hours_text(below_floor) if below_floor else None,
            disputes=[
                {
                    "id": item.dispute.id,
                    "open": item.dispute.status == "open",
                    "mine": item.dispute.opened_by == viewer.member_id,
                    "outcome": DISPUTE_OUTCOME_WORDS.get(item.dispute.outcome or "", ""),
                    "description": item.exchange.description,
                }
                for item in await dispute_notices_of(actor=viewer)
            ],
        )

    @get("/profile")
    async def profile_page(self, viewer: Viewer, done: FromQuery[str | None] = None) -> Template:
        member = await services.member_by_id(viewer.member_id)
        form = Form(
            values={
                "display_name": member.display_name,
                "ward": member.ward,
                "skills": member.skills,
                "birth_year": "" if member.birth_year is None else str(member.birth_year),
            }
        )
        return await _profile_page(viewer, form, notice=done_message(done))

    @post("/profile")
    async def profile_save(
        self, viewer: Viewer, data: URLEncodedBody[ProfileForm]
    ) -> Response[Any]:
        form = Form.of(data)
        cleaned = validate(form, data, PROFILE_RULES)
        if form.failed:
            return await _profile_page(viewer, form, status=422)
        try:
            await services.profile_update(principal=viewer, patch=ProfilePatch(**cleaned))
        except Problem as problem:
            return await _profile_page(viewer, form, **form_refused(form, problem, PROFILE_LABELS))
        return see_other("/profile", done="profile-saved")

    @get("/profile/export")
    async def export(self, viewer: Viewer, ledger: LedgerDep) -> Response[bytes]:
        data = await data_export.member_export(ledger=ledger, principal=viewer)
        day = datetime.now(UTC).date().isoformat()
        return Response(
            content=msgspec.json.encode(data),
            media_type=EXPORT_MEDIA_TYPE,
            headers={
                "Content-Disposition": f'attachment; filename="timebank-my-data-{day}.json"',
                "Cache-Control": "no-store",
            },
        )

    @get("/account/close")
    async def close_page(self, viewer: Viewer, ledger: LedgerDep) -> Template:
        account = await services.account_of(ledger=ledger, principal=viewer)
        community = await services.community_by_id(viewer.community_id)
        return render(
            "members/close.html",
            viewer=viewer,
            title="Close your account",
            current="profile",
            community=community,
            balance_minutes=account["balance_minutes"],
            balance=hours_text(account["balance_minutes"]),
        )

    @post("/account/close")
    async def close(
        self, request: Request[Any, Any, Any], viewer: Viewer, engine: EngineDep, ledger: LedgerDep
    ) -> Redirect:
        await services.member_close(engine=engine, ledger=ledger, principal=viewer)
        response = see_other("/account/closed")
        response.set_cookie(_session_cookie(request, "", max_age=0))
        return response


async def _profile_page(
    viewer: Principal,
    form: Form,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    notice: str | None = None,
) -> Template:
    member = await services.member_by_id(viewer.member_id)
    community = await services.community_by_id(member.community)
    return render(
        "members/profile.html",
        viewer=viewer,
        title="Your profile",
        current="profile",
        status=status,
        headers=headers,
        form=form,
        member=member,
        community=community,
        notice=notice,
    )


# Coordinators ----------------------------------------------------------------------------


class CoordinatorPages(Controller):
    path = "/coordinator"
    include_in_schema = False
    dependencies = PAGE_DEPENDENCIES
    exception_handlers = page_exception_handlers()

    @get("/members")
    async def pending(
        self,
        viewer: Viewer,
        community: FromQuery[str | None] = None,
        done: FromQuery[str | None] = None,
    ) -> Template:
        require_any_coordinator(viewer)
        choices = _coordinated(viewer, await services.communities_list())
        selected = _selected_community(choices, community)
        members = (
            await services.pending_members(actor=viewer, community_id=selected.id)
            if selected
            else []
        )
        return render(
            "members/coordinator_members.html",
            viewer=viewer,
            title="Members waiting for approval",
            current="coordinator",
            choices=choices,
            selected=selected,
            members=members,
            notice=done_message(done),
        )

    @post("/members/{member_id:uuid}/approve")
    async def approve(
        self, viewer: Viewer, member_id: FromPath[uuid.UUID], engine: EngineDep, ledger: LedgerDep
    ) -> Redirect:
        require_any_coordinator(viewer)
        approved = await services.member_approve(
            engine=engine, ledger=ledger, actor=viewer, member_id=member_id
        )
        community = await services.community_by_id(approved.community)
        return see_other("/coordinator/members", community=community.slug, done="approved")


def _coordinated(viewer: Principal, communities: list[Community]) -> list[Community]:
    """The communities whose members the viewer may approve, their own coordinated ones first."""
    allowed = [c for c in communities if viewer.is_admin or viewer.coordinates(c.id)]
    return sorted(allowed, key=lambda c: not viewer.coordinates(c.id))


def _selected_community(choices: list[Community], slug: str | None) -> Community | None:
    if slug is None:
        return choices[0] if choices else None
    for community in choices:
        if community.slug == slug:
            return community
    raise not_found("That community")


# Admins -------------------------------------------------------------------------------------


class AdminPages(Controller):
    path = "/admin"
    include_in_schema = False
    dependencies = PAGE_DEPENDENCIES
    exception_handlers = page_exception_handlers()

    @get("/communities")
    async def communities(self, viewer: Viewer, done: FromQuery[str | None] = None) -> Template:
        require_admin(viewer)
        return await _communities_page(viewer, notice=done_message(done))

    @post("/areas")
    async def create_area(
        self, viewer: Viewer, data: URLEncodedBody[AreaForm], engine: EngineDep
    ) -> Response[Any]:
        require_admin(viewer)
        form = Form.of(data, prefix="area-")
        cleaned = validate(form, data, AREA_RULES)
        if not form.failed:
            try:
                await services.area_create(engine=engine, actor=viewer, data=AreaIn(**cleaned))
            except Problem as problem:
                show_problem(form, problem, AREA_LABELS, code_fields={"slug_taken": "slug"})
            else:
                return see_other("/admin/communities", done="area-created")
        return await _communities_page(viewer, area_form=form, status=422)

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
                await services.community_create(
                    engine=engine, ledger=ledger, actor=viewer, data=community_in
                )
            except Problem as problem:
                show_problem(
                    form,
                    problem,
                    COMMUNITY_LABELS,
                    code_fields={"slug_taken": "slug", "unknown_area": "area"},
                )
            else:
                return see_other("/admin/communities", done="community-created")
        return await _communities_page(viewer, community_form=form, status=422)

    @get("/roles")
    async def roles(self, viewer: Viewer, done: FromQuery[str | None] = None) -> Template:
        require_admin(viewer)
        return await _roles_page(
            viewer, Form(values={"action": "grant"}), notice=done_message(done)
        )

    @post("/roles")
    async def change_role(
        self, viewer: Viewer, data: URLEncodedBody[RoleForm], engine: EngineDep
    ) -> Response[Any]:
        require_admin(viewer)
        form = Form.of(data)
        cleaned = validate(form, data, ROLE_RULES)
        member_id = await _member_id_of(data.member)
        if member_id is None:
            form.errors["member"] = "Enter the email address or id of a member"
        if form.failed or member_id is None:
            return await _roles_page(viewer, form, status=422)
        try:
            await services.role_change(
                engine=engine, actor=viewer, member_id=member_id, change=RoleChangeIn(**cleaned)
            )
        except Problem as problem:
            reshow = form_refused(form, problem, ROLE_LABELS, code_fields={"not_found": "member"})
            return await _roles_page(viewer, form, **reshow)
        done = "role-granted" if cleaned["action"] == "grant" else "role-revoked"
        return see_other("/admin/roles", done=done)


async def _communities_page(
    viewer: Principal,
    *,
    area_form: Form | None = None,
    community_form: Form | None = None,
    status: int = 200,
    notice: str | None = None,
) -> Template:
    areas = await Area.objects().order_by(Area.name).run()
    area_names = {area.id: area.name for area in areas}
    communities = await services.communities_list()
    failed = area_form if area_form is not None else community_form
    return render(
        "members/admin_communities.html",
        viewer=viewer,
        title="Communities and areas",
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


async def _roles_page(
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
        title="Roles",
        current="admin",
        status=status,
        headers=headers,
        notice=notice,
        form=form,
        community_choices=[(c.slug, c.name) for c in await services.communities_list()],
        area_choices=[(a.slug, a.name) for a in await Area.objects().order_by(Area.name).run()],
        holders=await _role_holders(),
        role_names=ROLE_NAMES,
    )


async def _member_id_of(member: str) -> uuid.UUID | None:
    """A member named by id or by email address (admins only: it tells that an account exists)."""
    text = member.strip()
    if not text or len(text) > EMAIL_CHARS_MAX:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        pass
    row = (
        await Member.select(Member.id)
        .where(Member.email == services.normalise_email(text))
        .first()
        .run()
    )
    return None if row is None else uuid.UUID(str(row["id"]))


async def _role_holders() -> list[dict[str, Any]]:
    """Live role grants with who holds them, for the admin roles page."""
    rows: list[dict[str, Any]] = (
        await RoleGrant.select(
            RoleGrant.member.display_name.as_alias("name"),
            RoleGrant.member.email.as_alias("email"),
            RoleGrant.role,
            RoleGrant.community.name.as_alias("community"),
            RoleGrant.area.name.as_alias("area"),
            RoleGrant.reason,
            RoleGrant.granted_at,
        )
        .where(RoleGrant.revoked_at.is_null())
        .order_by(RoleGrant.granted_at)
        .limit(PAGE_SIZE_MAX)
        .run()
    )
    return rows


PAGE_ROUTERS = [AuthPages, MemberPages, CoordinatorPages, AdminPages]
