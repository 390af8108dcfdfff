"""Item 6: a body over the limit gets a 413 problem, never a reset, on every route.

A raw asyncio socket client talks to a real `timebank serve` process: an HTTP
client library might hide a reset behind a retry, and the test transport never
has a socket to reset. Each body is 3 MB, sent whole (the way a careless client
does, without waiting for an answer), with a Content-Length and chunked.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import pytest

from service.limits import REQUEST_BODY_SIZE_MAX_BYTES
from service.problems import PROBLEM_MEDIA_TYPE
from tests.support.server import LiveServer

BODY_BYTES = 3 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
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
