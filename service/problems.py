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

from ledger import LedgerError
from service.caller_scope import remembered_account_id
from service.formatting import minutes_text
from service.observability import current_request_id

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://timebank.example/problems/"
# Members of every problem body that `extra` may never replace: RFC 9457's own, then ours.
PROBLEM_RESERVED_KEYS = frozenset(
    {"type", "title", "status", "detail", "instance", "code", "request_id"}
)

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


class Problem(ProblemDetailsException):
    """A domain error with a stable machine code, raised by service code."""

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
    fields = dict(extra or {})
    clashing = sorted(PROBLEM_RESERVED_KEYS.intersection(fields))
    if clashing:
        raise ValueError(f"problem extra may not set reserved members: {', '.join(clashing)}")
    return fields


def field_problem(field: str, message: str, *, source: str = "body", status: int = 422) -> Problem:
    """A validation problem about one field, in the shape the framework's own 400s use."""
    return Problem(
        status=status,
        code="validation_failed",
        detail="Some fields are missing or not valid.",
        extra={"errors": [{"field": field, "source": source, "message": message}]},
    )


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
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code.replace("_", "-"),
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
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


def _handle_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = _validation_errors(exc.extra)
    if not errors:
        # Litestar raises a bare ValidationException when the body is not JSON at all.
        return problem_response(
            request, status=400, code="malformed_body", detail="The request body could not be read."
        )
    return problem_response(
        request,
        status=400,
        code="validation_failed",
        detail="Some fields are missing or not valid.",
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
    detail = _DETAIL_BY_CODE.get(code) or (exc.detail if status < 500 else "Something went wrong.")  # noqa: PLR2004
    headers = dict(exc.headers or {})
    if isinstance(exc, MethodNotAllowedException) and "Allow" not in headers and exc.extra:
        headers["Allow"] = str(exc.extra)
    return problem_response(request, status=status, code=code, detail=detail, headers=headers)


_DETAIL_BY_CODE: Mapping[str, str] = {
    "not_found": "There is nothing at this address.",
    "method_not_allowed": "This address does not accept that method.",
    "request_too_large": "The request body is larger than this service accepts.",
    "not_authenticated": "Please sign in first.",
    "forbidden": "You do not have permission to do that.",
    "rate_limited": "Too many attempts. Please wait a little and try again.",
}


def _handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # The log keeps the traceback, keyed by request id; the client gets only the id.
    logger.error("unhandled error", exc_info=exc)
    return problem_response(
        request,
        status=500,
        code="internal_error",
        detail="Something went wrong on our side. Nothing was changed. "
        "If it keeps happening, quote the request id.",
    )


# Ledger errors that reach HTTP: status, public code. Others are 409 with the ledger's code.
_LEDGER_STATUS: Mapping[str, tuple[int, str]] = {
    "exceeds_floor": (409, "insufficient_credit"),
    "exceeds_ceiling": (409, "exceeds_ceiling"),
    "account_not_found": (404, "not_found"),
    "transfer_not_found": (404, "not_found"),
    "pending_not_found": (404, "not_found"),
    "reversal_target_not_found": (404, "not_found"),
}


def _minor(data: Mapping[str, Any], key: str) -> int:
    return int(data.get(key) or 0)


def _floor_figures(data: Mapping[str, Any]) -> tuple[str, dict[str, int]]:
    # What the member can still spend: the balance less holds, down to the floor.
    available = _minor(data, "available_minor")
    spendable = max(0, available - _minor(data, "floor_minor"))
    return (
        f"Not enough credit: you have {minutes_text(spendable)} available.",
        {"available_minutes": available, "spendable_minutes": spendable},
    )


def _ceiling_figures(data: Mapping[str, Any]) -> tuple[str, dict[str, int]]:
    balance, ceiling = _minor(data, "balance_minor"), _minor(data, "ceiling_minor")
    room = max(0, ceiling - balance)
    return (
        f"That would take you above your limit: you can receive {minutes_text(room)} more.",
        {"balance_minutes": balance, "ceiling_minutes": ceiling, "room_minutes": room},
    )


# The allow-list of what a ledger error may tell the caller (ADR 0025). The error's
# data describes one account (its balance, limits, ids); a body never echoes it.
# The codes below may add figures, and only when the account is the caller's own;
# about anyone else's account the caller learns the fixed sentence, nothing more.
_OWN_ACCOUNT_FIGURES: Mapping[str, Callable[[Mapping[str, Any]], tuple[str, dict[str, int]]]] = {
    "exceeds_floor": _floor_figures,
    "exceeds_ceiling": _ceiling_figures,
}
_ABOUT_ANOTHER_ACCOUNT: Mapping[str, str] = {
    "exceeds_floor": "Not enough credit: they do not have enough hours for this right now.",
    "exceeds_ceiling": "They cannot receive this many hours right now.",
    "limits_below_position": "The account already holds more or less than those limits allow.",
    "account_closed": "That account is closed.",
}


def _is_own_account(request: Request[Any, Any, Any], data: Mapping[str, Any]) -> bool:
    # The access guard (service/http/access.py) keeps the caller in the scope.
    account_id = remembered_account_id(request.scope)
    return account_id is not None and data.get("account_id") == str(account_id)


def _ledger_wording(
    request: Request[Any, Any, Any], exc: LedgerError
) -> tuple[str, dict[str, int]]:
    """The detail and the extra fields this caller may see for `exc`."""
    figures = _OWN_ACCOUNT_FIGURES.get(exc.code)
    if figures is not None and _is_own_account(request, exc.data):
        return figures(exc.data)
    fixed = _ABOUT_ANOTHER_ACCOUNT.get(exc.code)
    return fixed or exc.message[0].upper() + exc.message[1:] + ".", {}


def _handle_ledger(request: Request[Any, Any, Any], exc: LedgerError) -> Response[Any]:
    status, code = _LEDGER_STATUS.get(exc.code, (409, exc.code))
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
