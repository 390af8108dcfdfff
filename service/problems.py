"""Every error becomes an RFC 9457 problem document, mapped here and only here.

Clients read the stable `code`; `title` and `detail` are for people. Nothing
internal (stack traces, SQL, module names) is ever put in a response.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.plugins.problem_details import ProblemDetailsException
from litestar.types import ExceptionHandlersMap

from ledger import (
    AccountClosed,
    AccountNotFound,
    ExceedsCeiling,
    ExceedsFloor,
    LedgerError,
    LimitsBelowPosition,
    PendingNotFound,
    ReversalTargetNotFound,
    TransferNotFound,
)
from service import errors
from service.caller_scope import remembered_account_id
from service.formatting import minutes_text, room_words
from service.i18n import N_, _
from service.observability import current_request_id

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://timebank.example/problems/"

logger = logging.getLogger("timebank.errors")

# Codes for Litestar's own HTTP errors, by status.
_CODE_BY_STATUS: Mapping[int, str] = {
    400: "malformed_body",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    503: "service_unavailable",
}


# The titles of the statuses a problem may have, marked so that they are translated
# when the document is made (`title` is for people; `code` is never translated).
_TITLE_BY_STATUS: Mapping[int, str] = {
    400: N_("Bad Request"),
    401: N_("Unauthorized"),
    402: N_("Payment Required"),
    403: N_("Forbidden"),
    404: N_("Not Found"),
    405: N_("Method Not Allowed"),
    409: N_("Conflict"),
    413: N_("Request Entity Too Large"),
    415: N_("Unsupported Media Type"),
    422: N_("Unprocessable Entity"),
    428: N_("Precondition Required"),
    429: N_("Too Many Requests"),
    500: N_("Internal Server Error"),
    502: N_("Bad Gateway"),
    503: N_("Service Unavailable"),
}


def status_title(status: int) -> str:
    """The status's title in the current language ("Not Found", "Heb ei ganfod")."""
    return _(_TITLE_BY_STATUS.get(status) or HTTPStatus(status).phrase)


# The one table from a kind of domain no (service/errors.py) to an HTTP status.
STATUS_BY_ERROR: Mapping[type[errors.DomainError], int] = {
    errors.Unreadable: 400,
    errors.NotSignedIn: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Invalid: 422,
    errors.TooManyAttempts: 429,
    errors.ProviderFailed: 502,
    errors.Unavailable: 503,
}


def status_of(error: errors.DomainError) -> int:
    """The HTTP status of a domain error: by its kind, the nearest kind in its ancestry."""
    for kind in type(error).__mro__:
        status = STATUS_BY_ERROR.get(kind)
        if status is not None:
            return status
    raise TypeError(f"no status for {type(error).__name__}: add its kind to STATUS_BY_ERROR")


def headers_of(error: errors.DomainError) -> dict[str, str]:
    """Headers a domain error asks for: how long to wait after too many attempts."""
    if isinstance(error, errors.TooManyAttempts):
        return {"Retry-After": str(error.retry_after_seconds)}
    return {}


