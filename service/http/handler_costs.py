"""Two of Litestar's per-request costs that buy this app nothing, taken off (ADR 0054).

- **No guard at all: one before-request hook.** Litestar calls each guard with a
  fresh `copy()` of the route handler (`BaseRouteHandler.authorize_connection`), and
  copying a handler object cost more than any of our guards' own checks on a balance
  read (3.5% of a worker serving gifts). The app-wide checks run as one, in their
  order (access, then the Idempotency-Key header, then JSON bodies), as the app's
  before-request hook: Litestar runs it where it would have run the guards' work,
  before any dependency or body is read, and hands it the request alone.
- **Dependencies one after another.** Litestar resolves independent dependencies
  of one level concurrently, in an anyio task group: two tasks, their scheduling
  and a join for every request whose handler takes the caller and the ledger. Ours
  are attribute reads from the app's state and the caller, which the access guard
  has already resolved and remembered, so running them in turn gives the same
  values without the tasks. Every route's batches are split after the app is built.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from litestar import Litestar
from litestar.connection import ASGIConnection, Request
from litestar.handlers.base import BaseRouteHandler
from litestar.routes import HTTPRoute

from service.http.access import access_checked_first
from service.http.idempotency import idempotency_key_valid
from service.http.json_bodies import json_bodies_only


async def app_guards(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Who may call the route and see its object, then the Idempotency-Key, then JSON bodies."""
    await access_checked_first(connection, handler)
    await idempotency_key_valid(connection, handler)
    await json_bodies_only(connection, handler)


async def app_before_request(request: Request[Any, Any, Any]) -> None:
    """`app_guards` for the request's route; None, so the handler runs next."""
    await app_guards(request, request.route_handler)


def resolve_dependencies_in_turn(app: Litestar) -> None:
    """Give every HTTP route's handlers batches of one dependency each, in a fixed order."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for _handler, kwargs_model in route.route_handler_map.values():
            kwargs_model.dependency_batches = list(_one_by_one(kwargs_model.dependency_batches))


def _one_by_one(batches: Iterable[set[Any]]) -> Iterable[set[Any]]:
    # A later batch may need an earlier one; inside a batch nothing depends on anything.
    for batch in batches:
        for dependency in sorted(batch, key=lambda d: str(d.key)):
            yield {dependency}
