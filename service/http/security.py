"""Security headers on every response, including errors and static files."""

from __future__ import annotations

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


def security_headers_middleware(app: ASGIApp, *, https: bool) -> ASGIApp:
    headers = dict(_BASE_HEADERS)
    if https:
        headers["strict-transport-security"] = f"max-age={HSTS_MAX_AGE_SECONDS}; includeSubDomains"

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                mutable = MutableScopeHeaders.from_message(message)
                for name, value in headers.items():
                    # A page may widen only its own policy, built with content_security_policy().
                    if name == CSP_HEADER and name in mutable:
                        continue
                    mutable[name] = value
                # Pages hold a member's own figures and change with every exchange: a
                # browser asks again each time (the files they use are cached, ADR 0044).
                is_page = mutable.get("content-type", "").startswith("text/html")
                if is_page and "cache-control" not in mutable:
                    mutable["cache-control"] = PAGE_CACHE_CONTROL
            await send(message)

        await app(scope, receive, send_wrapper)

    return middleware