class Problem(ProblemDetailsException):
    """An HTTP-level refusal raised by the HTTP kit (service/http/) before any service runs.

    Services raise `service.errors.DomainError` kinds instead; both become the
    same problem document.
    """

    def __init__(
        self,
        *,
        status: int,
        code: str,
        detail: str,
        title: str | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.code = code
        self.extra_fields = checked_extra(extra)
        super().__init__(
            detail=detail,
            status_code=status,
            title=title or HTTPStatus(status).phrase,
            type_=PROBLEM_TYPE_BASE + code.replace("_", "-"),
            headers=headers,
            extra={"code": code, **self.extra_fields},
        )


def checked_extra(extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """`extra` as a dict, refusing any key that would overwrite a reserved member.

    RFC 9457 says `status` is the HTTP status; an extra that reused the name for a
    domain state (an exchange's) would mislead every client reading it.
    """
    return errors.checked_data(extra)


def problem_response(
    request: Request[Any, Any, Any],
    *,
    status: int,
    code: str,
    detail: str,
    title: str | None = None,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response[dict[str, Any]]:
    # Title and detail are for people: in the caller's language (ADR 0048). A detail
    # made at request time is already translated; a fixed one marked with N_ is here.
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code.replace("_", "-"),
        "title": _(title) if title else status_title(status),
        "status": status,
        "detail": _(detail),
        "code": code,
        "instance": request.url.path,
        "request_id": current_request_id(),
    }
    body.update(checked_extra(extra))
    return Response(
        body,
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def _handle_problem(request: Request[Any, Any, Any], exc: Problem) -> Response[Any]:
    return problem_response(
        request,
        status=exc.status_code,
        code=exc.code,
        detail=exc.detail,
        title=exc.title,
        extra=exc.extra_fields,
        headers=exc.headers,
    )


def _handle_domain(request: Request[Any, Any, Any], exc: errors.DomainError) -> Response[Any]:
    return problem_response(
        request,
        status=status_of(exc),
        code=exc.code,
        detail=exc.detail,
        title=exc.title,
        extra=exc.extra_fields,
        headers=headers_of(exc),
    )


def _handle_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = _validation_errors(exc.extra)
    if not errors:
        # Litestar raises a bare ValidationException when the body is not JSON at all.
        return problem_response(
            request,
            status=400,
            code="malformed_body",
            detail=_("The request body could not be read."),
        )
    return problem_response(
        request,
        status=400,
        code="validation_failed",
        detail=_("Some fields are missing or not valid."),
        extra={"errors": errors},
    )


def _validation_errors(extra: Any) -> list[dict[str, str]]:
    if not isinstance(extra, list):
        return []
    return [
        {
            "field": str(item.get("key") or ""),
            "source": str(item.get("source") or "body"),
            "message": str(item.get("message") or "is not valid"),
        }
        for item in extra
        if isinstance(item, Mapping)
    ]


def http_problem(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """One of Litestar's own HTTP errors (404, 405, 413...) as a problem document."""
    status = exc.status_code
    code = _CODE_BY_STATUS.get(status, "client_error" if status < 500 else "server_error")  # noqa: PLR2004
    fixed = _DETAIL_BY_CODE.get(code)
    detail = _(fixed) if fixed else (exc.detail if status < 500 else _("Something went wrong."))  # noqa: PLR2004
    headers = dict(exc.headers or {})
    if isinstance(exc, MethodNotAllowedException) and "Allow" not in headers and exc.extra:
        headers["Allow"] = str(exc.extra)
    return problem_response(request, status=status, code=code, detail=detail, headers=headers)


_DETAIL_BY_CODE: Mapping[str, str] = {
    "not_found": N_("There is nothing at this address."),
    "method_not_allowed": N_("This address does not accept that method."),
    "request_too_large": N_("The request body is larger than this service accepts."),
    "not_authenticated": N_("Please sign in first."),
    "forbidden": N_("You do not have permission to do that."),
    "rate_limited": N_("Too many attempts. Please wait a little and try again."),
}


def _handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # The log keeps the traceback, keyed by request id; the client gets only the id.
    logger.error("unhandled error", exc_info=exc)
    return problem_response(
        request,
        status=500,
        code="internal_error",
        detail=_(
            "Something went wrong on our side. Nothing was changed. "
            "If it keeps happening, quote the request id."
        ),
    )


# Ledger errors that reach HTTP: status, public code. Others are 409 with the ledger's code.
_LEDGER_STATUS: Mapping[type[LedgerError], tuple[int, str]] = {
    ExceedsFloor: (409, "insufficient_credit"),
    ExceedsCeiling: (409, "exceeds_ceiling"),
    AccountNotFound: (404, "not_found"),
    TransferNotFound: (404, "not_found"),
    PendingNotFound: (404, "not_found"),
    ReversalTargetNotFound: (404, "not_found"),
}


def _minor(data: Mapping[str, Any], key: str) -> int:
    return int(data.get(key) or 0)


def _floor_figures(data: Mapping[str, Any]) -> tuple[str, dict[str, int]]:
    # What the member can still spend: the balance less holds, down to the floor.
    available = _minor(data, "available_minor")
    floor = _minor(data, "floor_minor")
    spendable = max(0, available - floor)
    # With the room (docs/words.md): how far the balance may go down explains the figure.
    available_words = _("Not enough credit: you have %(hours)s available.") % {
        "hours": minutes_text(spendable)
    }
    return (
        f"{available_words} {room_words(floor)}",
        {"available_minutes": available, "spendable_minutes": spendable},
    )


def _ceiling_figures(data: Mapping[str, Any]) -> tuple[str, dict[str, int]]:
    balance, ceiling = _minor(data, "balance_minor"), _minor(data, "ceiling_minor")
    room = max(0, ceiling - balance)
    return (
        _("That would take you above your limit: you can receive %(hours)s more.")
        % {"hours": minutes_text(room)},
        {"balance_minutes": balance, "ceiling_minutes": ceiling, "room_minutes": room},
    )


# The allow-list of what a ledger error may tell the caller (ADR 0025). The error's
# data describes one account (its balance, limits, ids); a body never echoes it.
# The codes below may add figures, and only when the account is the caller's own;
# about anyone else's account the caller learns the fixed sentence, nothing more.
_OWN_ACCOUNT_FIGURES: Mapping[
    type[LedgerError], Callable[[Mapping[str, Any]], tuple[str, dict[str, int]]]
] = {
    ExceedsFloor: _floor_figures,
    ExceedsCeiling: _ceiling_figures,
}
_ABOUT_ANOTHER_ACCOUNT: Mapping[type[LedgerError], str] = {
    ExceedsFloor: N_("Not enough credit: they do not have enough hours for this right now."),
    ExceedsCeiling: N_("They cannot receive this many hours right now."),
    LimitsBelowPosition: N_("The account already holds more or less than those limits allow."),
    AccountClosed: N_("That account is closed."),
}


def _is_own_account(request: Request[Any, Any, Any], data: Mapping[str, Any]) -> bool:
    # The access guard (service/http/access.py) keeps the caller in the scope.
    account_id = remembered_account_id(request.scope)
    return account_id is not None and data.get("account_id") == str(account_id)


def _ledger_wording(
    request: Request[Any, Any, Any], exc: LedgerError
) -> tuple[str, dict[str, int]]:
    """The detail and the extra fields this caller may see for `exc`."""
    figures = _OWN_ACCOUNT_FIGURES.get(type(exc))
    if figures is not None and _is_own_account(request, exc.data):
        return figures(exc.data)
    fixed = _ABOUT_ANOTHER_ACCOUNT.get(type(exc))
    return _(fixed) if fixed else exc.message[0].upper() + exc.message[1:] + ".", {}


def _handle_ledger(request: Request[Any, Any, Any], exc: LedgerError) -> Response[Any]:
    status, code = _LEDGER_STATUS.get(type(exc), (409, exc.code))
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return _handle_unexpected(request, exc)
    detail, extra = _ledger_wording(request, exc)
    if not exc.recorded and status == HTTPStatus.CONFLICT and not code.startswith("exists_"):
        # A request-shape error from the ledger: the caller sent something invalid.
        status = HTTPStatus.UNPROCESSABLE_ENTITY
    return problem_response(request, status=status, code=code, detail=detail, extra=extra)


def exception_handlers() -> ExceptionHandlersMap:
    return {
        Problem: _handle_problem,
        errors.DomainError: _handle_domain,
        LedgerError: _handle_ledger,
        ValidationException: _handle_validation,
        NotFoundException: http_problem,
        MethodNotAllowedException: http_problem,
        NotAuthorizedException: http_problem,
        PermissionDeniedException: http_problem,
        TooManyRequestsException: http_problem,
        HTTPException: http_problem,
        Exception: _handle_unexpected,
    }


__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "MediaType",
    "Problem",
    "exception_handlers",
    "http_problem",
    "problem_response",
]
