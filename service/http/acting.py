"""Acting for a member: the one place where a request starts running as someone else.

A coordinator acts for a member of their community who has no login or who said
yes (ADR 0031): through the API with the `On-Behalf-Of: <member id>` header, in
the browser through an acting mode kept on the session. Only routes declared
with `access(Access.MEMBER, acting=True)` (listings, exchanges, transfers, the
account and statement, and their pages) run as the member; every other route
runs as the caller. The API refuses the header on any other route, so that an
admin or coordinator route can never be mistaken for the member's.

Which member may be acted for is the members feature's rule, asked through the
principal resolver in the app's state (the kit imports no feature). A refusal is
one 403 for every reason, so the header cannot be used to learn who exists.
Every request that changes something while acting leaves two audit lines naming
both people: one before the handler runs (so a crash between the change's commit
and the answer still leaves the coordinator named) and one with the status before
the response starts, so nothing is acknowledged without it.
"""

from __future__ import annotations

import uuid
from collections.abc import MutableMapping
from typing import Any, cast

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import Forbidden
from service.i18n import _
from service.principal import (
    Principal,
    cannot_act,
    principal_resolver,
    remember_principal,
    remembered_principal,
)

ON_BEHALF_HEADER = "on-behalf-of"
# Handler (or controller) opt key: this member route may run as the member acted for.
ACTING_OPT_KEY = "acting"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Connection = ASGIConnection[Any, Any, Any, Any]


def acting_allowed(handler: BaseRouteHandler, *, member_route: bool) -> bool:
    """A member route that declared it may run as the member (a route that raises the
    level, like the pool grant inside the transfers controller, never does)."""
    return member_route and bool(handler.opt.get(ACTING_OPT_KEY, False))


async def settle_acting(
    connection: Connection, handler: BaseRouteHandler, *, member_route: bool
) -> None:
    """Swap the remembered caller for the member acted for, where the route allows it."""
    caller = remembered_principal(connection.scope)
    if caller is None:
        return
    header = connection.headers.get(ON_BEHALF_HEADER)
    allowed = acting_allowed(handler, member_route=member_route)
    if header is not None:
        if not allowed:
            raise Forbidden(
                code="cannot_act_here",
                detail=_(
                    "On-Behalf-Of works on member routes only: listings, exchanges, "
                    "transfers, accounts/me and the statement."
                ),
            )
        target = _member_id(header)
    elif allowed and caller.acting_for_id is not None:
        target = caller.acting_for_id  # the browser's acting mode
    else:
        return
    acting = None
    if target is not None:
        acting = await principal_resolver(connection.scope).acting_for(caller, target)
    if acting is None:
        raise cannot_act()
    remember_principal(connection.scope, acting)  # type: ignore[arg-type]
    method = str(connection.scope.get("method", "GET"))
    if method not in SAFE_METHODS:
        # Before the handler can change anything: a crash after its commit must
        # still leave a line naming the coordinator (the answer's line comes later).
        await principal_resolver(connection.scope).record_acting(
            acting, method=method, path=connection.url.path, status=None
        )


def _member_id(header: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(header.strip())
    except ValueError:
        return None


def acting_audit_middleware(app: ASGIApp) -> ASGIApp:
    """Audit each changing request made while acting, before its response goes out."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope.get("method", "GET") in SAFE_METHODS:
            await app(scope, receive, send)
            return

        async def send_audited(message: Message) -> None:
            if message["type"] == "http.response.start":
                await _record(cast("MutableMapping[str, Any]", scope), status=message["status"])
            await send(message)

        await app(scope, receive, send_audited)

    return middleware


async def _record(scope: MutableMapping[str, Any], *, status: int) -> None:
    acting: Principal | None = remembered_principal(scope)
    if acting is None or acting.acting_by_id is None or status >= 400:  # noqa: PLR2004
        return
    await principal_resolver(scope).record_acting(
        acting, method=scope["method"], path=scope["path"], status=status
    )
