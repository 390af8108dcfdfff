"""Recovery pages: forgotten password, reset by link or code, account settings,
email confirmation, and the coordinator's reset code.

Each handler reads its form, checks it against the API's schema types, calls one
service function from service/recovery/services.py, then renders or redirects.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template

from service.errors import DomainError
from service.http.access import Access, access
from service.http.client import client_address
from service.http.deps import EngineDep, LimiterDep, MaybePrincipal
from service.i18n import N_, _
from service.members.services import member_by_id
from service.principal import Principal
from service.recovery import services
from service.recovery.limits import RESET_TOKEN_CHARS_MAX
from service.recovery.schemas import (
    AnyEmail,
    CurrentPassword,
    EmailChangeIn,
    PasswordChangeIn,
    ResetToken,
)
from service.recovery.throttles import (
    limit_email_change,
    limit_reset_request,
    limit_token_attempt,
    reset_request_padded,
)
from service.web.kit import (
    Form,
    PageController,
    Reshow,
    Rule,
    Viewer,
    form_post,
    form_refused,
    page_exception_handlers,
    render,
    schema_type,
    see_other,
    validate,
)

RESET_RULES = {
    "token": Rule(ResetToken, N_("Enter the code your coordinator gave you")),
    "password": Rule(
        schema_type(PasswordChangeIn, "new_password"),
        N_("Choose a password of 10 to 200 characters"),
        strip=False,
    ),
}
PASSWORD_RULES = {
    "current_password": Rule(CurrentPassword, N_("Enter your current password"), strip=False),
    "new_password": Rule(
        schema_type(PasswordChangeIn, "new_password"),
        N_("Choose a new password of 10 to 200 characters"),
        strip=False,
    ),
}
EMAIL_RULES = {
    "password": Rule(CurrentPassword, N_("Enter your password"), strip=False),
    "new_email": Rule(
        schema_type(EmailChangeIn, "new_email"), N_("Enter an email address like name@example.org")
    ),
}
LABELS = {
    "current_password": N_("Current password"),
    "new_password": N_("New password"),
    "password": N_("Password"),
    "new_email": N_("New email address"),
    "token": N_("Code"),
}
ACCOUNT_DONE = {
    "password": N_("Your password has been changed. Any other devices have been signed out."),
    "email": N_(
        "We have sent a link to your new address. Follow it within an hour to "
        "confirm the change. Until then your old address stays in use."
    ),
}


class ForgotForm(msgspec.Struct, kw_only=True):
    email: str = ""


class ResetForm(msgspec.Struct, kw_only=True):
    token: str = ""
    password: str = ""


class PasswordForm(msgspec.Struct, kw_only=True):
    current_password: str = ""
    new_password: str = ""


class EmailForm(msgspec.Struct, kw_only=True):
    password: str = ""
    new_email: str = ""


class TokenForm(msgspec.Struct, kw_only=True):
    token: str = ""


class RecoveryPages(Controller):
    """Pages anyone may open: forgotten password, reset, email confirmation."""

    opt = access(Access.PUBLIC)

    include_in_schema = False
    exception_handlers = page_exception_handlers()

    @get("/forgot-password")
    async def forgot_page(self, principal: MaybePrincipal) -> Template:
        return _forgot_page(principal, Form())

    @post("/forgot-password")
    async def forgot(
        self,
        request: Request[Any, Any, Any],
        data: URLEncodedBody[ForgotForm],
        principal: MaybePrincipal,
        engine: EngineDep,
        limiter: LimiterDep,
    ) -> Template:
        form = Form.of(data)
        try:
            email = msgspec.convert(data.email.strip(), AnyEmail)
        except msgspec.ValidationError:
            form.errors["email"] = _("Enter your email address")
            return _forgot_page(principal, form, status=422)
        try:
            await limit_reset_request(limiter, client_address(request), email)
        except DomainError as problem:
            return _forgot_page(principal, form, **form_refused(form, problem, {}))
        await reset_request_padded(engine=engine, email=email)
        return render("recovery/forgot_sent.html", viewer=principal, title=_("Check your email"))

    @get("/reset-password")
    async def reset_page(
        self, principal: MaybePrincipal, token: FromQuery[str | None] = None
    ) -> Template:
        return _reset_page(principal, Form(values={"token": (token or "")[:RESET_TOKEN_CHARS_MAX]}))

    @post("/reset-password")
    async def reset(
        self,
        request: Request[Any, Any, Any],
        data: URLEncodedBody[ResetForm],
        principal: MaybePrincipal,
        engine: EngineDep,
        limiter: LimiterDep,
    ) -> Template:
        form = Form.of(data, secret=("password",))
        cleaned = validate(form, data, RESET_RULES)
        if form.failed:
            return _reset_page(principal, form, status=422)
        try:
            await limit_token_attempt(limiter, client_address(request))
            await services.password_reset_confirm(
                engine=engine, token=cleaned["token"], password=cleaned["password"]
            )
        except DomainError as problem:
            return _reset_page(
                principal,
                form,
                **form_refused(form, problem, LABELS, code_fields={"reset_token_invalid": "token"}),
            )
        return render("recovery/reset_done.html", viewer=None, title=_("Your new password is set"))

    @get("/account/email/confirm")
    async def email_confirm_page(
        self, principal: MaybePrincipal, token: FromQuery[str | None] = None
    ) -> Template:
        # A GET changes nothing: mail scanners follow links; the button posts.
        form = Form(values={"token": (token or "")[:RESET_TOKEN_CHARS_MAX]})
        return _email_confirm_page(principal, form, done=False)

    @post("/account/email/confirm")
    async def email_confirm(
        self, data: URLEncodedBody[TokenForm], principal: MaybePrincipal, engine: EngineDep
    ) -> Template:
        form = Form.of(data)
        try:
            await services.email_change_confirm(
                engine=engine, token=data.token[:RESET_TOKEN_CHARS_MAX]
            )
        except DomainError as problem:
            form_refused(form, problem, {}, code_fields={})
            return _email_confirm_page(principal, form, done=False, status=422)
        return _email_confirm_page(principal, form, done=True)


def _forgot_page(viewer: Principal | None, form: Form, **shown: Any) -> Template:
    """The forgotten-password form; `shown` carries a refusal's status and headers."""
    return render(
        "recovery/forgot.html",
        viewer=viewer,
        title=_("Forgotten your password?"),
        form=form,
        **shown,
    )


