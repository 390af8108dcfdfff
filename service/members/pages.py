"""The members' HTML pages: join, sign in and out, dashboard, profile, data, closure,
approval by coordinators and the admin pages for communities and roles.

Handlers stay thin: read the form, check it against the API's own schema types,
call one service function, then render or redirect (POST-redirect-GET, with a
`done` flag that picks a fixed confirmation message). Every form carries the
CSRF token; errors are shown next to their field and listed at the top.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromQuery, QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template

from service.errors import DomainError
from service.formatting import minutes_text
from service.http.access import Access, access
from service.http.client import client_address
from service.http.deps import EngineDep, LedgerDep, LimiterDep, MaybePrincipal
from service.http.ratelimit import enforce
from service.i18n import DEFAULT_LANGUAGE, LANGUAGE_COOKIE, _, is_language
from service.limits import (
    EMAIL_CHARS_MAX,
    LANGUAGE_COOKIE_SECONDS,
    REGISTER_PER_ADDRESS,
    SESSION_COOKIE_NAME,
)
from service.members import closure as members_closure
from service.members import services
from service.members.communities import communities_list, community_by_id
from service.members.forms import (
    CHECKED,
    DONE_MESSAGES,
    PROFILE_LABELS,
    PROFILE_RULES,
    REGISTER_LABELS,
    REGISTER_RULES,
    LanguageForm,
    ProfileForm,
    RegisterForm,
    SignInForm,
)
from service.members.registration import member_apply_again, member_register
from service.members.schemas import (
    ProfilePatch,
    RegisterIn,
    TokenIn,
)
from service.members.sessions import session_create, session_end
from service.members.sign_in_limits import sign_in_checked, sign_in_counter, sign_in_failed
from service.principal import Principal
from service.settings import Settings
from service.web.kit import (
    Form,
    PageController,
    Viewer,
    done_message,
    form_refused,
    page_exception_handlers,
    render,
    safe_next,
    see_other,
    validate,
)


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


def _language_cookie(request: Request[Any, Any, Any], language: str) -> Cookie:
    return Cookie(
        key=LANGUAGE_COOKIE,
        value=language,
        path="/",
        max_age=LANGUAGE_COOKIE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=_settings(request).is_https,
    )


# Forms as posted: every field a string, so a bad value is shown, never a 400. ------


# Joining, signing in and out ---------------------------------------------------------


class AuthPages(Controller):
    """Pages anyone may open."""

    opt = access(Access.PUBLIC)

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
            form.errors["consent"] = _("Tick the box to agree to the privacy notice")
        if form.failed:
            return await _register_page(principal, form, status=422)
        try:
            key = f"register:address:{client_address(request)}"
            await enforce(limiter, key, REGISTER_PER_ADDRESS)
            member = await member_register(
                engine=engine, ledger=ledger, data=RegisterIn(**cleaned, consent=True)
            )
        except DomainError as problem:
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
        return _sign_in_page(principal, form, notice=done_message(DONE_MESSAGES, done))

    @post("/sign-in")
    async def sign_in(
        self,
        request: Request[Any, Any, Any],
        data: URLEncodedBody[SignInForm],
        principal: MaybePrincipal,
    ) -> Response[Any]:
        form = Form.of(data, secret=("password",))
        if not data.email.strip():
            form.errors["email"] = _("Enter your email address")
        if not data.password:
            form.errors["password"] = _("Enter your password")
        if form.failed:
            return _sign_in_page(principal, form, status=422)
        counter, address = sign_in_counter(request), client_address(request)
        try:
            try:
                credentials = msgspec.convert(
                    {"email": data.email, "password": data.password}, TokenIn
                )
            except msgspec.ValidationError:
                # Too long to be anyone's: a failure like a wrong password, without hashing.
                await sign_in_failed(
                    counter=counter, address=address, email=data.email[:EMAIL_CHARS_MAX]
                )
                form.general.append(_("That email and password do not match an account."))
                return _sign_in_page(principal, form, status=422)
            member = await sign_in_checked(
                counter=counter,
                address=address,
                email=credentials.email,
                password=credentials.password,
            )
        except DomainError as problem:
            return _sign_in_page(principal, form, **form_refused(form, problem, {}))
        issued = await session_create(
            member=member, replacing_token=request.cookies.get(SESSION_COOKIE_NAME)
        )
        response = Redirect(safe_next(data.next_path), status_code=303)
        response.set_cookie(_session_cookie(request, issued.token, max_age=None))
        if is_language(member.language):
            # This browser follows the member's choice, on public pages too, after they leave.
            response.set_cookie(_language_cookie(request, str(member.language)))
        return response

    @get("/sign-out")
    async def sign_out_page(self, principal: MaybePrincipal) -> Template:
        """A page with the sign-out button, for when the one in the navigation cannot be used."""
        return render("members/sign_out.html", viewer=principal, title=_("Sign out"))

    @post("/sign-out")
    async def sign_out(self, request: Request[Any, Any, Any]) -> Redirect:
        token = request.cookies.get(SESSION_COOKIE_NAME)
        if token:
            await session_end(token=token)
        response = see_other("/sign-in", done="signed-out")
        response.set_cookie(_session_cookie(request, "", max_age=0))
        return response

    @get("/privacy")
    async def privacy(self, principal: MaybePrincipal) -> Template:
        return render("members/privacy.html", viewer=principal, title=_("Privacy notice"))

    @get("/account/closed")
    async def closed(self, principal: MaybePrincipal) -> Template:
        return render("members/closed.html", viewer=principal, title=_("Your account is closed"))


async def _register_page(
    viewer: Principal | None,
    form: Form,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    communities = await communities_list()
    if not form.values.get("community") and len(communities) == 1:
        form.values["community"] = communities[0].slug
    return render(
        "members/register.html",
        viewer=viewer,
        title=_("Join your time bank"),
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
        title=_("Sign in"),
        current="sign-in",
        status=status,
        headers=headers,
        form=form,
        notice=notice,
    )


# A signed-in member's own pages -------------------------------------------------------


class MemberPages(PageController):
    opt = access(Access.MEMBER)

    @get("/profile")
    async def profile_page(self, viewer: Viewer, done: FromQuery[str | None] = None) -> Template:
        member = await services.member_by_id(viewer.member_id)
        form = Form(
            values={
                "display_name": member.display_name,
                "ward": member.ward,
                "skills": member.skills,
                "help_wanted": member.help_wanted,
                "birth_year": "" if member.birth_year is None else str(member.birth_year),
            }
        )
        return await _profile_page(viewer, form, notice=done_message(DONE_MESSAGES, done))

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
        except DomainError as problem:
            return await _profile_page(viewer, form, **form_refused(form, problem, PROFILE_LABELS))
        return see_other("/profile", done="profile-saved")

    @post("/membership/apply-again")
    async def apply_again(self, viewer: Viewer, engine: EngineDep, ledger: LedgerDep) -> Redirect:
        """A declined applicant asks again, from their dashboard (one button, no JavaScript)."""
        await member_apply_again(engine=engine, ledger=ledger, principal=viewer)
        return see_other("/dashboard")

    @get("/account/close")
    async def close_page(self, viewer: Viewer, ledger: LedgerDep) -> Template:
        account = await services.account_of(ledger=ledger, principal=viewer)
        community = await community_by_id(viewer.community_id)
        return render(
            "members/close.html",
            viewer=viewer,
            title=_("Close your account"),
            current="profile",
            community=community,
            balance_minutes=account["balance_minutes"],
            balance=minutes_text(account["balance_minutes"]),
        )

    @post("/account/close")
    async def close(
        self, request: Request[Any, Any, Any], viewer: Viewer, engine: EngineDep, ledger: LedgerDep
    ) -> Redirect:
        await members_closure.member_close(engine=engine, ledger=ledger, principal=viewer)
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
    community = await community_by_id(member.community)
    return render(
        "members/profile.html",
        viewer=viewer,
        title=_("Your profile"),
        current="profile",
        status=status,
        headers=headers,
        form=form,
        member=member,
        community=community,
        notice=notice,
    )


# Coordinators ----------------------------------------------------------------------------


# Admins -------------------------------------------------------------------------------------


class LanguagePages(Controller):
    """The language chooser every page shows (base.html), for anyone.

    A POST form with the CSRF token rather than a link: choosing changes what is
    stored on a signed-in member, which a GET must not do (a prefetched or a
    cross-site link would switch someone's language). It works without script.
    """

    opt = access(Access.PUBLIC)
    include_in_schema = False
    exception_handlers = page_exception_handlers()

    @post("/language")
    async def choose(
        self,
        request: Request[Any, Any, Any],
        data: URLEncodedBody[LanguageForm],
        principal: MaybePrincipal,
    ) -> Redirect:
        language = data.lang if is_language(data.lang) else DEFAULT_LANGUAGE
        # While acting for a member the choice is the coordinator's own, as the cookie is.
        if principal is not None and principal.acting_by_id is None:
            await services.language_choose(principal=principal, language=language)
        response = Redirect(safe_next(data.next_path), status_code=303)
        response.set_cookie(_language_cookie(request, language))
        return response


PAGE_ROUTERS = [AuthPages, MemberPages, LanguagePages]
