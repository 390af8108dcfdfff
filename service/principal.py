"""Who is asking: the signed-in member and their roles, and the checks on them.

Every protected route takes a `Principal`; every object is checked against it
in the service functions (a coordinator only inside their community, a
member only on their own things). Objects outside the caller's reach answer
404, not 403, so nobody learns that they exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from service.caller_scope import PRINCIPAL_SCOPE_KEY
from service.errors import Forbidden, NotFound
from service.i18n import N_, _


@dataclass(frozen=True, slots=True)
class Grant:
    role: Literal["coordinator", "council", "admin"]
    community_id: uuid.UUID | None
    area_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Principal:
    member_id: uuid.UUID
    display_name: str
    community_id: uuid.UUID
    status: str
    grants: tuple[Grant, ...]
    via: Literal["session", "token"]
    credential_id: uuid.UUID
    # The member's own hours account, read by the lookup that made this principal
    # (saves a member query on the hot path); error bodies show its figures to them alone.
    hour_account_id: uuid.UUID | None = None
    # Acting for a member (ADR 0031). On a route that runs as the member, the principal
    # is the member's, with no roles, and `acting_by_*` names the coordinator. Anywhere
    # else a coordinator's browser in acting mode carries `acting_for_*` (for the banner).
    acting_by_id: uuid.UUID | None = None
    acting_by_name: str = ""
    acting_for_id: uuid.UUID | None = None
    acting_for_name: str = ""
    # The language the member chose ("en", "cy"), None if they have not: it wins over the
    # cookie and Accept-Language (ADR 0048). Changing it must call principals_changed().
    language: str | None = None
    # The principal version (ADR 0043) this principal was read or kept under, on a server
    # that keeps callers; rows read for its request may be kept under it too (ADR 0067).
    # None: nothing may be kept (no Redis, SQLite, acting for a member, a test's own).
    read_under_version: str | None = None

    @property
    def label(self) -> str:
        if self.acting_by_id is not None:
            return f"member:{self.acting_by_id} for member:{self.member_id}"
        return f"member:{self.member_id}"

    @property
    def acting_name(self) -> str | None:
        """Whom the browser acts for, if it does: the banner on every page names them."""
        if self.acting_by_id is not None:
            return self.display_name
        return self.acting_for_name if self.acting_for_id is not None else None

    @property
    def is_admin(self) -> bool:
        return any(grant.role == "admin" for grant in self.grants)

    def coordinates(self, community_id: uuid.UUID) -> bool:
        return any(
            grant.role == "coordinator" and grant.community_id == community_id
            for grant in self.grants
        )

    @property
    def coordinated_communities(self) -> frozenset[uuid.UUID]:
        return frozenset(
            grant.community_id
            for grant in self.grants
            if grant.role == "coordinator" and grant.community_id is not None
        )

    @property
    def council_areas(self) -> frozenset[uuid.UUID]:
        return frozenset(
            grant.area_id for grant in self.grants if grant.role == "council" and grant.area_id
        )


def forbidden(detail: str = N_("You do not have permission to do that.")) -> Forbidden:
    return Forbidden(code="forbidden", detail=_(detail))


def cannot_act() -> Forbidden:
    """The one refusal of acting for a member (ADR 0031): an unknown id, another
    community's member and a member who has not said yes all get these same words."""
    return Forbidden(code="cannot_act_for_member", detail=_("You cannot act for that member."))


# What `not_found` is told is missing, marked so that the phrase is translated too.
NOT_FOUND_WHAT = (
    N_("That"),
    N_("That member"),
    N_("That community"),
    N_("That dispute"),
    N_("That pair"),
    N_("That exchange"),
    N_("That transfer"),
    N_("That listing"),
    N_("That account"),
    N_("That time bank"),
    N_("That thank-you note"),
    N_("That link"),
    N_("That failed message"),
    N_("That event"),
    N_("That conversation"),
    N_("That concern"),
    N_("That check-in"),
    N_("That block"),
)


def not_found(what: str = "That") -> NotFound:
    return NotFound(code="not_found", detail=_("%(what)s was not found.") % {"what": _(what)})


def require_active(principal: Principal) -> None:
    """Moving hours or publishing needs an approved, not suspended, member."""
    if principal.status == "pending":
        raise Forbidden(
            code="approval_pending",
            detail=_("A coordinator has not approved your membership yet."),
        )
    if principal.status == "declined":
        raise Forbidden(
            code="application_declined",
            detail=_("A coordinator did not approve your membership. You may apply again."),
        )
    if principal.status != "active":
        raise forbidden(N_("Your account cannot do this."))


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise forbidden()


def require_coordinator_of(principal: Principal, community_id: uuid.UUID) -> None:
    """Coordinators act inside their own community (admins anywhere); others get 404."""
    if not (principal.is_admin or principal.coordinates(community_id)):
        raise not_found("That member")


def require_any_coordinator(principal: Principal) -> None:
    if not (principal.is_admin or principal.coordinated_communities):
        raise forbidden()


# A caller resolved before routing (by the idempotency middleware) is kept in
# the ASGI scope's state, so the handler's dependency does not look it up again.


def remember_principal(scope: MutableMapping[str, Any], principal: Principal) -> None:
    scope.setdefault("state", {})[PRINCIPAL_SCOPE_KEY] = principal


def remembered_principal(scope: Mapping[str, Any]) -> Principal | None:
    found = scope.get("state", {}).get(PRINCIPAL_SCOPE_KEY)
    return found if isinstance(found, Principal) else None


# Resolving the caller ------------------------------------------------------------
# The HTTP kit needs to turn a token or a session cookie into a Principal, but it
# sits below every feature. The members feature provides the resolver and the app
# puts it in its state at start-up, so the kit depends only on this protocol.

PRINCIPAL_RESOLVER_STATE = "principal_resolver"


class PrincipalResolver(Protocol):
    async def from_token(self, token: str) -> Principal | None: ...

    async def from_session(self, token: str) -> Principal | None: ...

    async def acting_for(self, caller: Principal, member_id: uuid.UUID) -> Principal | None:
        """The member's principal, run by `caller`, if `caller` may act for them; else None."""
        ...

    async def record_acting(
        self, acting: Principal, *, method: str, path: str, status: int | None
    ) -> None:
        """Audit one request a coordinator made for a member (both named): with
        `status=None` before it runs, then with the status it was answered with."""
        ...


def principal_resolver(scope: Mapping[str, Any]) -> PrincipalResolver:
    """The resolver the running app was given (see service/app.py)."""
    resolver: PrincipalResolver = scope["app"].state[PRINCIPAL_RESOLVER_STATE]
    return resolver
