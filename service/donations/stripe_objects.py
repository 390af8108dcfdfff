"""Careful reading of Stripe's JSON objects (events and API answers).

Stripe's shapes vary by API version (an invoice names its subscription at
`subscription` in older versions, at `parent.subscription_details.subscription`
in newer ones), and a field holding another object is either its id or, when
expanded, the object itself. These helpers read a value only when it has the
expected type, so an unexpected shape becomes "not known", never an exception.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from service.limits import STRIPE_ID_CHARS_MAX

URL_CHARS_MAX = 2000


def child(data: Mapping[str, Any] | None, *path: str) -> Mapping[str, Any] | None:
    """The object at `path`, or None if any step is missing or not an object."""
    current: Any = data
    for key in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current if isinstance(current, Mapping) else None


def _value(data: Mapping[str, Any] | None, path: Sequence[str]) -> Any:
    parent = child(data, *path[:-1]) if len(path) > 1 else data
    return parent.get(path[-1]) if isinstance(parent, Mapping) else None


def text(
    data: Mapping[str, Any] | None, *path: str, limit: int = STRIPE_ID_CHARS_MAX
) -> str | None:
    """A non-empty string of at most `limit` characters at `path`, else None."""
    value = _value(data, path)
    if isinstance(value, str) and 0 < len(value) <= limit:
        return value
    return None


def whole(data: Mapping[str, Any] | None, *path: str) -> int | None:
    """A whole number at `path` (booleans are not numbers), else None."""
    value = _value(data, path)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def ref(data: Mapping[str, Any] | None, *path: str) -> str | None:
    """The id of the object at `path`, whether Stripe sent the id or the expanded object."""
    value = _value(data, path)
    if isinstance(value, Mapping):
        return text(value, "id")
    return text(data, *path)


def first_ref(data: Mapping[str, Any] | None, *paths: tuple[str, ...]) -> str | None:
    """The first id found at any of `paths` (for fields that moved between API versions)."""
    for path in paths:
        found = ref(data, *path)
        if found is not None:
            return found
    return None


def items(data: Mapping[str, Any] | None, *path: str) -> list[Mapping[str, Any]]:
    """The objects of a Stripe list (`{"data": [...]}`) at `path`."""
    listed = _value(child(data, *path), ("data",))
    if not isinstance(listed, list):
        return []
    return [item for item in listed if isinstance(item, Mapping)]
