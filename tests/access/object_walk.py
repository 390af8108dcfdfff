"""The objects and operations of the object walk (tests/access/test_object_walk.py)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.exchanges import completed, disputed
from tests.support.listings import create
from tests.support.people import Town, grant, sign_in

# Valid bodies of the object routes that take one (what an entitled caller may send).
VALID_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/api/v1/listings/{listing_id}"): {"title": "A new title"},
    ("POST", "/api/v1/exchanges/{exchange_id}/dispute"): {"reason": "It did not happen"},
    ("POST", "/api/v1/coordinator/members/{member_id}/decline"): {"reason": "Not this time"},
    ("POST", "/api/v1/disputes/{dispute_id}/statements"): {"body": "My side of it"},
    ("POST", "/api/v1/admin/disputes/{dispute_id}/resolve"): {
        "outcome": "upheld",
        "note": "Both sides heard.",
    },
    ("POST", "/api/v1/admin/members/{member_id}/roles"): {
        "action": "grant",
        "role": "coordinator",
        "reason": "appointed",
        "community": "hillside",
    },
    ("POST", "/api/v1/coordinator/members/{member_id}/invitation"): {
        "email": "someone.new@example.org"
    },
    ("POST", "/api/v1/admin/members/{member_id}/suspend"): {
        "action": "suspend",
        "reason": "Asked to leave",
    },
    ("PATCH", "/api/v1/admin/members/{member_id}"): {"ward": "Northside"},
    ("PATCH", "/api/v1/coordinator/communities/{slug}"): {"listing_days": 30},
    ("POST", "/api/v1/admin/members/{member_id}/notes"): {"body": "Prefers a phone call."},
    ("POST", "/api/v1/conversations/{conversation_id}/messages"): {"body": "Hello"},
    ("POST", "/api/v1/coordinator/concerns/{concern_id}/close"): {"outcome": "Spoke to both"},
    # Issue 18: thanks after an exchange, and a coordinator's safeguarding check.
    ("POST", "/api/v1/exchanges/{exchange_id}/thanks"): {"text": "Thank you"},
    ("POST", "/api/v1/coordinator/members/{member_id}/checks"): {
        "kind": "dbs",
        "checked_on": "2026-01-05",
    },
    ("PUT", "/api/v1/coordinator/pairs/{pair_id}/arrangement"): {
        "minutes": 60,
        "cadence": "weekly",
        "weekday": 2,
        "starts_on": "2026-01-05",
    },
    ("POST", "/api/v1/coordinator/pairs/{pair_id}/visits"): {"visit_on": "2026-01-07"},
    ("POST", "/api/v1/me/pairs/{pair_id}/visits"): {"visit_on": "2026-01-07"},
    # Issue 19: events (the meeting is riverside's, tomorrow).
    ("PATCH", "/api/v1/events/{occurrence_id}"): {"place": "The library"},
    ("POST", "/api/v1/events/{occurrence_id}/rsvp"): {},
    ("POST", "/api/v1/events/{occurrence_id}/attendance"): {"attended_ids": []},
    ("PUT", "/api/v1/coordinator/members/{member_id}/may-host"): {"may_host": True},
    ("PUT", "/api/v1/admin/accounts/{account_id}/limits"): {
        "floor_minutes": -60,
        "ceiling_minutes": None,
        "reason": "Agreed with the member",
    },
}
# Object routes any signed-in member may use on any such object: nothing to walk.
SEEN_BY_EVERY_MEMBER = frozenset({("GET", "/api/v1/members/{member_id}")})
# Public routes whose path carries its own proof (a signed link), not an object id.
PUBLIC_OBJECT_ROUTES_PREFIXES = ("/unsubscribe/",)

PARAMETER = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


@dataclass(frozen=True)
class WalkObjects:
    """Riverside's objects, and who may use the routes but not see them."""

    ids: dict[str, str]  # path parameter -> an object of alice and bob (riverside)
    stranger: dict[str, str]  # carol: member and coordinator of hillside
    admin: dict[str, str]


@dataclass(frozen=True)
class ObjectOperation:
    method: str
    template: str
    url: str
    caller: dict[str, str]
    has_body: bool


