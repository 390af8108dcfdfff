"""Areas and communities: creating them (with a community's five system accounts) and
reading them by id or as a list."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from piccolo.columns import Column
from piccolo.engine.base import Engine

from ledger import Ledger, WriteTransaction, run_write
from service import clock
from service.errors import Conflict, Invalid
from service.i18n import _
from service.members.accounts import open_system_accounts
from service.members.audit import audit_record
from service.members.schemas import AreaIn, CommunityIn, CommunitySettingsIn
from service.members.tables import Area, Community
from service.principal import Principal, not_found, require_admin


async def area_create(*, engine: Engine[Any], actor: Principal, data: AreaIn) -> Area:
    require_admin(actor)
    area = Area(id=uuid.uuid4(), name=data.name, slug=data.slug, created_at=clock.utc_now())

    async def write(_transaction: WriteTransaction) -> None:
        # Checked inside the retried write: a racing twin that inserts the slug
        # first makes the retry answer 409 here, not a unique-index 500.
        if await Area.exists().where(Area.slug == data.slug).run():
            raise Conflict(code="slug_taken", detail=_("An area with this slug exists."))
        await Area.insert(area).run()
        await audit_record(
            actor_id=actor.member_id,
            actor_label=actor.label,
            action="area.create",
            target_type="area",
            target_id=str(area.id),
            after={"name": data.name, "slug": data.slug},
        )

    await run_write(engine, write)
    return area


async def community_create(
    *, engine: Engine[Any], ledger: Ledger, actor: Principal | None, data: CommunityIn
) -> Community:
    """Create a community and its five system accounts (actor None: the command line)."""
    if actor is not None:
        require_admin(actor)
    area = await Area.objects().where(Area.slug == data.area).first().run()
    if area is None:
        raise Invalid(code="unknown_area", detail=_("There is no area with that slug."))
    community_id = uuid.uuid4()
    fields: dict[str, Any] = msgspec.structs.asdict(data)
    fields.pop("area")

    async def write(_transaction: WriteTransaction) -> Community:
        if await Community.exists().where(Community.slug == data.slug).run():
            raise Conflict(code="slug_taken", detail=_("A community with this slug exists."))
        accounts = await open_system_accounts(ledger, community_id)
        columns: dict[str, Any] = {
            **fields,
            **{f"{purpose}_account_id": account for purpose, account in accounts.items()},
        }
        community = Community(id=community_id, area=area.id, created_at=clock.utc_now(), **columns)
        await Community.insert(community).run()
        await audit_record(
            actor_id=actor.member_id if actor else None,
            actor_label=actor.label if actor else "system:cli",
            action="community.create",
            target_type="community",
            target_id=str(community_id),
            community_id=community_id,
            after={**fields, "area": data.area},
        )
        return community

    return await run_write(engine, write)


async def community_coordinated(actor: Principal, slug: str) -> Community:
    """The community if the actor coordinates it (admins: any); 404 for anyone else."""
    community = await community_by_slug(slug)
    if not (actor.is_admin or actor.coordinates(community.id)):
        raise not_found("That community")
    return community


async def community_settings_change(
    *, engine: Engine[Any], actor: Principal, slug: str, data: CommunitySettingsIn
) -> Community:
    """Change what the community's coordinators may change (only the fields sent); audited."""
    community = await community_coordinated(actor, slug)
    changes: dict[str, Any] = {
        name: value
        for name, value in msgspec.structs.asdict(data).items()
        if value is not msgspec.UNSET and value != getattr(community, name)
    }
    if not changes:
        return community

    async def write(_transaction: WriteTransaction) -> None:
        columns: dict[Column | str, Any] = dict(changes.items())
        await Community.update(columns).where(Community.id == community.id).run()
        await audit_record(
            actor_id=actor.member_id,
            actor_label=actor.label,
            action="community.settings",
            target_type="community",
            target_id=str(community.id),
            community_id=community.id,
            before={name: getattr(community, name) for name in changes},
            after=changes,
        )

    await run_write(engine, write)
    return await community_by_id(community.id)


async def communities_list() -> list[Community]:
    return await Community.objects().order_by(Community.name).run()


async def community_by_id(community_id: uuid.UUID) -> Community:
    community = await Community.objects().where(Community.id == community_id).first().run()
    if community is None:
        raise not_found("That community")
    return community


async def community_by_slug(slug: str) -> Community:
    community = await Community.objects().where(Community.slug == slug).first().run()
    if community is None:
        raise not_found("That community")
    return community
