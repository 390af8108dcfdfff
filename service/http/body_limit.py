"""Oversized request bodies: a 413 problem document, sent before the connection closes.

Why a wrapper of its own, outside Litestar: Litestar refuses a body over
`request_max_body_size` as soon as it sees the size, and answers while the
client is still sending. The server then closes a socket with unread bytes in
it, and the kernel answers those bytes with a TCP reset, which can reach the
client before the 413 does: the caller sees "connection reset" instead of a
reason. Routes that never read their body (a GET, a page without a form) leave
the same unread bytes behind.

So, for every HTTP request, before the application sees it:

- A declared `Content-Length` over the limit is refused without handing
  anything to the application. The body is read and thrown away first (up to
  `REQUEST_BODY_DRAIN_BYTES_MAX`), so the server closes a socket with nothing
  unread in it. A client that asked `Expect: 100-continue` has not sent the
  body: it is answered at once, and never sent the body.
- A body without a declared length (chunked, or none at all) is collected up to the limit
  before the application runs, and replayed to it in one message; one byte over,
  the rest is thrown away as above and the application never runs. The
  application never sees a partial body, so a cut-off form cannot be mistaken
  for a whole one. Collecting costs no more memory than the application's own
  body parsing already did (forms and JSON are read whole).

A body beyond the drain allowance is not read further: the 413 goes out with
`Connection: close`, and such a client may see a reset. That is the price of
not letting one client hold a worker for ever.
"""

from __future__ import annotations

import json
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from service.i18n import _
from service.limits import REQUEST_BODY_DRAIN_BYTES_MAX, REQUEST_BODY_SIZE_MAX_BYTES
from service.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE

TOO_LARGE_CODE = "request_too_large"


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


def length_declared(raw: bytes | str | None) -> int | None:
    """A Content-Length value as a number; None if absent or not a number (the server
    refuses those). The lanes read it the same way (service/http/lanes.py)."""
    if raw is None or not raw.strip().isdigit():
        return None
    return int(raw)


def _declared_length(scope: Scope) -> int | None:
    return length_declared(_header(scope, b"content-length"))


def _too_large_body(scope: Scope, limit_bytes: int) -> bytes:
    document = {
        "type": PROBLEM_TYPE_BASE + TOO_LARGE_CODE.replace("_", "-"),
        "title": _("Request Entity Too Large"),
        "status": 413,
        "detail": _("The request is too large. Send at most %(kib)s KiB.")
        % {"kib": limit_bytes // 1024},
        "code": TOO_LARGE_CODE,
        "instance": scope.get("path", ""),
        "limit_bytes": limit_bytes,
    }
    return json.dumps(document).encode()


async def _send_too_large(scope: Scope, send: Send, *, limit_bytes: int, close: bool) -> None:
    body = _too_large_body(scope, limit_bytes)
    headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _drain(receive: Receive, already_read_bytes: int, *, drain_max_bytes: int) -> bool:
    """Read and discard the rest of the body; True if it ended within the allowance."""
    read_bytes = already_read_bytes
    while read_bytes <= drain_max_bytes:
        message = await receive()
        if message["type"] != "http.request":
            return False  # the client went away
        read_bytes += len(message.get("body", b""))
        if not message.get("more_body", False):
            return True
    return False


async def _collect(receive: Receive, limit_bytes: int) -> tuple[bytes | None, int, bool]:
    """Read a body of unknown length: (body, bytes read, more to come).

    The body is None if the client went away or the body passed the limit.
    """
    chunks: list[bytes] = []
    read_bytes = 0
    more_body = True
    while more_body:
        message = await receive()
        if message["type"] != "http.request":
            return None, read_bytes, False
        chunk = message.get("body", b"")
        read_bytes += len(chunk)
        more_body = bool(message.get("more_body", False))
        if read_bytes > limit_bytes:
            return None, read_bytes, more_body
        chunks.append(chunk)
    return b"".join(chunks), read_bytes, False


def body_limit_middleware(
    app: ASGIApp,
    *,
    limit_bytes: int = REQUEST_BODY_SIZE_MAX_BYTES,
    drain_max_bytes: int = REQUEST_BODY_DRAIN_BYTES_MAX,
) -> ASGIApp:
    """Wrap `app` so that no request body over `limit_bytes` ever reaches it."""

    async def refuse(scope: Scope, receive: Receive, send: Send, read_bytes: int) -> None:
        drained = await _drain(receive, read_bytes, drain_max_bytes=drain_max_bytes)
        await _send_too_large(scope, send, limit_bytes=limit_bytes, close=not drained)

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared <= limit_bytes:
            await app(scope, receive, send)  # the server holds it to the declared length
            return
        if declared is not None:
            if (_header(scope, b"expect") or b"").lower() == b"100-continue":
                # The body has not been sent; closing leaves nothing unread.
                await _send_too_large(scope, send, limit_bytes=limit_bytes, close=True)
            else:
                await refuse(scope, receive, send, 0)
            return
        body, read_bytes, more_body = await _collect(receive, limit_bytes)
        if body is not None:
            await app(scope, _replay(body, receive), send)
        elif more_body:
            await refuse(scope, receive, send, read_bytes)
        elif read_bytes > limit_bytes:
            await _send_too_large(scope, send, limit_bytes=limit_bytes, close=False)
        # Otherwise the client went away: there is nobody to answer.

    return middleware


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the collected body once, then the server's own messages."""
    given = False

    async def replay() -> Any:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
