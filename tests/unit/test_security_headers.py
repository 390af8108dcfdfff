"""Security headers are added to a response's own header pairs (service/http/security.py)."""

from __future__ import annotations

from typing import Any

from service.http.security import (
    _BASE_HEADERS,
    CONTENT_SECURITY_POLICY,
    PAGE_CACHE_CONTROL,
    secure_start,
    security_header_pairs,
)

ENCODED = security_header_pairs(https=False)


def _start(*headers: tuple[bytes, bytes]) -> dict[str, Any]:
    return {"type": "http.response.start", "status": 200, "headers": list(headers)}


def _all(message: dict[str, Any], name: str) -> list[str]:
    return [value.decode() for key, value in message["headers"] if key.decode().lower() == name]


def test_a_json_reply_gets_each_header_once_and_no_page_cache_rule() -> None:
    message = _start((b"content-type", b"application/json"))
    secure_start(message, ENCODED)
    for name, value in _BASE_HEADERS.items():
        assert _all(message, name) == [value]
    assert _all(message, "cache-control") == []


def test_a_page_is_asked_for_again_unless_it_says_otherwise() -> None:
    page = _start((b"content-type", b"text/html; charset=utf-8"))
    secure_start(page, ENCODED)
    assert _all(page, "cache-control") == [PAGE_CACHE_CONTROL]
    cached = _start((b"content-type", b"text/html"), (b"cache-control", b"no-store"))
    secure_start(cached, ENCODED)
    assert _all(cached, "cache-control") == ["no-store"]


def test_a_page_keeps_its_own_wider_policy_and_loses_any_other_header_it_set() -> None:
    wider = CONTENT_SECURITY_POLICY + " https://checkout.example"
    message = _start(
        (b"content-type", b"text/html"),
        (b"Content-Security-Policy", wider.encode()),
        (b"X-Frame-Options", b"SAMEORIGIN"),
    )
    secure_start(message, ENCODED)
    assert _all(message, "content-security-policy") == [wider]
    assert _all(message, "x-frame-options") == ["DENY"]


def test_headers_sent_as_any_iterable_are_kept() -> None:
    message: dict[str, Any] = {
        "type": "http.response.start",
        "status": 204,
        "headers": ((b"x-request-id", b"req-1"),),
    }
    secure_start(message, ENCODED)
    assert _all(message, "x-request-id") == ["req-1"]
    assert _all(message, "x-content-type-options") == ["nosniff"]
