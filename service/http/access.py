"""Who may call a route, settled before anything reads the request body (ADR 0025).

Every route handler says who may call it in its `opt` (on the handler or its
controller): `opt=access(Access.ADMIN)`. `access_checked_first` is the first of
the app-wide checks (service/http/handler_costs.py), so it runs before `json_bodies_only` reads
and validates the body and before Litestar parses a form: a caller without
credentials gets 401, a caller without the role gets 403, and only a caller who
may use the route learns what is wrong with the body.

A route that says nothing is for signed-in members: forgetting the declaration
closes a route, it never opens one.

A route on one object that judges anything else the caller sent (a JSON body, a
form, an Idempotency-Key) also names that object: `opt=on_object("exchange",
"exchange_id")`. After the role check the guard asks the object's checker whether
the caller may see it, so a caller who may not gets the same 404 whatever they
sent, and never a 400 that tells them the object exists. The checkers belong to
the features: service/app.py puts them in `app.state[OBJECT_CHECKERS_STATE]` by
kind, so this kit imports none of them. The services still check every object
themselves (and decide who may *change* what, 403); this check only comes first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from enum import StrEnum
from typing import Any, cast

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from service.http.acting import ACTING_OPT_KEY, settle_acting
from service.http.deps import provide_principal
from service.i18n import N_, _
from service.principal import Principal, forbidden, remember_principal, remembered_principal
from service.problems import Problem

# Handler (or controller) opt key naming who may call the route.
ACCESS_OPT_KEY = "access"
# Handler opt key: (object kind, path parameter) of the one object the route acts on.
OBJECT_OPT_KEY = "object"
# app.state key of {object kind: checker}, set up by service/app.py.
OBJECT_CHECKERS_STATE = "object_checkers"

# Raises the feature's own 404 problem when the caller may not see the object.
ObjectChecker = Callable[[Principal, Any], Awaitable[object]]


class Access(StrEnum):
    PUBLIC = "public"  # anyone, signed in or not
    MEMBER = "member"  # any signed-in member (status rules are the services')
    COORDINATOR = "coordinator"  # a coordinator of some community, or an admin
    COUNCIL = "council"  # a council viewer of some area, or an admin
    REPORTS = "reports"  # council figures: a council viewer, a coordinator, or an admin
    ADMIN = "admin"


def access(level: Access, *, acting: bool = False) -> dict[str, Any]:
    """The `opt` a route handler or controller takes to say who may call it.

    `acting=True` (member routes only): a coordinator may run it as a member they act
    for (service/http/acting.py, ADR 0031).
    """
    if acting:
        return {ACCESS_OPT_KEY: level, ACTING_OPT_KEY: True}
    return {ACCESS_OPT_KEY: level}


def on_object(kind: str, parameter: str) -> dict[str, tuple[str, str]]:
    """The `opt` a route on one object takes: its kind and the path parameter naming it."""
    return {OBJECT_OPT_KEY: (kind, parameter)}


Connection = ASGIConnection[Any, Any, Any, Any]


async def signed_in(connection: Connection) -> Principal:
    """The caller, resolved once per request and kept in the scope; 401 if anonymous."""
    principal = await provide_principal(cast("Request[Any, Any, Any]", connection))
    if principal is None:
        raise Problem(
            status=401,
            code="not_authenticated",
            detail=_("Please sign in first."),
            headers={"WWW-Authenticate": "Bearer"},
        )
    remember_principal(connection.scope, principal)  # type: ignore[arg-type]
    return principal


async def member_required(connection: Connection, _handler: BaseRouteHandler) -> None:
    await signed_in(connection)


async def coordinators_only(connection: Connection, _handler: BaseRouteHandler) -> None:
    principal = await signed_in(connection)
    if not (principal.is_admin or principal.coordinated_communities):
        raise forbidden(N_("This is for community coordinators."))


async def council_viewers_only(connection: Connection, _handler: BaseRouteHandler) -> None:
    principal = await signed_in(connection)
    if not (principal.is_admin or principal.council_areas):
        raise forbidden(N_("Reports are for council viewers and admins."))


async def report_readers_only(connection: Connection, _handler: BaseRouteHandler) -> None:
    principal = await signed_in(connection)
    if not (principal.is_admin or principal.council_areas or principal.coordinated_communities):
        raise forbidden(N_("Reports are for council viewers, coordinators and admins."))


async def admins_only(connection: Connection, _handler: BaseRouteHandler) -> None:
    principal = await signed_in(connection)
    if not principal.is_admin:
        raise forbidden(N_("This is for administrators."))


async def _anyone(_connection: Connection, _handler: BaseRouteHandler) -> None:
    return None


GUARD_OF: dict[Access, Callable[[Connection, BaseRouteHandler], Awaitable[None]]] = {
    Access.PUBLIC: _anyone,
    Access.MEMBER: member_required,
    Access.COORDINATOR: coordinators_only,
    Access.COUNCIL: council_viewers_only,
    Access.REPORTS: report_readers_only,
    Access.ADMIN: admins_only,
}


def access_of(handler: BaseRouteHandler) -> Access:
    """What the handler declared; a route that declares nothing is for members."""
    return Access(handler.opt.get(ACCESS_OPT_KEY, Access.MEMBER))


def object_of(handler: BaseRouteHandler) -> tuple[str, str] | None:
    """The (kind, path parameter) the handler declared with `on_object`, if any."""
    declared = handler.opt.get(OBJECT_OPT_KEY)
    return None if declared is None else (str(declared[0]), str(declared[1]))


def unknown_object_declarations(
    handlers: Sequence[BaseRouteHandler], checkers: Mapping[str, ObjectChecker]
) -> list[str]:
    """Routes whose declared object has no checker, or that are public (no caller to
    check it against): the app refuses to start with any."""
    return [
        f"{handler.handler_name}: {declared[0]}"
        for handler in handlers
        if (declared := object_of(handler)) is not None
        and (declared[0] not in checkers or access_of(handler) is Access.PUBLIC)
    ]


async def _object_visible(connection: Connection, handler: BaseRouteHandler) -> None:
    declared = object_of(handler)
    principal = remembered_principal(connection.scope)
    if declared is None or principal is None:
        return
    kind, parameter = declared
    checkers: Mapping[str, ObjectChecker] = connection.app.state[OBJECT_CHECKERS_STATE]
    await checkers[kind](principal, connection.path_params[parameter])


async def access_checked_first(connection: Connection, handler: BaseRouteHandler) -> None:
    """App-wide check, run first: the declared access of the route, then the
    object it names (404 if out of the caller's sight), before its body."""
    if connection.scope.get("method") == "OPTIONS":
        return  # Litestar's own OPTIONS answers carry no data (allowed methods only)
    level = access_of(handler)
    await GUARD_OF[level](connection, handler)
    if level is not Access.PUBLIC:
        # With the caller known and allowed here: run as the member acted for? (ADR 0031)
        # Before the object check, so the object is judged as the member sees it.
        await settle_acting(connection, handler, member_route=level is Access.MEMBER)
    await _object_visible(connection, handler)
