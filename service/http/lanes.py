"""What every lane shares (ADRs 0058, 0062): a request a lane may answer in place of
Litestar's route, the caller it answers for, and the scope the route would have seen.

A lane answers only a member's own request with a bearer token (no session cookie,
no acting for another member, a body within the limit as declared) to one exact path,
and hands everything else to the framework untouched; its handler runs inside
Litestar's exception handling with the route's own handlers, so every answer, a refusal
too, is the route's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from litestar import Litestar
from litestar._asgi.utils import is_valid_host
from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Method, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from service.http.acting import ON_BEHALF_HEADER
from service.http.body_limit import length_declared
from service.http.deps import in_their_language
from service.http.idempotency import caller_of
from service.limits import REQUEST_BODY_SIZE_MAX_BYTES
from service.principal import remembered_principal


@dataclass(slots=True)
class Lane:
    """What a lane holds: the framework it hands requests to, the route it answers as,
    and its own handler wrapped in Litestar's exception handling with the route's
    handlers, so a refusal is the route's problem document."""

    # The one request a lane may answer; the front (service/http/front.py) sends it
    # only those.
    method: ClassVar[Method]
    path: ClassVar[str]

    framework: ASGIApp
    route_handler: HTTPRouteHandler
    _handler: ASGIApp
    # Requests answered here (the tests check the lane takes what it should).
    served: int = 0
    # False: the front sends the lane's requests through the app's full stack to the
    # route, as if there were no lane (the tests compare both answers).
    taking: bool = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError  # each lane answers its own request


def bearer_request(scope: Scope, method: Method, path: str) -> Headers | None:
    """The headers of a plain `method path` request with a bearer token, else None."""
    if not (
        scope["type"] == ScopeType.HTTP
        and scope.get("method") == method
        and scope["path"] == path
        and not scope.get("root_path")
    ):
        return None
    headers = Headers.from_scope(scope)
    scheme, _sep, token = headers.get("authorization", "").partition(" ")
    plain = (
        scheme.lower() == "bearer"
        and token.strip() != ""
        and ON_BEHALF_HEADER not in headers
        and is_valid_host(headers.get("host", "").encode("latin-1"))
        and _body_within_limit(headers)
    )
    return headers if plain else None


def _body_within_limit(headers: Headers) -> bool:
    """True if the body limit (service/http/body_limit.py) would let the request through
    as it is: no body, or a declared length within the limit. Anything else (a chunked
    body, a length over the limit) goes to the body limit, which collects or refuses it."""
    length = headers.get("content-length")
    if length is None:
        return "transfer-encoding" not in headers
    declared = length_declared(length)
    return declared is not None and declared <= REQUEST_BODY_SIZE_MAX_BYTES


async def member_caller(scope: Scope, headers: Headers) -> str | None:
    """The calling member's key scope, their principal remembered in the scope and their
    language set, as the route's access check would; None if the route must answer."""
    caller = await caller_of(headers, scope)
    principal = remembered_principal(scope)
    if caller is None or principal is None or principal.acting_for_id is not None:
        return None
    in_their_language(principal)
    return caller


def enter_route(scope: Scope, route_handler: HTTPRouteHandler, path: str) -> None:
    """What Litestar's router leaves in the scope for a route (its asgi_router.py)."""
    scope["route_handler"] = route_handler
    scope["path_template"] = path
    scope["path_params"] = {}
    ScopeState.from_scope(scope).exception_handlers = route_handler.resolve_exception_handlers()


def route_handler_of(app: Litestar, path: str, method: Method) -> HTTPRouteHandler:
    """The handler `app` routes `method path` to: the route a lane stands in front of."""
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path == path:
            handler, _kwargs = route.route_handler_map[method]
            return handler
    raise RuntimeError(f"no {method} {path} route for a lane to answer as")
