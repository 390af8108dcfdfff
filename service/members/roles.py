"""Granting and revoking roles, and the first admin."""

from __future__ import annotations

import uuid
from typing import Any

from piccolo.engine.base import Engine

from ledger import (
    Ledger,
    WriteTransaction,
    run_write,
    write_transaction,
)
from service import clock
from service.errors import invalid_field
from service.http.principal_cache import principals_changed
from service.i18n import _
from service.members.audit import audit_record
from service.members.communities import community_by_id, community_create
from service.members.registration import member_register, welcome_credit_post
from service.members.schemas import (
    CommunityIn,
    RegisterIn,
    RoleChangeIn,
)
from service.members.services import live_grants, member_by_id, normalise_email, str_or_none
from service.members.tables import (
    Area,
    Community,
    Member,
    RoleGrant,
)
from service.principal import (
    Grant,
    Principal,
    not_found,
    require_admin,
)


async def role_change(
    *, engine: Engine[Any], actor: Principal | None, member_id: uuid.UUID, change: RoleChangeIn
) -> tuple[Grant, ...]:
    """Grant or revoke a role with its scope and a reason (actor None: the command line)."""
    if actor is not None:
        require_admin(actor)
    member = await member_by_id(member_id)
    if member.status == "closed":
        raise not_found("That member")
    community_id, area_id = await role_scope(change)
    scope = scope_filter(member_id, change.role, community_id, area_id)
    before = await live_grants(member_id)

    async def write(_transaction: WriteTransaction) -> tuple[Grant, ...]:
        # Retried when a racing identical grant wins the unique index first: the
        # retry finds that grant and adds none (a double click is not a 500).
        principals_changed()  # the version moves once this commits (ADR 0043)
        if change.action == "grant":
            if not await RoleGrant.exists().where(scope).run():
                await RoleGrant.insert(
                    RoleGrant(
                        id=uuid.uuid4(),
                        member=member_id,
                        role=change.role,
                        community=community_id,
                        area=area_id,
                        reason=change.reason,
                        granted_by=actor.member_id if actor else None,
                        granted_at=clock.utc_now(),
                    )
                ).run()
        else:
            await (
                RoleGrant.update(
                    {
                        RoleGrant.revoked_at: clock.utc_now(),
                        RoleGrant.revoked_by: actor.member_id if actor else None,
                        RoleGrant.revoke_reason: change.reason,
                    }
                )
                .where(scope)
                .run()
            )
        after = await live_grants(member_id)
        await audit_record(
            actor_id=actor.member_id if actor else None,
            actor_label=actor.label if actor else "system:cli",
            action=f"role.{change.action}",
            target_type="member",
            target_id=str(member_id),
            community_id=member.community,
            reason=change.reason,
            before={"roles": [grant_json(grant) for grant in before]},
            after={"roles": [grant_json(grant) for grant in after]},
        )
        return after

    return await run_write(engine, write)


def grant_json(grant: Grant) -> dict[str, str | None]:
    return {
        "role": grant.role,
        "community": str_or_none(grant.community_id),
        "area": str_or_none(grant.area_id),
    }


async def role_scope(change: RoleChangeIn) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    if change.role == "coordinator":
        if change.community is None or change.area is not None:
            raise invalid_field(
                "community", _("a coordinator role needs a community, and only that")
            )
        community = (
            await Community.objects().where(Community.slug == change.community).first().run()
        )
        if community is None:
            raise invalid_field("community", _("there is no community with that slug"))
        return community.id, None
    if change.role == "council":
        if change.area is None or change.community is not None:
            raise invalid_field("area", _("a council role needs an area, and only that"))
        area = await Area.objects().where(Area.slug == change.area).first().run()
        if area is None:
            raise invalid_field("area", _("there is no area with that slug"))
        return None, area.id
    if change.community is not None or change.area is not None:
        raise invalid_field("role", _("the admin role has no scope"))
    return None, None


def scope_filter(
    member_id: uuid.UUID, role: str, community_id: uuid.UUID | None, area_id: uuid.UUID | None
) -> Any:
    where = (RoleGrant.member == member_id) & (RoleGrant.role == role)
    where &= RoleGrant.revoked_at.is_null()
    where &= (
        RoleGrant.community.is_null()
        if community_id is None
        else RoleGrant.community == community_id
    )
    return where & (RoleGrant.area.is_null() if area_id is None else RoleGrant.area == area_id)


async def grants_of_member(member_id: uuid.UUID) -> list[dict[str, Any]]:
    """Live grants with slugs, for pages and the API."""
    grants = await live_grants(member_id)
    slugs = {c.id: c.slug for c in await Community.objects().run()}
    areas = {a.id: a.slug for a in await Area.objects().run()}
    return [
        {
            "role": grant.role,
            "community": slugs.get(grant.community_id) if grant.community_id else None,
            "area": areas.get(grant.area_id) if grant.area_id else None,
        }
        for grant in grants
    ]


async def admin_bootstrap(
    *, engine: Engine[Any], ledger: Ledger, email: str, password: str, display_name: str
) -> Member:
    """Create (or promote) an admin from the command line; safe to run twice."""
    community = await Community.objects().order_by(Community.created_at).first().run()
    if community is None:
        area = await Area.objects().where(Area.slug == "home").first().run()
        if area is None:
            area = Area(id=uuid.uuid4(), name="Home area", slug="home", created_at=clock.utc_now())
            await Area.insert(area).run()
        community = await community_create(
            engine=engine,
            ledger=ledger,
            actor=None,
            data=CommunityIn(name="Home time bank", slug="home", area="home"),
        )
    existing = await Member.objects().where(Member.email == normalise_email(email)).first().run()
    member = existing or await member_register(
        engine=engine,
        ledger=ledger,
        data=RegisterIn(
            email=email, password=password, display_name=display_name, community=community.slug
        ),
    )
    if member.status == "pending":
        # Promoting a pending member approves them, welcome credit included.
        async with write_transaction(engine):
            principals_changed()  # the version moves once this commits (ADR 0043)
            await (
                Member.update({Member.status: "active", Member.approved_at: clock.utc_now()})
                .where(Member.id == member.id)
                .run()
            )
            home = await community_by_id(member.community)
            await welcome_credit_post(ledger, home, member)
    await role_change(
        engine=engine,
        actor=None,
        member_id=member.id,
        change=RoleChangeIn(
            action="grant", role="admin", reason="created with timebank create-admin"
        ),
    )
    return await member_by_id(member.id)
