"""The gift lane: the API's busiest request served without the framework's per-request
work.

A member's keyed gift (`POST /api/v1/transfers` with a bearer token, an Idempotency-Key
and a JSON body naming a member) is what members and outside clients send most, and
Litestar's routing, signature model, dependency resolution and response object cost more
of a worker than the gift's own rules do (docs/performance.md). This lane stands in
front of the app, behind the lanes' front (service/http/front.py, ADR 0071: the request
id, language, security headers and caller changes done inline), and answers such a gift
itself, through the same functions the route uses: the caller from the same resolver,
the same strict decode, `transfers.give`, the reply stored in the write
(`answer_in_write`, ADR 0037), and errors rendered by Litestar's own exception handling
with the route's handlers, so every answer is the route's.

It takes only what it can answer exactly as the route would, and hands everything else
to the framework untouched (ADR 0058): another method or path, no key or a malformed
one, another content type, no bearer token, acting for a member, a host header the
router refuses, a body not declared within the limit; after reading the body, a caller
the token does not resolve to, a body that is not strict JSON of the route's type or
holds unsafe text, a gift by email or to the pool. Those get the route's own answer
(401, 400, 415, ...) with the body replayed to it. The route stays registered: it
documents the API and serves what the lane declines.
"""

from __future__ import annotations

from typing import Literal

from litestar import Litestar
from litestar.datastructures import Headers
from litestar.middleware._internal.exceptions import ExceptionHandlerMiddleware
from litestar.status_codes import HTTP_201_CREATED
from litestar.types import ASGIApp, Receive, Scope, Send

from service.http.idempotency import (
    JSON_MEDIA_TYPE,
    answer_in_write,
    key_from_scope,
    keyed_reply_from_scope,
    read_body,
    replayed,
    send_whole,
    valid_key,
)
from service.http.json_bodies import strict_json_body
from service.http.lanes import (
    Lane,
    bearer_request,
    enter_route,
    member_caller,
    route_handler_of,
)
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


class GiftLane(Lane):
    """An ASGI layer: keyed member gifts answered here, everything else by `framework`."""

    __slots__ = ()
    method = GIFT_METHOD
    path = GIFT_PATH

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = self._plain_gift_headers(scope)
        if headers is None:
            await self.framework(scope, receive, send)
            return
        # A gift is coming: the batch this worker takes next waits for it (ADR 0072).
        with scope["litestar_app"].state.ledger.expecting_write():
            await self._answer(scope, receive, send, headers)

    async def _answer(self, scope: Scope, receive: Receive, send: Send, headers: Headers) -> None:
        """Answer a request whose headers make it a plain gift, or hand it on."""
        body = await read_body(receive)
        caller = await self._member_gift(scope, headers, body)
        if caller is None:
            await self.framework(scope, replayed(body), send)
            return
        self.served += 1
        enter_route(scope, self.route_handler, GIFT_PATH)
        key = headers["idempotency-key"]
        await answer_in_write(self._handler, scope, send, caller=caller, key=key, body=body)

    def _plain_gift_headers(self, scope: Scope) -> Headers | None:
        """The request's headers if it may be a gift the lane answers; else None."""
        headers = bearer_request(scope, GIFT_METHOD, GIFT_PATH)
        if headers is None:
            return None
        key = headers.get("idempotency-key")
        media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
        plain = key is not None and valid_key(key) and media_type == JSON_MEDIA_TYPE
        return headers if plain else None

    async def _member_gift(self, scope: Scope, headers: Headers, body: bytes) -> str | None:
        """The caller's key scope if the token and body make a gift to a member; the
        gift is left in the scope for the handler. None: the framework answers."""
        caller = await member_caller(scope, headers)
        if caller is None:
            return None
        gift = _strict_gift(body)
        if gift is None:
            return None
        scope["state"][_GIFT_STATE] = gift
        return caller

    @classmethod
    def around(cls, app: Litestar, framework: ASGIApp) -> GiftLane:
        """The lane in front of `framework`, answering as `app`'s gift route would."""
        route_handler = route_handler_of(app, GIFT_PATH, GIFT_METHOD)
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
    await send_whole(send, HTTP_201_CREATED, JSON_MEDIA_TYPE, encoded_gift_reply(given))


__all__ = ["GIFT_LANE_STATE", "GIFT_PATH", "GiftLane"]
