"""`Idempotency-Key` on POSTs that move value (api.md conventions).

A repeat with the same key and body gets the first response again, byte for
byte, and moves nothing; the same key with another body, method or path gets
409 `idempotency_key_reused`. Keys are scoped to the caller (the member).

Stored responses alone cannot stop two *concurrent* first requests from both
running, so value-moving services also derive their ledger transfer ids from
(caller, key) via `derived_id()`: the ledger then writes the movement once and
both requests answer with the same transfer.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any, cast

from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from ledger import LEDGER_NAMESPACE
from service.http.idempotency_tables import IdempotencyKey
from service.limits import SESSION_COOKIE_NAME
from service.observability import current_request_id
from service.principal import principal_resolver, remember_principal
from service.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE

IDEMPOTENCY_KEY_CHARS_MAX = 255
STATE_KEY = "idempotency_key"
SERVER_ERROR_STATUS_MIN = 500


def derived_id(*, caller_id: uuid.UUID, key: str | None, purpose: str) -> uuid.UUID:
    """A transfer id that is the same for every retry of one keyed request."""
    if key is None:
        return uuid.uuid4()
    return uuid.uuid5(LEDGER_NAMESPACE, f"idempotency:{caller_id}:{purpose}:{key}")


def key_from_scope(scope: Scope) -> str | None:
    value = scope.get("state", {}).get(STATE_KEY)
    return value if isinstance(value, str) else None


def _valid_key(key: str) -> bool:
    return 1 <= len(key) <= IDEMPOTENCY_KEY_CHARS_MAX and key.isprintable() and key.isascii()


def _problem(status: int, code: str, detail: str, path: str) -> tuple[int, bytes]:
    body = {
        "type": PROBLEM_TYPE_BASE + code.replace("_", "-"),
        "title": "Conflict" if status == 409 else "Bad Request",  # noqa: PLR2004
        "status": status,
        "detail": detail,
        "code": code,
        "instance": path,
        "request_id": current_request_id(),
    }
    return status, json.dumps(body).encode()


async def _send_whole(send: Send, status: int, content_type: str, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _caller(headers: Headers, scope: Scope) -> str | None:
    """The calling member's id; the principal is kept in the scope for the handler."""
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    principal = None
    if scheme.lower() == "bearer" and token.strip():
        principal = await principal_resolver(scope).from_token(token.strip())
    elif not authorization:
        cookie = _cookie(headers, SESSION_COOKIE_NAME)
        principal = await principal_resolver(scope).from_session(cookie) if cookie else None
    if principal is None:
        return None
    remember_principal(cast("MutableMapping[str, Any]", scope), principal)
    return str(principal.member_id)


def _cookie(headers: Headers, name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def idempotency_middleware(app: ASGIApp) -> ASGIApp:
    """Route middleware for value-moving POSTs (see module docstring)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers.from_scope(scope)
        key = headers.get("idempotency-key")
        if scope["type"] != ScopeType.HTTP or key is None:
            await app(scope, receive, send)
            return
        path = scope["path"]
        if not _valid_key(key):
            status, body = _problem(
                400,
                "idempotency_key_invalid",
                "Idempotency-Key must be 1 to 255 printable ASCII characters.",
                path,
            )
            await _send_whole(send, status, PROBLEM_MEDIA_TYPE, body)
            return
        caller = await _caller(headers, scope)
        if caller is None:  # the handler answers 401 itself
            await app(scope, receive, send)
            return
        body = await _read_body(receive)
        await _answer(app, scope, send, caller=caller, key=key, body=body)

    return middleware


async def _answer(
    app: ASGIApp, scope: Scope, send: Send, *, caller: str, key: str, body: bytes
) -> None:
    digest = hashlib.sha256(body).hexdigest()
    method, path = str(scope.get("method", "")), scope["path"]
    stored = await (
        IdempotencyKey.objects()
        .where((IdempotencyKey.caller == caller) & (IdempotencyKey.key == key))
        .first()
        .run()
    )
    if stored is not None:
        if (stored.method, stored.path, stored.body_sha256) == (method, path, digest):
            await _send_whole(send, stored.status, stored.content_type, stored.body.encode())
            return
        status, problem = _problem(
            409,
            "idempotency_key_reused",
            "This Idempotency-Key was used before with a different request.",
            path,
        )
        await _send_whole(send, status, PROBLEM_MEDIA_TYPE, problem)
        return
    scope.setdefault("state", {})[STATE_KEY] = key
    captured = await _run_capturing(app, scope, body)
    status, content_type, response_body = captured
    if status < SERVER_ERROR_STATUS_MIN:
        await (
            IdempotencyKey.insert(
                IdempotencyKey(
                    caller=caller,
                    key=key,
                    method=method,
                    path=path,
                    body_sha256=digest,
                    status=status,
                    content_type=content_type,
                    body=response_body.decode(),
                    created_at=datetime.now(UTC),
                )
            )
            .on_conflict(action="DO NOTHING")
            .run()
        )
    await _send_whole(send, status, content_type, response_body)


async def _run_capturing(app: ASGIApp, scope: Scope, body: bytes) -> tuple[int, str, bytes]:
    delivered = False

    async def replay() -> ReceiveMessage:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    status = 500
    content_type = "application/json"
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        nonlocal status, content_type
        if message["type"] == "http.response.start":
            status = message["status"]
            for name, value in message.get("headers", []):
                if name.lower() == b"content-type":
                    content_type = value.decode()
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, replay, capture)
    return status, content_type, b"".join(chunks)


__all__ = ["derived_id", "idempotency_middleware", "key_from_scope"]
