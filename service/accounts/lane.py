"""The balance lane: a member's own balance read (`GET /api/v1/accounts/me` with a bearer
token) answered without the framework's per-request work (ADR 0062).

Every client shows the balance, so it is the read sent most; through Litestar's route it
cost about three times a health check, most of it the framework's routing, guards,
dependency resolution and response object rather than the one point read it needs. Like
the gift lane (service/transfers/lane.py), this lane stands behind the lanes' front
(service/http/front.py, ADR 0071) and answers such a read through the same functions the
route uses (`service/http/lanes.py` for the caller and the route's exception handling,
`selectors.account_of` for the figures), so every answer is the route's. Anything else,
a session cookie, acting for a member, a query string, another path or method, goes to
the framework untouched.
"""

from __future__ import annotations

from typing import Literal

from litestar import Litestar
from litestar.datastructures import Headers
from litestar.middleware._internal.exceptions import ExceptionHandlerMiddleware
from litestar.serialization import encode_json
from litestar.status_codes import HTTP_200_OK
from litestar.types import ASGIApp, Receive, Scope, Send

from service.accounts import selectors
from service.http.idempotency import JSON_MEDIA_TYPE, send_whole
from service.http.lanes import (
    Lane,
    bearer_request,
    enter_route,
    member_caller,
    route_handler_of,
)
from service.members.schemas import AccountOut
from service.principal import remembered_principal

BALANCE_PATH = "/api/v1/accounts/me"
BALANCE_METHOD: Literal["GET"] = "GET"
# app.state key of the app's balance lane (the tests read its count and turn it off).
BALANCE_LANE_STATE = "balance_lane"


class BalanceLane(Lane):
    """An ASGI layer: members' own balance reads answered here, the rest by `framework`."""

    __slots__ = ()
    method = BALANCE_METHOD
    path = BALANCE_PATH

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = self._plain_read(scope)
        caller = None if headers is None else await member_caller(scope, headers)
        if caller is None:
            await self.framework(scope, receive, send)
            return
        self.served += 1
        enter_route(scope, self.route_handler, BALANCE_PATH)
        await self._handler(scope, receive, send)

    def _plain_read(self, scope: Scope) -> Headers | None:
        if scope.get("query_string"):
            return None
        return bearer_request(scope, BALANCE_METHOD, BALANCE_PATH)

    @classmethod
    def around(cls, app: Litestar, framework: ASGIApp) -> BalanceLane:
        """The lane in front of `framework`, answering as `app`'s balance route would."""
        route_handler = route_handler_of(app, BALANCE_PATH, BALANCE_METHOD)
        return cls(framework, route_handler, ExceptionHandlerMiddleware(_balance, debug=None))


async def _balance(scope: Scope, _receive: Receive, send: Send) -> None:
    """What the route's handler does (service/accounts/controllers.py): the same figures."""
    principal = remembered_principal(scope)
    assert principal is not None  # noqa: S101 - the lane resolved it before calling
    ledger = scope["litestar_app"].state.ledger
    summary = await selectors.account_of(ledger=ledger, principal=principal)
    await send_whole(send, HTTP_200_OK, JSON_MEDIA_TYPE, encode_json(AccountOut(**summary)))


__all__ = ["BALANCE_LANE_STATE", "BALANCE_PATH", "BalanceLane"]
