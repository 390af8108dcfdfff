"""Item 6: a body over the limit gets a 413 problem, never a reset, on every route.

A raw asyncio socket client talks to a real `timebank serve` process: an HTTP
client library might hide a reset behind a retry, and the test transport never
has a socket to reset. Each body is 3 MB, sent whole (the way a careless client
does, without waiting for an answer), with a Content-Length and chunked.

Below them, the middleware itself at the ASGI level (what it reads, whether the
app runs), and a keyed request: service/http/body_limit.py is the one place the
limit is enforced, the Idempotency-Key middleware relies on it (review finding).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from service.http.body_limit import body_limit_middleware
from service.http.idempotency_tables import IdempotencyKey
from service.limits import REQUEST_BODY_DRAIN_BYTES_MAX, REQUEST_BODY_SIZE_MAX_BYTES
from service.problems import PROBLEM_MEDIA_TYPE
from tests.support.people import Town
from tests.support.server import LiveServer

BODY_BYTES = 3 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
# A client that would stream for ever: far past the limit and the drain allowance.
ENDLESS_BYTES = 64 * 1024 * 1024
REPEATS = 20
# An API route that reads its body, a page form (CSRF would refuse it: the size
# must be refused first), and routes that never read a body at all.
ROUTES = [
    ("POST", "/api/v1/auth/register"),
    ("POST", "/sign-in"),
    ("POST", "/api/v1/listings"),
    ("PUT", "/health"),
]


async def _send_oversized(base_url: str, method: str, path: str, *, chunked: bool) -> bytes:
    """Send the whole body, then read the whole answer until the server closes or it ends."""
    address = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        head = f"{method} {path} HTTP/1.1\r\nHost: {address.netloc}\r\n"
        head += "Content-Type: application/json\r\nConnection: close\r\n"
        if chunked:
            writer.write(f"{head}Transfer-Encoding: chunked\r\n\r\n".encode())
            chunk = b"x" * CHUNK_BYTES
            for _ in range(BODY_BYTES // CHUNK_BYTES):
                writer.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
                await writer.drain()
            writer.write(b"0\r\n\r\n")
        else:
            writer.write(f"{head}Content-Length: {BODY_BYTES}\r\n\r\n".encode())
            writer.write(b"x" * BODY_BYTES)
        await writer.drain()
        return await reader.read()  # to EOF: "Connection: close" was asked for
    finally:
        writer.close()
        await writer.wait_closed()


def _parse(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split(" ")[1]), headers, body


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_oversized_bodies_always_get_a_413_problem(
    live_server: LiveServer, chunked: bool
) -> None:
    for method, path in ROUTES:
        for attempt in range(REPEATS):
            # A reset here raises ConnectionResetError/BrokenPipeError: the test fails.
            answer = await _send_oversized(live_server.base_url, method, path, chunked=chunked)
            status, headers, body = _parse(answer)
            where = f"{method} {path} attempt {attempt}"
            assert status == 413, (where, answer[:300])
            assert headers["content-type"].startswith(PROBLEM_MEDIA_TYPE), where
            assert len(body) == int(headers["content-length"]), where
            problem = json.loads(body)
            assert problem["code"] == "request_too_large", where
            assert problem["status"] == 413
            assert problem["limit_bytes"] == REQUEST_BODY_SIZE_MAX_BYTES
            assert problem["instance"] == path


async def test_a_body_within_the_limit_still_reaches_the_route(live_server: LiveServer) -> None:
    """Chunked bodies are collected and replayed: a small one is read as usual."""
    address = urlsplit(live_server.base_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    body = b'{"email": "x"}'
    writer.write(
        f"POST /api/v1/auth/token HTTP/1.1\r\nHost: {address.netloc}\r\n"
        "Content-Type: application/json\r\nConnection: close\r\n"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
        + b"%x\r\n%b\r\n0\r\n\r\n" % (len(body), body)
    )
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    status, _, problem = _parse(answer)
    # The route read the body and found the password missing: not a 413, not a 500.
    assert status == 400, answer[:300]
    assert json.loads(problem)["code"] == "validation_failed"


class _Recorder:
    """An ASGI app that records the body it was given, and what was sent back."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.sent: list[dict[str, Any]] = []

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        del scope, send
        message = await receive()
        self.bodies.append(message.get("body", b""))

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int | None:
        starts = [m for m in self.sent if m["type"] == "http.response.start"]
        return starts[0]["status"] if starts else None


def _endless_stream(pulled: list[int]) -> Any:
    async def receive() -> dict[str, Any]:
        pulled.append(CHUNK_BYTES)
        more = sum(pulled) < ENDLESS_BYTES
        return {"type": "http.request", "body": b"x" * CHUNK_BYTES, "more_body": more}

    return receive


async def test_a_chunked_body_past_the_limit_never_reaches_the_app_nor_is_read_whole() -> None:
    recorder = _Recorder()
    pulled: list[int] = []
    scope: Any = {"type": "http", "path": "/x", "headers": [(b"transfer-encoding", b"chunked")]}
    await body_limit_middleware(recorder.app)(scope, _endless_stream(pulled), recorder.send)
    assert recorder.bodies == []
    assert recorder.status == 413
    # Collected up to the limit, then thrown away up to the drain allowance, never all of it.
    assert REQUEST_BODY_SIZE_MAX_BYTES < sum(pulled) <= REQUEST_BODY_DRAIN_BYTES_MAX + CHUNK_BYTES


async def test_a_declared_length_past_the_limit_never_reaches_the_app() -> None:
    recorder = _Recorder()
    pulled: list[int] = []
    length = str(REQUEST_BODY_SIZE_MAX_BYTES + 1).encode()
    scope: Any = {"type": "http", "path": "/x", "headers": [(b"content-length", length)]}
    await body_limit_middleware(recorder.app)(scope, _endless_stream(pulled), recorder.send)
    assert recorder.bodies == []
    assert recorder.status == 413


async def test_a_chunked_body_within_the_limit_reaches_the_app_whole() -> None:
    recorder = _Recorder()
    chunks = [b'{"minutes": ', b"5}"]

    async def receive() -> dict[str, Any]:
        body = chunks.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(chunks)}

    scope: Any = {"type": "http", "path": "/x", "headers": []}
    await body_limit_middleware(recorder.app)(scope, receive, recorder.send)
    assert recorder.bodies == [b'{"minutes": 5}']
    assert recorder.sent == []  # the app answered nothing: the middleware added nothing


async def test_a_keyed_request_over_the_limit_gets_the_same_413_and_reserves_no_key(
    town: Town,
) -> None:
    """The Idempotency-Key middleware reads bodies without a limit of its own: the
    app-wide one refuses first, so the key is never reserved."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(BODY_BYTES // CHUNK_BYTES):
            yield b"x" * CHUNK_BYTES

    response = await town.client.post(
        "/api/v1/transfers",
        content=chunks(),
        headers={
            **town.alice.headers,
            "content-type": "application/json",
            "Idempotency-Key": "too-big-1",
        },
    )
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "request_too_large"
    assert response.json()["limit_bytes"] == REQUEST_BODY_SIZE_MAX_BYTES
    assert await IdempotencyKey.count().where(IdempotencyKey.key == "too-big-1").run() == 0
