"""Request ids and structured (JSON) logs.

Each request gets an id (the caller's `X-Request-ID` when it is sane, else a
new one). It is returned as a header, put on every log line written while the
request runs, and included in 500 problems so a member can quote it.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
import uuid
from typing import Any

import msgspec
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_HEADER_BYTES = REQUEST_ID_HEADER.encode()
_REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
access_logger = logging.getLogger("timebank.access")


def current_request_id() -> str:
    return _request_id.get()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: easy for people to grep and for machines to parse."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": _request_id.get(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return msgspec.json.encode(line).decode()


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("timebank")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def _incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == _REQUEST_ID_HEADER_BYTES:
            candidate = value.decode("latin-1")
            if _REQUEST_ID_PATTERN.match(candidate):
                return candidate
    return uuid.uuid4().hex


def begin_request(scope: Scope) -> tuple[str, contextvars.Token[str], float]:
    """A request's id (set for every log line written while it runs), the token that
    unsets it, and when it began (for its log line's duration)."""
    request_id = _incoming_request_id(scope)
    return request_id, _request_id.set(request_id), time.perf_counter()


def stamp_request_id(message: Message, request_id: str) -> None:
    """Put the request's id on its response's start."""
    MutableScopeHeaders.from_message(message)[REQUEST_ID_HEADER] = request_id


def end_request(
    scope: Scope, *, status: int, started: float, token: contextvars.Token[str]
) -> None:
    """The request's access log line, then its id unset."""
    duration_ms = round((time.perf_counter() - started) * 1000, 2)
    access_logger.info(
        "request",
        extra={
            "fields": {
                "method": scope.get("method"),
                "path": scope.get("path"),
                "status": status,
                "duration_ms": duration_ms,
            }
        },
    )
    _request_id.reset(token)


def request_context_middleware(app: ASGIApp) -> ASGIApp:
    """Outermost middleware: request id, access log line, and the response header.

    The lanes' front (service/http/front.py) does the same through the three functions
    above for the requests it takes."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        request_id, token, started = begin_request(scope)
        status_holder = {"status": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                stamp_request_id(message, request_id)
            await send(message)

        try:
            await app(scope, receive, send_wrapper)
        finally:
            end_request(scope, status=status_holder["status"], started=started, token=token)

    return middleware
