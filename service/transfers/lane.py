"""The gift lane: the API's busiest request served without the framework's per-request work.

A member's keyed gift (`POST /api/v1/transfers` with a bearer token, an
Idempotency-Key and a JSON body naming a member) is what members and outside
clients send most, and Litestar's routing, signature model, dependency
resolution and response object cost more of a worker than the gift's own
rules do (docs/performance.md). This lane sits where Litestar's router would
be called (inside the app's own ASGI layers: request id, language, security
headers, body limit, caller changes, acting audit) and answers such a gift
itself, through the same functions the route uses: the caller from the same
resolver, the same strict decode, `transfers.give`, the reply stored in the
write (`answer_in_write`, ADR 0037), and errors rendered by Litestar's own
exception handling with the route's handlers, so every answer is the route's.

It takes only what it can answer exactly as the route would, and hands
everything else to the framework untouched (ADR 0058): another method or path,
no key or a malformed one, another content type, no bearer token, acting for a
member, a host header the router refuses; after reading the body, a caller the
token does not resolve to, a body that is not strict JSON of the route's type or
holds unsafe text, a gift by email or to the pool. Those get the route's own
answer (401, 400, 415, ...) with the body replayed to it. The route stays
registered: it documents the API and serves what the lane declines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from litestar import Litestar
from litestar._asgi.utils import is_valid_host
from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.handlers import HTTPRouteHandler
from litestar.middleware._internal.exceptions import ExceptionHandlerMiddleware
from litestar.routes import HTTPRoute
from litestar.status_codes import HTTP_201_CREATED
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from service.http.acting import ON_BEHALF_HEADER
from service.http.deps import in_their_language
from service.http.idempotency import (
    JSON_MEDIA_TYPE,
    answer_in_write,
    caller_of,
    key_from_scope,
    keyed_reply_from_scope,
    read_body,
    replayed,
    valid_key,
)
from service.http.json_bodies import strict_json_body
from service.principal import remembered_principal
from service.problems import Problem
from service.transfers import services as transfers
from service.transfers.controllers import GiftIn, encoded_gift_reply, gift_reply

GIFT_PATH = "/api/v1/transfers"
GIFT_METHOD: Literal["POST"] = "POST"
# app.state key of the app's lane (the tests read its count and turn it off).
GIFT_LANE_STATE = "gift_lane"
# Where the lane leaves the decoded gift for its handler, in the request's scope state.
_GIFT_STATE = "gift_lane_gift"


@dataclass(slots=True)
class GiftLane:
    """An ASGI layer: keyed member gifts answered here, everything else by `framework`."""

    framework: ASGIApp
    route_handler: HTTPRouteHandler
    # Our handler inside Litestar's exception handling: a refused gift gets the route's
    # problem document, rendered by the same code with the same handlers.
    _handler: ASGIApp
    # Gifts answered here (the tests check the lane takes what it should).
    served: int = 0
    # False sends everything to the framework (the tests compare both answers).
    taking: bool = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = self._plain_gift_headers(scope)
        if headers is None:
            await self.framework(scope, receive, send)
            return
        body = await read_body(receive)
        caller = await self._member_gift(scope, headers, body)
        if caller is None:
            await self.framework(scope, replayed(body), send)
            return
        self.served += 1
        # What Litestar's router leaves in the scope for a route (its asgi_router.py).
        scope["route_handler"] = self.route_handler
        scope["path_template"] = GIFT_PATH
        scope["path_params"] = {}
        ScopeState.from_scope(
            scope
        ).exception_handlers = self.route_handler.resolve_exception_handlers()
        key = headers["idempotency-key"]
        await answer_in_write(self._handler, scope, send, caller=caller, key=key, body=body)

    def _plain_gift_headers(self, scope: Scope) -> Headers | None:
        """The request's headers if it may be a gift the lane answers; else None."""
        if not (
            self.taking
            and scope["type"] == ScopeType.HTTP
            and scope.get("method") == GIFT_METHOD
            and scope["path"] == GIFT_PATH
            and not scope.get("root_path")
        ):
            return None
        headers = Headers.from_scope(scope)
        key = headers.get("idempotency-key")
        scheme, _sep, token = headers.get("authorization", "").partition(" ")
        media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
        plain = (
            key is not None
            and valid_key(key)
            and scheme.lower() == "bearer"
            and token.strip() != ""
            and media_type == JSON_MEDIA_TYPE
            and ON_BEHALF_HEADER not in headers
            and is_valid_host(headers.get("host", "").encode("latin-1"))
        )
        return headers if plain else None

    async def _member_gift(self, scope: Scope, headers: Headers, body: bytes) -> str | None:
        """The caller's key scope if the token and body make a gift to a member; the
        gift is left in the scope for the handler. None: the framework answers."""
        caller = await caller_of(headers, scope)
        principal = remembered_principal(scope)
        if caller is None or principal is None or principal.acting_for_id is not None:
            return None
        in_their_language(principal)
        gift = _strict_gift(body)
        if gift is None:
            return None
        scope["state"][_GIFT_STATE] = gift
        return caller

    @classmethod
    def around(cls, app: Litestar, framework: ASGIApp) -> GiftLane:
        """The lane in front of `framework`, answering as `app`'s gift route would."""
        route_handler = _gift_route_handler(app)
        return cls(framework, route_handler, ExceptionHandlerMiddleware(_give, debug=None))


def _strict_gift(body: bytes) -> GiftIn | None:
    """The body as the app-wide JSON check would accept it, naming one member; else None."""
    try:
        gift = strict_json_body(body, GiftIn)
    except Problem:
        return None  # the route answers it, through the same check
    if gift.to_member_id is None or gift.to_email is not None or gift.to is not None:
        return None
    return gift


async def _give(scope: Scope, _receive: Receive, send: Send) -> None:
    """What the route's handler does for a gift to a member (service/transfers/controllers.py)."""
    gift: GiftIn = scope["state"][_GIFT_STATE]
    principal = remembered_principal(scope)
    assert principal is not None  # noqa: S101 - the lane resolved it before calling
    given = await transfers.give(
        ledger=scope["litestar_app"].state.ledger,
        principal=principal,
        minutes=gift.minutes,
        to_member_id=gift.to_member_id,
        to_pool=False,
        memo=gift.memo,
        idempotency_key=key_from_scope(scope),
        reply=gift_reply(keyed_reply_from_scope(scope)),
    )
    body = encoded_gift_reply(given)
    await send(
        {
            "type": "http.response.start",
            "status": HTTP_201_CREATED,
            "headers": [
                (b"content-type", JSON_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _gift_route_handler(app: Litestar) -> HTTPRouteHandler:
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path == GIFT_PATH:
            handler, _kwargs = route.route_handler_map[GIFT_METHOD]
            return handler
    raise RuntimeError(f"no {GIFT_METHOD} {GIFT_PATH} route to serve gifts as")


__all__ = ["GIFT_LANE_STATE", "GIFT_PATH", "GiftLane"]