def _reset_page(viewer: Principal | None, form: Form, **shown: Any) -> Template:
    """The new-password form; a code typed in (not a link's token) shows its own hint."""
    from_link = form.values.get("token", "").startswith(services.LINK_TOKEN_PREFIX)
    return render(
        "recovery/reset.html",
        viewer=viewer,
        title=_("Set a new password"),
        form=form,
        from_link=from_link,
        **shown,
    )


def _email_confirm_page(
    viewer: Principal | None, form: Form, *, done: bool, status: int = 200
) -> Template:
    title = _("Your email address has changed") if done else _("Confirm your new email address")
    return render(
        "recovery/email_confirm.html",
        viewer=viewer,
        title=title,
        status=status,
        form=form,
        done=done,
    )


class AccountPages(PageController):
    """A signed-in member's password and email address."""

    opt = access(Access.MEMBER)

    @get("/account")
    async def account_page(self, viewer: Viewer, done: FromQuery[str | None] = None) -> Template:
        return await _account_page(
            viewer, notice=_(ACCOUNT_DONE[done]) if done in ACCOUNT_DONE else None
        )

    @post("/account/password")
    async def change_password(
        self, viewer: Viewer, data: URLEncodedBody[PasswordForm], engine: EngineDep
    ) -> Response[Any]:
        form = Form.of(data, prefix="password-", secret=("current_password", "new_password"))

        async def write(cleaned: dict[str, Any]) -> Response[Any]:
            await services.password_change(engine=engine, principal=viewer, **cleaned)
            return see_other("/account", done="password")

        async def reshow(form: Form, refused: Reshow) -> Response[Any]:
            return await _account_page(viewer, password_form=form, **refused)

        return await form_post(form, data, PASSWORD_RULES, LABELS, write=write, reshow=reshow)

    @post("/account/email")
    async def change_email(
        self,
        viewer: Viewer,
        data: URLEncodedBody[EmailForm],
        engine: EngineDep,
        limiter: LimiterDep,
    ) -> Response[Any]:
        form = Form.of(data, prefix="email-", secret=("password",))

        async def write(cleaned: dict[str, Any]) -> Response[Any]:
            await limit_email_change(limiter, viewer.member_id)
            await services.email_change_request(engine=engine, principal=viewer, **cleaned)
            return see_other("/account", done="email")

        async def reshow(form: Form, refused: Reshow) -> Response[Any]:
            return await _account_page(viewer, email_form=form, **refused)

        return await form_post(form, data, EMAIL_RULES, LABELS, write=write, reshow=reshow)


async def _account_page(
    viewer: Principal,
    *,
    password_form: Form | None = None,
    email_form: Form | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    notice: str | None = None,
) -> Template:
    member = await member_by_id(viewer.member_id)
    return render(
        "recovery/account.html",
        viewer=viewer,
        title=_("Account settings"),
        current="profile",
        status=status,
        headers=headers,
        notice=notice,
        email=member.email,
        password_form=password_form or Form(prefix="password-"),
        email_form=email_form or Form(prefix="email-"),
    )


class ResetCodePages(PageController):
    """A coordinator gives a member without email a code to read out on the phone."""

    opt = access(Access.COORDINATOR)

    path = "/coordinator/members"

    @get("/{member_id:uuid}/reset-code")
    async def code_page(self, viewer: Viewer, member_id: FromPath[uuid.UUID]) -> Template:
        member = await services.member_for_coordinator(actor=viewer, member_id=member_id)
        return render(
            "recovery/reset_code.html",
            viewer=viewer,
            title=_("A password code for %(name)s") % {"name": member.display_name},
            current="coordinator",
            member=member,
            issued=None,
        )

    @post("/{member_id:uuid}/reset-code")
    async def issue(
        self, viewer: Viewer, member_id: FromPath[uuid.UUID], engine: EngineDep
    ) -> Template:
        member = await services.member_for_coordinator(actor=viewer, member_id=member_id)
        issued = await services.reset_code_issue(engine=engine, actor=viewer, member_id=member_id)
        return render(
            "recovery/reset_code.html",
            viewer=viewer,
            title=_("A password code for %(name)s") % {"name": member.display_name},
            current="coordinator",
            member=member,
            issued=issued,
        )


PAGE_ROUTERS = [RecoveryPages, AccountPages, ResetCodePages]
