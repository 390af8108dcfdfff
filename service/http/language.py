"""The language of each request, before anything else runs (ADR 0048).

The cookie `lang` (set by the chooser on every page) or else the Accept-Language
header decides; a signed-in member's stored choice overrides both once the caller
is known (service/http/deps.py). Set here, outside Litestar, so error pages, 404s
and problem documents are in the same language as the page around them.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from service.i18n import LANGUAGE_COOKIE, negotiate, use_language


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def cookie_value(cookie_header: str | None, name: str) -> str | None:
    for part in (cookie_header or "").split(";"):
        key, _sep, value = part.strip().partition("=")
        if key == name:
            return value.strip().strip('"')
    return None


def request_language(scope: Scope) -> str:
    return negotiate(
        member_choice=None,
        cookie=cookie_value(_header(scope, b"cookie"), LANGUAGE_COOKIE),
        accept_language=_header(scope, b"accept-language"),
    )


def language_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        # Reset afterwards: a test client may run many requests in one task.
        with use_language(request_language(scope)):
            await app(scope, receive, send)

    return middleware
