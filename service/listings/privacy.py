"""Who sees what of a listing, and the addresses a listing may never show (ADR 0020).

A listing belongs to its owner's community. What a signed-in member sees:

- everything: the owner; admins; coordinators of the listing's community;
  approved (active) members of the same community;
- everything, unless the listing is marked sensitive ("this says something
  personal about me"): approved members of other communities, when the
  listing's community has `visitors_see_descriptions` on;
- otherwise a summary, titles and categories only (kind, title, category,
  community, dates): pending members (of any community, their own included)
  and approved members of other communities. The description, ward,
  availability, the owner's name and the sensitive flag itself are withheld.

A summary is also what searching may reveal: a text search matches only the
title of a listing the member sees in summary, and a ward filter only the
listings they see in full, so that a search cannot be used to read a withheld
description or ward word by word.

No listing shows an exact address: titles, descriptions, availability and
wards are refused (422, naming the field) when they hold a full UK postcode or
a house number followed by a street name. Members say the area instead and
share an address once an exchange is agreed.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from service.errors import invalid_field
from service.principal import Principal

# A full UK postcode ("M14 5RT", "SW1A 1AA", "GIR 0AA"), any case, with or without
# the space. An outward code alone ("M14") names a district, not a home: allowed.
_UK_POSTCODE = re.compile(
    r"\b(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})\b", re.IGNORECASE
)
# A house number, one to three capitalised words, then a street word: "12 Rose
# Street", "4a Mill Lane", "221B Baker St". Capitals are required so that
# "2 hours in the park" is not taken for an address.
_STREET_WORDS = (
    "Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Close|Drive|Dr|Way|Crescent|Cres|Court|Ct|"
    "Place|Pl|Gardens|Gdns|Terrace|Grove|Row|Walk|Square|Sq|Mews|Parade|Rise|Hill|View"
)
_HOUSE_AND_STREET = re.compile(
    rf"\b\d{{1,4}}[A-Za-z]?,?\s+(?:[A-Z][a-z'\u2019-]+\s+){{1,3}}(?:{_STREET_WORDS})\b\.?"
)
ADDRESS_MESSAGE = (
    "must not include a postcode or a house number and street; "
    "say the area instead, and share your address once an exchange is agreed"
)


def holds_exact_address(text: str) -> bool:
    return bool(_UK_POSTCODE.search(text) or _HOUSE_AND_STREET.search(text))


def refuse_exact_addresses(fields: dict[str, str | None]) -> None:
    """422 naming the first field (in the order given) that holds an exact address."""
    for field, text in fields.items():
        if text and holds_exact_address(text):
            raise invalid_field(field, ADDRESS_MESSAGE)


def _as_bool(value: Any) -> bool:
    """SQLite hands booleans back as 0 and 1."""
    return bool(value)


def sees_everything(row: dict[str, Any], actor: Principal) -> bool:
    """The rule above, for one listing row (with owner_id, community_id, sensitive, ...)."""
    community_id = _uuid(row["community_id"])
    if _uuid(row["owner_id"]) == actor.member_id or actor.is_admin:
        return True
    if actor.coordinates(community_id):
        return True
    if actor.status != "active":
        return False
    if community_id == actor.community_id:
        return True
    return _as_bool(row["visitors_see_descriptions"]) and not _as_bool(row["sensitive"])


def full_view_sql(actor: Principal) -> tuple[str, list[Any]]:
    """The same rule as a SQL condition on `l` (listing) and `co` (its community)."""
    if actor.is_admin:
        return "1 = 1", []
    parts = ["l.member = {}"]
    args: list[Any] = [actor.member_id]
    for community_id in sorted(actor.coordinated_communities):
        parts.append("l.community = {}")
        args.append(community_id)
    if actor.status == "active":
        parts.append("l.community = {}")
        args.append(actor.community_id)
        parts.append("(co.visitors_see_descriptions AND NOT l.sensitive)")
    return "(" + " OR ".join(parts) + ")", args


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
