"""Shapes of the recovery API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from service.limits import EMAIL_CHARS_MAX
from service.members.schemas import Email, Password
from service.recovery.limits import RESET_TOKEN_CHARS_MAX

# Not the registration's Email: any string up to the bound may be asked about, so a
# malformed address is answered exactly like an unknown one.
AnyEmail = Annotated[str, Meta(min_length=1, max_length=EMAIL_CHARS_MAX)]
ResetToken = Annotated[str, Meta(min_length=1, max_length=RESET_TOKEN_CHARS_MAX)]
CurrentPassword = Annotated[str, Meta(min_length=1, max_length=200)]


class PasswordResetIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: AnyEmail


class PasswordResetAnswer(msgspec.Struct, kw_only=True):
    detail: str


class PasswordResetConfirmIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    token: ResetToken  # the token from a mailed link, or a coordinator's code
    password: Password


class PasswordChangeIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    current_password: CurrentPassword
    new_password: Password


class EmailChangeIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    password: CurrentPassword
    new_email: Email


class EmailChangeConfirmIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    token: ResetToken


class ResetCodeOut(msgspec.Struct, kw_only=True):
    code: str
    expires_at: datetime


class InvitationIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # Left out: the address the member already has.
    email: Email | None = None


class InvitationOut(msgspec.Struct, kw_only=True):
    detail: str
    expires_at: datetime
