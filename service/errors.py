"""The errors service code raises: what went wrong in the domain's words, never HTTP's.

A service says *what kind* of no it is (the thing is not there, the caller may
not, the state forbids it now, the input breaks a rule) with a stable `code`
for clients, a sentence for people and, where useful, data. One place turns
them into answers: `service/problems.py` for the JSON API (problem+json with a
status per kind) and `service/web/kit.py` for pages (a message on the form or
an error page). Services therefore import nothing from the web framework to
say no, and a status can change in one table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.i18n import _

# Members every problem body has; data may not reuse their names (a domain
# "status" would be read as the HTTP status by every client).
RESERVED_DATA_KEYS = frozenset(
    {"type", "title", "status", "detail", "instance", "code", "request_id"}
)


def checked_data(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """`data` as a dict, refusing any key that would overwrite a reserved member."""
    fields = dict(data or {})
    clashing = sorted(RESERVED_DATA_KEYS.intersection(fields))
    if clashing:
        raise ValueError(f"error data may not set reserved members: {', '.join(clashing)}")
    return fields


class DomainError(Exception):
    """A rule said no: a stable `code`, a `detail` for people, and `extra` data.

    `extra` goes into the problem body beside `code` (e.g. the field errors of
    a form, or how long to wait); `title` overrides the kind's usual title.
    """

    def __init__(
        self,
        *,
        code: str,
        detail: str,
        title: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.title = title
        self.extra_fields = checked_data(extra)


class Unreadable(DomainError):
    """The request could not be read at all (a cursor, a date, a body's shape)."""


class NotSignedIn(DomainError):
    """Who is asking is not known, or their sign-in did not succeed."""


class Forbidden(DomainError):
    """The caller is known and may not do this."""


class NotFound(DomainError):
    """The thing is not there, or not for this caller to know of (the same answer)."""


class Conflict(DomainError):
    """The request is fine but the state of things forbids it now."""


class Invalid(DomainError):
    """The input breaks a rule (a field out of range, a reason missing)."""


class TooManyAttempts(DomainError):
    """Too many tries in a while; `retry_after_seconds` says when to try again."""

    def __init__(
        self,
        *,
        code: str,
        detail: str,
        retry_after_seconds: int,
        title: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(code=code, detail=detail, title=title, extra=extra)
        self.retry_after_seconds = retry_after_seconds


class ProviderFailed(DomainError):
    """An outside service we depend on (the payment provider) failed or was unreachable."""


class Unavailable(DomainError):
    """This part of the service is switched off or not configured here."""


def invalid_field(field: str, message: str, *, source: str = "body") -> Invalid:
    """An `Invalid` about one field, in the shape the framework's own field errors use."""
    return Invalid(
        code="validation_failed",
        detail=_("Some fields are missing or not valid."),
        extra={"errors": [{"field": field, "source": source, "message": _(message)}]},
    )


def unreadable_field(field: str, message: str, *, source: str = "query") -> Unreadable:
    """An `Unreadable` about one field: a value whose form could not be understood."""
    return Unreadable(
        code="validation_failed",
        detail=_("Some fields are missing or not valid."),
        extra={"errors": [{"field": field, "source": source, "message": _(message)}]},
    )


__all__ = [
    "Conflict",
    "DomainError",
    "Forbidden",
    "Invalid",
    "NotFound",
    "NotSignedIn",
    "ProviderFailed",
    "TooManyAttempts",
    "Unavailable",
    "Unreadable",
    "invalid_field",
    "unreadable_field",
]
