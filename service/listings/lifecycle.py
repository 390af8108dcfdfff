"""Pausing, resuming and renewing a member's own listing (issue 18, ADR 0035).

A paused or expired listing is out of search and takes no new proposals; renewing
keeps it up for the community's number of days from now.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from piccolo.engine.base import Engine

from service import clock
from service.listings.expiry import community_listing_days
from service.listings.schemas import ListingOut
from service.listings.services import (
    listing_out,
    listing_withdrawn,
    open_listing_change,
    owned_row,
)
from service.listings.tables import Listing
from service.principal import Principal


async def _change_open_listing(
    engine: Engine[Any],
    actor: Principal,
    listing_id: uuid.UUID,
    action: str,
    changes: dict[Any, Any],
) -> ListingOut:
    row = await owned_row(actor, listing_id, action)
    if row["status"] != "open":
        raise listing_withdrawn()
    return await open_listing_change(engine, actor, listing_id, changes)


async def listing_pause(
    *, engine: Engine[Any], actor: Principal, listing_id: uuid.UUID
) -> ListingOut:
    """Take the actor's own listing out of search for now; pausing again changes nothing."""
    row = await owned_row(actor, listing_id, "pause")
    if row["paused_at"] is not None:
        return listing_out(row, actor)
    return await _change_open_listing(
        engine, actor, listing_id, "pause", {Listing.paused_at: clock.utc_now()}
    )


async def listing_resume(
    *, engine: Engine[Any], actor: Principal, listing_id: uuid.UUID
) -> ListingOut:
    """Put a paused listing back in search (until its expiry, as before)."""
    return await _change_open_listing(
        engine, actor, listing_id, "resume", {Listing.paused_at: None}
    )


async def listing_renew(
    *, engine: Engine[Any], actor: Principal, listing_id: uuid.UUID
) -> ListingOut:
    """Keep the listing up for the community's number of days from now, expired or not."""
    days = await community_listing_days(actor.community_id)
    changes = {
        Listing.expires_at: clock.utc_now() + timedelta(days=days),
        Listing.renew_reminded_at: None,
    }
    return await _change_open_listing(engine, actor, listing_id, "renew", changes)
