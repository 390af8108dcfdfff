"""Security headers on every response, including errors and static files."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, cast

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

CSP_HEADER = "content-security-policy"


def content_security_policy(*, form_targets: tuple[str, ...] = ()) -> str:
    """The site's policy. `form_targets` are other origins a form may be sent or redirected to
    (the donate form is answered with a redirect to Stripe Checkout)."""
    # No inline script or style anywhere: every asset is a local file, so the
    # policy can stay strict. frame-ancestors 'none' stops click-jacking.
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            " ".join(("form-action 'self'", *form_targets)),
            "frame-ancestors 'none'",
        )
    )


CONTENT_SECURITY_POLICY = content_security_policy()
HSTS_MAX_AGE_SECONDS = 31_536_000
PAGE_CACHE_CONTROL = "no-cache, private"

_BASE_HEADERS = {
    CSP_HEADER: CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "DENY",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "cross-origin-opener-policy": "same-origin",
}


def security_header_pairs(*, https: bool) -> list[tuple[bytes, bytes]]:
    """The headers every response carries, as the ASGI start message holds them."""
    headers = dict(_BASE_HEADERS)
    if https:
        headers["strict-transport-security"] = f"max-age={HSTS_MAX_AGE_SECONDS}; includeSubDomains"
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


def security_headers_middleware(app: ASGIApp, *, https: bool) -> ASGIApp:
    encoded = security_header_pairs(https=https)

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                secure_start(message, encoded)
            await send(message)

        await app(scope, receive, send_wrapper)

    return middleware


_CSP_HEADER_BYTES = CSP_HEADER.encode("latin-1")
_CACHE_CONTROL = b"cache-control"
_CONTENT_TYPE = b"content-type"
_PAGE_CACHE_CONTROL_BYTES = PAGE_CACHE_CONTROL.encode("latin-1")


def secure_start(message: Message, headers: list[tuple[bytes, bytes]]) -> None:
    """Add the security headers to a response's start, in its own list of header pairs.

    A header the response already has is replaced (Litestar's MutableScopeHeaders, a
    search per name, only then), except a page's own wider policy.
    """
    start = cast("MutableMapping[str, Any]", message)
    sent = start.get("headers") or []
    # An ASGI app may send any iterable of pairs; Litestar and ours send a list.
    raw: list[tuple[bytes, bytes]] = sent if isinstance(sent, list) else list(sent)
    start["headers"] = raw
    present = {bytes(name).lower(): bytes(value) for name, value in raw}
    for name, value in headers:
        if name not in present:
            raw.append((name, value))
        elif name != _CSP_HEADER_BYTES:
            MutableScopeHeaders.from_message(message)[name.decode("latin-1")] = value.decode(
                "latin-1"
            )
    # Pages hold a member's own figures and change with every exchange: a
    # browser asks again each time (the files they use are cached, ADR 0044).
    is_page = present.get(_CONTENT_TYPE, b"").startswith(b"text/html")
    if is_page and _CACHE_CONTROL not in present:
        raw.append((_CACHE_CONTROL, _PAGE_CACHE_CONTROL_BYTES))