async def walk_objects(town: Town) -> WalkObjects:
    """A completed exchange of alice and bob with a dispute, alice's withdrawn listing, a gift,
    a conversation of alice and bob, and alice's concern about it."""
    exchange = await completed(town, town.bob, [town.alice])
    dispute = await disputed(town, town.alice, exchange)
    listing = await create(town, town.alice)
    withdrawn = await town.client.delete(
        f"/api/v1/listings/{listing['id']}", headers=town.alice.headers
    )
    assert withdrawn.status_code == 204, withdrawn.text
    gift = await town.client.post(
        "/api/v1/transfers",
        headers=town.alice.headers,
        json={"to_member_id": str(town.bob.id), "minutes": 5},
    )
    assert gift.status_code == 201, gift.text
    conversation = await town.client.post(
        "/api/v1/conversations",
        headers=town.alice.headers,
        json={"member_id": str(town.bob.id), "body": "A private word"},
    )
    assert conversation.status_code == 201, conversation.text
    concern = await town.client.post(
        "/api/v1/concerns",
        headers=town.alice.headers,
        json={"text": "A worry", "conversation_id": conversation.json()["id"]},
    )
    assert concern.status_code == 201, concern.text
    pair_id = await _introduced_pair(town)
    await grant(town.client, town.admin, town.carol, role="coordinator", community="hillside")
    starts_at = datetime.now(UTC) + timedelta(days=1)
    event = await town.client.post(
        "/api/v1/events",
        headers=town.coordinator.headers,
        json={
            "community": "riverside",
            "title": "Tea club",
            "starts_at": starts_at.isoformat(),
            "ends_at": (starts_at + timedelta(hours=1)).isoformat(),
            "place": "The hall",
            "host_ids": [str(town.bob.id)],
            "host_minutes": 30,
        },
    )
    assert event.status_code == 201, event.text
    return WalkObjects(
        ids={
            "exchange_id": exchange["id"],
            "dispute_id": dispute["id"],
            "listing_id": listing["id"],
            "transfer_id": gift.json()["id"],
            "member_id": str(town.alice.id),
            "conversation_id": conversation.json()["id"],
            "concern_id": concern.json()["id"],
            "slug": "riverside",
            "pair_id": pair_id,
            "occurrence_id": event.json()["id"],
        },
        # A fresh token: roles are read when the caller is resolved.
        stranger=await sign_in(town.client, town.carol.email),
        admin=town.admin.headers,
    )


async def _introduced_pair(town: Town) -> str:
    """Alice (older) and bob (younger), introduced by riverside's coordinator."""
    for who, birth_year, kind in ((town.alice, 1948, "request"), (town.bob, 2001, "offer")):
        changed = await town.client.patch(
            "/api/v1/me", headers=who.headers, json={"birth_year": birth_year}
        )
        assert changed.status_code == 200, changed.text
        await create(town, who, kind=kind, category="companionship", title="Company")
    introduced = await town.client.post(
        "/api/v1/coordinator/pairs",
        headers=town.coordinator.headers,
        json={"older_id": str(town.alice.id), "younger_id": str(town.bob.id)},
    )
    assert introduced.status_code == 201, introduced.text
    pair_id: str = introduced.json()["id"]
    return pair_id


def _is_admin_route(template: str) -> bool:
    return template.startswith(("/api/v1/admin/", "/admin/"))


def page_url(template: str, objects: WalkObjects, *, unknown: bool) -> str:
    """A page route's address on riverside's objects, or on unknown ids."""
    return _url(template, objects, unknown=unknown)


def _url(template: str, objects: WalkObjects, *, unknown: bool) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if unknown or name not in objects.ids:
            return "evt_walk_unknown" if name == "event_id" else str(uuid.uuid4())
        return objects.ids[name]

    return PARAMETER.sub(value, template)


def object_operations(document: dict[str, Any], objects: WalkObjects) -> Iterator[ObjectOperation]:
    """Every operation on one object, with the caller who may use it but not see the object."""
    for template, item in document["paths"].items():
        if "{" not in template or template.startswith(PUBLIC_OBJECT_ROUTES_PREFIXES):
            continue
        for method, operation in item.items():
            method_upper = method.upper()
            if method_upper not in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                continue
            if (method_upper, template) in SEEN_BY_EVERY_MEMBER:
                continue
            admin = _is_admin_route(template)
            yield ObjectOperation(
                method=method_upper,
                template=template,
                url=_url(template, objects, unknown=admin),
                caller=objects.admin if admin else objects.stranger,
                has_body="requestBody" in operation,
            )
