"""Dependencies every feature shares: the engine, the ledger, the rate limiter, the caller."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from piccolo.engine.base import Engine

from ledger import Ledger
from service.http.ratelimit import RateLimiter
from service.i18n import _, set_language
from service.limits import CSRF_COOKIE_NAME, CSRF_HEADER_NAME, SESSION_COOKIE_NAME
from service.principal import Principal, principal_resolver, remembered_principal
from service.problems import Problem
from service.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# The app's objects are read from the request's app: a provider taking `state` would
# have Litestar build a new State around the app's dict for every request.


def provide_engine(request: Request[Any, Any, Any]) -> Engine[Any]:
    engine: Engine[Any] = request.app.state.engine
    return engine


def provide_ledger(request: Request[Any, Any, Any]) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


def provide_settings(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def provide_limiter(request: Request[Any, Any, Any]) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


async def provide_principal(request: Request[Any, Any, Any]) -> Principal | None:
    """The caller, from a bearer token or the session cookie; None if anonymous."""
    remembered = remembered_principal(request.scope)
    if remembered is not None and remembered.via == "token":
        return in_their_language(remembered)
    authorization = request.headers.get("authorization")
    if authorization is not None:
        return in_their_language(await _from_bearer(request, authorization))
    session_token = request.cookies.get(SESSION_COOKIE_NAME)
    if not session_token:
        return None
    principal = remembered or await principal_resolver(request.scope).from_session(session_token)
    if principal is not None and _needs_csrf_check(request):
        _check_api_csrf(request)
    return in_their_language(principal)


def in_their_language(principal: Principal | None) -> Principal | None:
    """A signed-in member's stored choice of language wins over cookie and header (ADR 0048)."""
    if principal is not None and principal.language is not None:
        set_language(principal.language)
    return principal


async def _from_bearer(request: Request[Any, Any, Any], authorization: str) -> Principal:
    scheme, _sep, token = authorization.partition(" ")
    principal = None
    if scheme.lower() == "bearer" and token.strip():
        principal = await principal_resolver(request.scope).from_token(token.strip())
    if principal is None:
        raise Problem(
            status=401,
            code="invalid_token",
            detail=_("The bearer token is not valid, has expired or was revoked."),
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return principal


def _needs_csrf_check(request: Request[Any, Any, Any]) -> bool:
    # Forms are checked by Litestar's CSRF middleware; JSON API calls that
    # ride on the session cookie are checked here (double-submit cookie).
    return request.method not in SAFE_METHODS and request.url.path.startswith("/api/")


def _check_api_csrf(request: Request[Any, Any, Any]) -> None:
    sent = request.headers.get(CSRF_HEADER_NAME, "")
    expected = request.cookies.get(CSRF_COOKIE_NAME, "")
    if not (sent and expected and hmac.compare_digest(sent, expected)):
        raise Problem(
            status=403,
            code="csrf_failed",
            detail=_(
                "Send the %(header)s header with the value of the %(cookie)s cookie, "
                "or use a bearer token."
            )
            % {"header": CSRF_HEADER_NAME, "cookie": CSRF_COOKIE_NAME},
        )


async def provide_member(principal: NamedDependency[Principal | None]) -> Principal:
    """The signed-in caller, or 401."""
    if principal is None:
        raise Problem(
            status=401,
            code="not_authenticated",
            detail=_("Please sign in first."),
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


SHARED_DEPENDENCIES = {
    "engine": Provide(provide_engine, sync_to_thread=False),
    "ledger": Provide(provide_ledger, sync_to_thread=False),
    "limiter": Provide(provide_limiter, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "principal": Provide(provide_principal),
    "member": Provide(provide_member),
}

# Handler parameter types: the parameter name picks the dependency above.
CurrentMember = NamedDependency[Principal]
MaybePrincipal = NamedDependency[Principal | None]
EngineDep = NamedDependency[Engine[Any]]
LedgerDep = NamedDependency[Ledger]
LimiterDep = NamedDependency[RateLimiter]
SettingsDep = NamedDependency[Settings]
