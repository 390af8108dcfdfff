"""The recovery JSON API: thin handlers around service/recovery/services.py."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, post, put
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from service.http.access import Access, access, on_object
from service.http.client import client_address
from service.http.deps import CurrentMember, EngineDep, LimiterDep
from service.i18n import N_, _
from service.recovery import services
from service.recovery.schemas import (
    EmailChangeConfirmIn,
    EmailChangeIn,
    InvitationIn,
    InvitationOut,
    PasswordChangeIn,
    PasswordResetAnswer,
    PasswordResetConfirmIn,
    PasswordResetIn,
    ResetCodeOut,
)
from service.recovery.throttles import (
    limit_email_change,
    limit_reset_request,
    limit_token_attempt,
    reset_request_padded,
)

RESET_ANSWER = N_(
    "If this email address belongs to an account, we have sent a link to it. "
    "It works once, for one hour."
)


class RecoveryController(Controller):
    opt = access(Access.PUBLIC)
    path = "/api/v1/auth"
    tags = ("auth",)

    @post("/password-reset", status_code=HTTP_202_ACCEPTED)
    async def password_reset(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[PasswordResetIn],
        engine: EngineDep,
        limiter: LimiterDep,
    ) -> PasswordResetAnswer:
        await limit_reset_request(limiter, client_address(request), data.email)
        await reset_request_padded(engine=engine, email=data.email)
        return PasswordResetAnswer(detail=_(RESET_ANSWER))

    @post("/password-reset/confirm", status_code=HTTP_204_NO_CONTENT)
    async def password_reset_confirm(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[PasswordResetConfirmIn],
        engine: EngineDep,
        limiter: LimiterDep,
    ) -> None:
        await limit_token_attempt(limiter, client_address(request))
        await services.password_reset_confirm(
            engine=engine, token=data.token, password=data.password
        )

    @post("/email/confirm", status_code=HTTP_204_NO_CONTENT)
    async def email_confirm(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[EmailChangeConfirmIn],
        engine: EngineDep,
        limiter: LimiterDep,
    ) -> None:
        await limit_token_attempt(limiter, client_address(request))
        await services.email_change_confirm(engine=engine, token=data.token)


class AccountSecurityController(Controller):
    opt = access(Access.MEMBER)
    path = "/api/v1/me"
    tags = ("me",)

    @put("/password", status_code=HTTP_204_NO_CONTENT)
    async def change_password(
        self, member: CurrentMember, data: JSONBody[PasswordChangeIn], engine: EngineDep
    ) -> None:
        await services.password_change(
            engine=engine,
            principal=member,
            current_password=data.current_password,
            new_password=data.new_password,
        )

    @post("/email", status_code=HTTP_202_ACCEPTED)
    async def change_email(
        self,
        member: CurrentMember,
        data: JSONBody[EmailChangeIn],
        engine: EngineDep,
        limiter: LimiterDep,
    ) -> dict[str, str]:
        await limit_email_change(limiter, member.member_id)
        await services.email_change_request(
            engine=engine, principal=member, password=data.password, new_email=data.new_email
        )
        return {"detail": _("We have sent a link to the new address. It works for one hour.")}


class CoordinatorResetCodeController(Controller):
    opt = access(Access.COORDINATOR)
    path = "/api/v1/coordinator/members"
    tags = ("coordinator",)

    @post("/{member_id:uuid}/reset-code", status_code=HTTP_201_CREATED)
    async def reset_code(
        self, member: CurrentMember, member_id: FromPath[uuid.UUID], engine: EngineDep
    ) -> ResetCodeOut:
        issued = await services.reset_code_issue(engine=engine, actor=member, member_id=member_id)
        return ResetCodeOut(code=issued.code, expires_at=issued.expires_at)

    @post(
        "/{member_id:uuid}/invitation",
        status_code=HTTP_202_ACCEPTED,
        opt=on_object("member", "member_id"),
    )
    async def invitation(
        self,
        member: CurrentMember,
        member_id: FromPath[uuid.UUID],
        data: JSONBody[InvitationIn],
        engine: EngineDep,
    ) -> InvitationOut:
        expires_at = await services.member_invite(
            engine=engine, actor=member, member_id=member_id, email=data.email
        )
        return InvitationOut(
            detail=_("The invitation is on its way. Its link lets them choose a password."),
            expires_at=expires_at,
        )


ROUTERS = [RecoveryController, AccountSecurityController, CoordinatorResetCodeController]

__all__ = ["ROUTERS"]
