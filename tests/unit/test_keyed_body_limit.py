"""The Idempotency-Key middleware reads a body with the size limit enforced while it streams
(issue 13 item 1): a 64 MiB chunked body is refused after reading just past 1 MiB."""

from __future__ import annotations

from typing import Any

from service.http.idempotency import read_body_within_limit
from service.limits import REQUEST_BODY_SIZE_MAX_BYTES

CHUNK_BYTES = 64 * 1024
OFFERED_BYTES = 64 * 1024 * 1024


def _stream(pulled: list[int]) -> Any:
    async def receive() -> dict[str, Any]:
        pulled.append(CHUNK_BYTES)
        more = sum(pulled) < OFFERED_BYTES
        return {"type": "http.request", "body": b"x" * CHUNK_BYTES, "more_body": more}

    return receive


async def test_a_chunked_body_past_the_limit_is_refused_without_buffering_it() -> None:
    pulled: list[int] = []
    scope: Any = {"type": "http", "headers": [(b"transfer-encoding", b"chunked")]}
    assert await read_body_within_limit(scope, _stream(pulled)) is None
    assert REQUEST_BODY_SIZE_MAX_BYTES < sum(pulled) <= REQUEST_BODY_SIZE_MAX_BYTES + CHUNK_BYTES


async def test_a_declared_length_past_the_limit_is_refused_before_reading() -> None:
    pulled: list[int] = []
    length = str(REQUEST_BODY_SIZE_MAX_BYTES + 1).encode()
    scope: Any = {"type": "http", "headers": [(b"content-length", length)]}
    assert await read_body_within_limit(scope, _stream(pulled)) is None
    assert pulled == []


async def test_a_body_within_the_limit_is_read_whole() -> None:
    chunks = [b'{"minutes": ', b"5}"]

    async def receive() -> dict[str, Any]:
        body = chunks.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(chunks)}

    scope: Any = {"type": "http", "headers": []}
    assert await read_body_within_limit(scope, receive) == b'{"minutes": 5}'
