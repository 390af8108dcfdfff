"""`Idempotency-Key` on POSTs that move value (api.md conventions, ADR 0019).

A repeat with the same key and body gets the first response again, byte for
byte, and moves nothing; the same key with another body, method or path gets
409 `idempotency_key_reused`. Keys are scoped to the caller (the member).

As Stripe does it: the key is *reserved* (a row in state "in progress") before
the handler runs, so a concurrent duplicate never runs the handler: it waits,
bounded, for the first answer and replays it, or gets 409
`idempotency_key_in_progress` with Retry-After. Only final answers are kept (not
401, 403, 429 or 5xx: the reservation is released and a retry runs afresh). The
body's size limit is not checked here: service/http/body_limit.py wraps the whole
app and no body over the limit ever reaches a route. A crash between the
handler's commit and storing its answer leaves a stale reservation that a retry
takes over; value-moving services derive their ledger ids from (caller, key) via
`derived_id()`, so the rerun finds the movement already made and answers the same.

Routes whose one write is a single ledger transfer (gifts and donations) use
`idempotency_middleware_in_write` instead (ADR 0037): no reservation is
committed before the handler; the handler stores its final reply with the
transfer, in the ledger's own (group-committed) transaction, through the
`KeyedReply` it finds in the scope. The exchange steps (propose, accept, complete,
cancel) do the same in their one write transaction (ADR 0052). Any other
outcome (a refusal, a replay of the transfer, the key already taken) goes through
the reservation path above.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from http import HTTPStatus
from typing import Any, Protocol, cast

import asyncpg
from litestar.connection import ASGIConnection
from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from ledger import LEDGER_NAMESPACE, Connection, JoinedStatement, SharedAfter, Transfer
from service import clock
from service.errors import Conflict
from service.http.acting import ON_BEHALF_HEADER
from service.http.idempotency_tables import IdempotencyKey
from service.i18n import _
from service.limits import (
    IDEMPOTENCY_KEY_CHARS_MAX,
    IDEMPOTENCY_POLL_SECONDS,
    IDEMPOTENCY_RESERVATION_STALE_SECONDS,
    IDEMPOTENCY_RETRY_AFTER_SECONDS,
    IDEMPOTENCY_WAIT_SECONDS,
    SESSION_COOKIE_NAME,
)
from service.observability import current_request_id
from service.principal import principal_resolver, remember_principal
from service.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE, Problem

STATE_KEY = "idempotency_key"
_KEYED_REPLY_STATE = "idempotency_keyed_reply"
# Set in the scope state when the header is malformed; the guard answers 400.
_INVALID_KEY_STATE = "idempotency_key_invalid"
SERVER_ERROR_STATUS_MIN = 500
IN_PROGRESS = 0  # the status column of a reservation whose answer is not known yet
# Answers that say nothing final about the request: the caller may retry the same key.
NOT_FINAL_STATUSES = frozenset({401, 403, 408, 429})


def derived_id(*, caller_id: uuid.UUID, key: str | None, purpose: str) -> uuid.UUID:
    """A transfer id that is the same for every retry of one keyed request."""
    if key is None:
        return uuid.uuid4()
    return uuid.uuid5(LEDGER_NAMESPACE, f"idempotency:{caller_id}:{purpose}:{key}")


def key_from_scope(scope: Scope) -> str | None:
    value = scope.get("state", {}).get(STATE_KEY)
    return value if isinstance(value, str) else None


def valid_key(key: str) -> bool:
    return 1 <= len(key) <= IDEMPOTENCY_KEY_CHARS_MAX and key.isprintable() and key.isascii()


def _problem(status: int, code: str, detail: str, path: str) -> tuple[int, bytes]:
    body = {
        "type": PROBLEM_TYPE_BASE + code.replace("_", "-"),
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": path,
        "request_id": current_request_id(),
    }
    return status, json.dumps(body).encode()


async def send_whole(
    send: Send, status: int, content_type: str, body: bytes, *, retry_after: int | None = None
) -> None:
    """A whole answer in one body message, with its type and length (the lanes' too)."""
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def read_body(receive: Receive) -> bytes:
    """The whole request body. Its size was already held to the app-wide limit by
    service/http/body_limit.py, which wraps the whole app: one place enforces it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def idempotency_key_valid(
    connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler
) -> None:
    """App-wide check, after the access check: a malformed Idempotency-Key is a 400."""
    if connection.scope.get("state", {}).get(_INVALID_KEY_STATE):
        raise Problem(
            status=400,
            code="idempotency_key_invalid",
            detail=_("Idempotency-Key must be 1 to 255 printable ASCII characters."),
        )


async def caller_of(headers: Headers, scope: Scope) -> str | None:
    """The calling member's id; the principal is kept in the scope for the handler."""
    authorization = headers.get("authorization", "")
    scheme, _sep, token = authorization.partition(" ")
    principal = None
    if scheme.lower() == "bearer" and token.strip():
        principal = await principal_resolver(scope).from_token(token.strip())
    elif not authorization:
        cookie = _cookie(headers, SESSION_COOKIE_NAME)
        principal = await principal_resolver(scope).from_session(cookie) if cookie else None
    if principal is None:
        return None
    remember_principal(cast("MutableMapping[str, Any]", scope), principal)
    # Acting for a member (ADR 0031): the coordinator's keys are kept apart per member,
    # so one key sent for two members never answers the second with the first's reply.
    on_behalf = headers.get(ON_BEHALF_HEADER)
    if on_behalf is not None:
        return f"{principal.member_id}/for/{_short(on_behalf)}"
    if principal.acting_for_id is not None:
        return f"{principal.member_id}/for/{principal.acting_for_id}"
    return str(principal.member_id)


UUID_TEXT_CHARS = 36


def _short(value: str) -> str:
    # The caller column holds 80 characters; a header that is no member id is refused
    # by the guard anyway, but must still make a key that fits.
    return value.strip()[:UUID_TEXT_CHARS]


def _cookie(headers: Headers, name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, _sep, value = part.strip().partition("=")
        if key == name:
            return value
    return None


class KeyTaken(Conflict):
    """The key was stored by another request while this one wrote: nothing of ours commits."""

    def __init__(self) -> None:
        super().__init__(
            code="idempotency_key_in_progress",
            detail=_("A request with this Idempotency-Key is still being processed."),
        )


# One statement for any number of replies (a group-committed batch of keyed gifts,
# ADR 0056); the same text whatever the count, so PostgreSQL prepares it once.
_STORE_ROWS_POSTGRES = (
    "INSERT INTO market_idempotency_key "
    "(caller, key, method, path, body_sha256, status, content_type, body, created_at) "
    "SELECT caller, key, method, path, body_sha256, status, $7, body, $8 "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], "
    "$9::text[]) AS reply(caller, key, method, path, body_sha256, status, body) "
)
_STORE_WITHIN_POSTGRES = (
    _STORE_ROWS_POSTGRES + "ON CONFLICT (caller, key) DO NOTHING RETURNING caller, key"
)
# The same rows, failing rather than leaving one out (a key already had): a batch sent as
# a statement of its own commits as it returns, with no check left to take it back
# (ADR 0072); one that fails goes to a transaction, where the statement above judges it.
_STORE_WITHIN_POSTGRES_STRICT = _STORE_ROWS_POSTGRES + "RETURNING caller, key"
# SQLite runs in-process: a statement per reply costs no round trip.
_STORE_WITHIN_SQLITE = (
    "INSERT INTO market_idempotency_key "
    "(caller, key, method, path, body_sha256, status, content_type, body, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
    "ON CONFLICT (caller, key) DO NOTHING RETURNING caller, key"
)
JSON_MEDIA_TYPE = "application/json"


@dataclass(slots=True)
class KeyedReply:
    """A keyed request's final reply, to be stored in the transaction of its write (ADR 0037)."""

    caller: str
    key: str
    fingerprint: tuple[str, str, str]
    stored: tuple[int, bytes] | None = None
    taken: bool = False

    async def store(self, connection: Connection, status: int, body: bytes) -> None:
        """Insert the final reply on the write's own connection; KeyTaken if the key is had."""
        replies: list[Reply] = [(self, status, body)]
        _mark_stored(replies, await _insert_replies(connection, replies))


Reply = tuple[KeyedReply, int, bytes]


def stored_with_write(
    keyed: KeyedReply, status: int, render: Callable[[Sequence[Transfer]], bytes]
) -> SharedAfter:
    """The ledger step that stores a new transfer's reply, made by `render` from what was
    written, in one statement with the other replies of the same write (ADR 0056)."""
    return SharedAfter(_store_rendered, (keyed, status, render), _STORED_IN_THE_WRITE)


def _rendered(items: list[tuple[Any, Sequence[Transfer]]]) -> list[Reply]:
    return [(keyed, status, render(written)) for (keyed, status, render), written in items]


async def _store_rendered(
    connection: Connection, items: list[tuple[Any, Sequence[Transfer]]]
) -> None:
    replies = _rendered(items)
    _mark_stored(replies, await _insert_replies(connection, replies))


def _prepare_in_write(
    items: list[tuple[Any, Sequence[Transfer]]],
) -> tuple[list[Any], Callable[[list[Mapping[str, Any]]], None]]:
    """The replies' parameters for the ledger's write statement, and the check of what it
    stored (PostgreSQL, ADR 0068): the same INSERT as `_insert_replies`, in the write."""
    replies = _rendered(items)

    def check(found: list[Mapping[str, Any]]) -> None:
        _mark_stored(replies, {(row["caller"], row["key"]) for row in found})

    return _postgres_parameters(replies), check


_STORED_IN_THE_WRITE = JoinedStatement(
    _STORE_WITHIN_POSTGRES, _prepare_in_write, _STORE_WITHIN_POSTGRES_STRICT
)


def _mark_stored(replies: list[Reply], stored: set[tuple[str, str]]) -> None:
    """Mark the replies stored; any whose key is already had is marked taken and KeyTaken
    is raised, so the write commits nothing (a batch is then split, and only the request
    whose key was taken fails: ledger/group_commit.py)."""
    # Two replies for one key in one statement cannot both be had: both count as taken,
    # and once the batch is split each is judged alone.
    asked = Counter((keyed.caller, keyed.key) for keyed, _status, _body in replies)
    taken = False
    for keyed, status, body in replies:
        ident = (keyed.caller, keyed.key)
        if ident in stored and asked[ident] == 1:
            keyed.stored, keyed.taken = (status, body), False
        else:  # a reply kept by an earlier, rolled-back attempt is void too
            keyed.stored, keyed.taken = None, True
            taken = True
    if taken:
        raise KeyTaken


def _reply_rows(replies: list[Reply]) -> list[tuple[Any, ...]]:
    return [
        (keyed.caller, keyed.key, *keyed.fingerprint, status, body.decode())
        for keyed, status, body in replies
    ]


def _postgres_parameters(replies: list[Reply]) -> list[Any]:
    """`_STORE_WITHIN_POSTGRES`'s parameters: a column array each, the type, the instant."""
    columns = [list(column) for column in zip(*_reply_rows(replies), strict=True)]
    return [*columns[:6], JSON_MEDIA_TYPE, clock.utc_now(), columns[6]]


async def _insert_replies(connection: Connection, replies: list[Reply]) -> set[tuple[str, str]]:
    if connection.is_postgres:
        found = await connection.fetch(_STORE_WITHIN_POSTGRES, *_postgres_parameters(replies))
    else:
        now = clock.utc_now()
        found = []
        for caller, key, method, path, digest, status, body in _reply_rows(replies):
            # The text Piccolo's Timestamptz writes on SQLite (the reservation path reads it).
            row = await connection.fetchrow(
                _STORE_WITHIN_SQLITE,
                caller,
                key,
                method,
                path,
                digest,
                status,
                JSON_MEDIA_TYPE,
                body,
                str(now),
            )
            if row is not None:
                found.append(row)
    return {(row["caller"], row["key"]) for row in found}


def keyed_reply_from_scope(scope: Scope) -> KeyedReply | None:
    """The reply to store within the write, on routes behind `idempotency_middleware_in_write`."""
    value = scope.get("state", {}).get(_KEYED_REPLY_STATE)
    return value if isinstance(value, KeyedReply) else None


class _Answer(Protocol):
    async def __call__(
        self, app: ASGIApp, scope: Scope, send: Send, *, caller: str, key: str, body: bytes
    ) -> None: ...


def _keyed_middleware(app: ASGIApp, answer: _Answer) -> ASGIApp:
    """What both keyed middlewares share: pass through what carries no usable key,
    read the body of what does, and let `answer` judge the key and run the handler."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers.from_scope(scope)
        key = headers.get("idempotency-key")
        if scope["type"] != ScopeType.HTTP or key is None:
            await app(scope, receive, send)
            return
        caller = await caller_of(headers, scope)
        if caller is None:  # the access guard answers 401 itself, before the key is judged
            await app(scope, receive, send)
            return
        if not valid_key(key):
            # Judged by the guard `idempotency_key_valid`, after the access guard: a
            # caller who may not see the route's object gets its 404 first (ADR 0025).
            scope.setdefault("state", {})[_INVALID_KEY_STATE] = True
            await app(scope, receive, send)
            return
        request_body = await read_body(receive)
        await answer(app, scope, send, caller=caller, key=key, body=request_body)

    return middleware


def idempotency_middleware(app: ASGIApp) -> ASGIApp:
    """Route middleware for value-moving POSTs (see module docstring)."""
    return _keyed_middleware(app, _answer)


def idempotency_middleware_in_write(app: ASGIApp) -> ASGIApp:
    """For routes whose handler stores its reply with its one ledger write (ADR 0037).

    The handler must call `KeyedReply.store` inside the transaction of every
    write it makes for a keyed request, and a repeat must write nothing (its ids
    derived from the key, or a conditional UPDATE that only one request wins); a
    route that writes anything else must use `idempotency_middleware`.
    """
    return _keyed_middleware(app, answer_in_write)


async def answer_in_write(
    app: ASGIApp, scope: Scope, send: Send, *, caller: str, key: str, body: bytes
) -> None:
    """Run `app` for a keyed request whose reply is stored with its write (ADR 0037),
    and answer from the stored reply; the reservation path takes every other outcome."""
    fingerprint = (str(scope.get("method", "")), scope["path"], hashlib.sha256(body).hexdigest())
    # No lookup first: a key that already has a row (a replay, a reuse, a reservation)
    # cannot take effect, because the transfer's id is derived from the key and the
    # transfer commits only with the key's row (`KeyedReply.store` raises `KeyTaken`,
    # or the ledger replays the id and stores nothing); the ADR 0019 path below then
    # answers from that row. Repeats cost a handler run; first requests one statement less.
    keyed = KeyedReply(caller, key, fingerprint)
    state = scope.setdefault("state", {})
    state[STATE_KEY] = key
    state[_KEYED_REPLY_STATE] = keyed
    try:
        status, content_type, response_body = await _run_capturing(app, scope, body)
    finally:
        del state[_KEYED_REPLY_STATE]
    if keyed.stored is not None and keyed.stored[0] == status:
        # The handler answered after its write committed: send the bytes stored with it.
        await send_whole(send, status, JSON_MEDIA_TYPE, keyed.stored[1])
        return
    if keyed.taken:  # another request holds the key; we wrote nothing
        await _answer(app, scope, send, caller=caller, key=key, body=body)
        return
    if not _is_final(status):
        await send_whole(send, status, content_type, response_body)
        return
    # A final answer that moved nothing of ours (a refusal, or a replay of a
    # transfer another request wrote): kept if the key is still free, else the
    # key's owner answers.
    if await _insert_row(caller, key, fingerprint, status, content_type, response_body.decode()):
        await send_whole(send, status, content_type, response_body)
        return
    await _answer(app, scope, send, caller=caller, key=key, body=body)


async def _answer(
    app: ASGIApp, scope: Scope, send: Send, *, caller: str, key: str, body: bytes
) -> None:
    fingerprint = (str(scope.get("method", "")), scope["path"], hashlib.sha256(body).hexdigest())
    stored = await _reserve(caller, key, fingerprint)
    if stored is not None:
        await _send_stored(send, stored, fingerprint, scope["path"])
        return
    scope.setdefault("state", {})[STATE_KEY] = key
    try:
        status, content_type, response_body = await _run_capturing(app, scope, body)
    except BaseException:
        await _release(caller, key)
        raise
    if _is_final(status):
        await _store(caller, key, status, content_type, response_body)
    else:
        await _release(caller, key)
    await send_whole(send, status, content_type, response_body)


def _is_final(status: int) -> bool:
    return status < SERVER_ERROR_STATUS_MIN and status not in NOT_FINAL_STATUSES


async def _send_stored(
    send: Send, stored: IdempotencyKey | None, fingerprint: tuple[str, str, str], path: str
) -> None:
    if stored is None or stored.status == IN_PROGRESS:
        status, problem = _problem(
            409,
            "idempotency_key_in_progress",
            "A request with this Idempotency-Key is still being processed. Try again shortly.",
            path,
        )
        await send_whole(
            send, status, PROBLEM_MEDIA_TYPE, problem, retry_after=IDEMPOTENCY_RETRY_AFTER_SECONDS
        )
    elif (stored.method, stored.path, stored.body_sha256) == fingerprint:
        await send_whole(send, stored.status, stored.content_type, stored.body.encode())
    else:
        status, problem = _problem(
            409,
            "idempotency_key_reused",
            "This Idempotency-Key was used before with a different request.",
            path,
        )
        await send_whole(send, status, PROBLEM_MEDIA_TYPE, problem)


_BUSY = IdempotencyKey(caller="", key="", status=IN_PROGRESS)


async def _reserve(
    caller: str, key: str, fingerprint: tuple[str, str, str]
) -> IdempotencyKey | None:
    """None when this request now owns the key; else the stored row (or _BUSY after waiting)."""
    deadline = time.monotonic() + IDEMPOTENCY_WAIT_SECONDS
    while True:
        if await _insert_reservation(caller, key, fingerprint):
            return None
        row = await _row(caller, key)
        if row is None:  # released between our insert and our read: try again at once
            continue
        if row.status != IN_PROGRESS or _fingerprint(row) != fingerprint:
            return row
        if await _take_over_if_stale(row):
            return None
        if time.monotonic() >= deadline:
            return _BUSY
        await asyncio.sleep(IDEMPOTENCY_POLL_SECONDS)


def _fingerprint(row: IdempotencyKey) -> tuple[str, str, str]:
    return (row.method, row.path, row.body_sha256)


async def _insert_reservation(caller: str, key: str, fingerprint: tuple[str, str, str]) -> bool:
    return await _insert_row(caller, key, fingerprint, IN_PROGRESS, "", "")


async def _insert_row(  # noqa: PLR0917 - one row's columns
    caller: str,
    key: str,
    fingerprint: tuple[str, str, str],
    status: int,
    content_type: str,
    body: str,
) -> bool:
    method, path, digest = fingerprint
    row = IdempotencyKey(
        caller=caller,
        key=key,
        method=method,
        path=path,
        body_sha256=digest,
        status=status,
        content_type=content_type,
        body=body,
        created_at=clock.utc_now(),
    )
    try:
        await IdempotencyKey.insert(row).run()
    except (sqlite3.IntegrityError, asyncpg.UniqueViolationError):
        return False
    return True


async def _row(caller: str, key: str) -> IdempotencyKey | None:
    return await (
        IdempotencyKey.objects()
        .where((IdempotencyKey.caller == caller) & (IdempotencyKey.key == key))
        .first()
        .run()
    )


async def _take_over_if_stale(row: IdempotencyKey) -> bool:
    """Claim a reservation left by a request that died; only one claimant wins."""
    stale_before = clock.utc_now() - timedelta(seconds=IDEMPOTENCY_RESERVATION_STALE_SECONDS)
    if row.created_at > stale_before:
        return False
    claimed = await (
        IdempotencyKey.update({IdempotencyKey.created_at: clock.utc_now()})
        .where(
            (IdempotencyKey.caller == row.caller)
            & (IdempotencyKey.key == row.key)
            & (IdempotencyKey.status == IN_PROGRESS)
            & (IdempotencyKey.created_at == row.created_at)
        )
        .returning(IdempotencyKey.caller)
        .run()
    )
    return bool(claimed)


async def _store(caller: str, key: str, status: int, content_type: str, body: bytes) -> None:
    await (
        IdempotencyKey.update(
            {
                IdempotencyKey.status: status,
                IdempotencyKey.content_type: content_type,
                IdempotencyKey.body: body.decode(),
            }
        )
        .where((IdempotencyKey.caller == caller) & (IdempotencyKey.key == key))
        .run()
    )


async def _release(caller: str, key: str) -> None:
    await (
        IdempotencyKey.delete()
        .where(
            (IdempotencyKey.caller == caller)
            & (IdempotencyKey.key == key)
            & (IdempotencyKey.status == IN_PROGRESS)
        )
        .run()
    )


def replayed(body: bytes) -> Receive:
    """A receive that hands over a body already read, once; then the client is gone."""
    delivered = False

    async def replay() -> ReceiveMessage:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _run_capturing(app: ASGIApp, scope: Scope, body: bytes) -> tuple[int, str, bytes]:
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

    await app(scope, replayed(body), capture)
    return status, content_type, b"".join(chunks)


__all__ = [
    "KeyTaken",
    "KeyedReply",
    "answer_in_write",
    "caller_of",
    "derived_id",
    "idempotency_key_valid",
    "idempotency_middleware",
    "idempotency_middleware_in_write",
    "key_from_scope",
    "keyed_reply_from_scope",
    "read_body",
    "replayed",
    "send_whole",
    "stored_with_write",
    "valid_key",
]
