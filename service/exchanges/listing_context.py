"""The listing an exchange is proposed from: read once for the proposal page and its post."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from service.errors import Conflict, Forbidden, NotFound
from service.i18n import _
from service.listings import services as listings
from service.principal import Principal


@dataclass(frozen=True, slots=True)
class ListingContext:
    id: uuid.UUID
    title: str
    kind: str
    owner_id: uuid.UUID
    owner_name: str

    @property
    def viewer_role(self) -> str:
        """The proposer helps on a request and is helped on an offer."""
        return "receive" if self.kind == "offer" else "provide"


def _listing_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        raise NotFound(code="not_found", detail=_("That listing was not found.")) from None


async def proposal_listing(viewer: Principal, raw: str) -> ListingContext | None:
    """The listing an exchange is proposed from (an open one of another member), if any."""
    if not raw.strip():
        return None
    listing = await listings.listing_by_id(actor=viewer, listing_id=_listing_id(raw))
    if listing.owner is None:
        # Seen in summary (ADR 0020): the owner is not the viewer's to know.
        raise Forbidden(
            code="forbidden",
            detail=_("Only members of this listing's time bank can propose an exchange from it."),
        )
    if listing.owner.id == viewer.member_id:
        raise Conflict(
            code="own_listing",
            detail=_("This is your own listing: other members propose exchanges from it."),
        )
    if listing.status != "open":
        raise Conflict(
            code="listing_withdrawn",
            detail=_("This listing has been withdrawn, so no exchange can be proposed from it."),
        )
    if listing.paused or listing.expired:
        raise Conflict(
            code="listing_paused",
            detail=_("This listing is paused or has run out: its member can resume or renew it."),
        )
    return ListingContext(
        listing.id, listing.title, listing.kind, listing.owner.id, listing.owner.display_name
    )
