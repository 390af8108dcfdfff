"""Resolved callers kept briefly per process, invalidated at once through Redis (ADR 0043).

Resolving a caller is one indexed query (service/members/callers.py); with REDIS_URL
set, each worker keeps what it resolved for a few seconds, keyed by the credential's
digest. Every entry carries the *principal version* read from Redis before the query
that made it; each request reads the version again (one GET, shared by the requests
asking at once: ADR 0056) and an entry made under
another version is not used. Writes that change what a credential resolves to
(revocation, sign-out, password change or reset, suspension, closure, role or grant
change, consent or acting change, a member's details) call `principals_changed()`; the
middleware below then sets a new version in Redis once the handler has returned, so
after its transactions committed and before the client hears the answer. Any worker's
very next request therefore misses its stale entry.

Without REDIS_URL (the SQLite development default), or whenever Redis does not answer,
there is no cache: every request resolves from the database, as before. Correctness
never depends on Redis; Redis only makes the cache safe to use.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Hashable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from redis.asyncio import Redis
from redis.exceptions import RedisError

from service.limits import PRINCIPAL_CACHE_ENTRIES_MAX, PRINCIPAL_CACHE_SECONDS
from service.shared_reads import SharedReads

logger = logging.getLogger("timebank.principal_cache")

PRINCIPAL_VERSION_KEY = "timebank:principal-version"
# A version that no Redis value can equal: the key is absent (never bumped, or Redis restarted).
_ABSENT = "absent"

T = TypeVar("T")


class PrincipalVersions:
    """The version every worker compares its entries with, kept in Redis.

    A bump sets a random value rather than incrementing: after a Redis restart the
    counter would start again and could meet an old entry's number.
    """

    def __init__(self, url: str) -> None:
        self._redis: Redis = Redis.from_url(url)
        # Requests asking at once share one GET sent after they asked (ADR 0056), so
        # each still sees every bump that finished before it arrived.
        self._reads: SharedReads[str, bytes] = SharedReads(self._read_versions)

    async def current(self) -> str | None:
        """The version now, or None when Redis does not answer (then nothing is cached)."""
        try:
            value = await self._reads.read(PRINCIPAL_VERSION_KEY)
        except (RedisError, OSError):
            logger.warning("principal version unreadable; resolving without the cache")
            return None
        return _ABSENT if value is None else bytes(value).decode()

    async def _read_versions(self, keys: list[str]) -> dict[str, bytes]:
        value = await self._redis.get(PRINCIPAL_VERSION_KEY)
        return {key: value for key in keys if value is not None}

    async def bump(self) -> None:
        try:
            await self._redis.set(PRINCIPAL_VERSION_KEY, secrets.token_hex(16))
        except (RedisError, OSError):
            # Other workers keep their entries until PRINCIPAL_CACHE_SECONDS at most.
            logger.exception("principal version not bumped")

    async def close(self) -> None:
        await self._redis.aclose()


@dataclass(frozen=True, slots=True)
class _Entry(Generic[T]):
    value: T
    version: str
    fresh_until_monotonic: float
    # The credential's own end (expiry, idle limit), on the service's clock; None for a
    # kept row, which has no end of its own (`KeptRows`).
    valid_until: datetime | None


@dataclass
class PrincipalCache(Generic[T]):
    """Resolved callers by credential digest; only used together with `PrincipalVersions`."""

    versions: PrincipalVersions | None
    seconds: float = PRINCIPAL_CACHE_SECONDS
    _entries: dict[Hashable, _Entry[T]] = field(default_factory=dict)

    async def version(self) -> str | None:
        """The version to check and to tag new entries with; None means do not cache."""
        return None if self.versions is None else await self.versions.current()

    def get(self, key: Hashable, *, version: str, now: datetime | None = None) -> T | None:
        """The entry kept for `key` under `version`, or None. An entry with an end of its
        own counts as ended unless `now` is given and before it."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        ended = entry.valid_until is not None and (now is None or entry.valid_until <= now)
        if entry.version != version or entry.fresh_until_monotonic < time.monotonic() or ended:
            del self._entries[key]
            return None
        return entry.value

    def put(
        self, key: Hashable, value: T, *, version: str, valid_until: datetime | None = None
    ) -> None:
        if len(self._entries) >= PRINCIPAL_CACHE_ENTRIES_MAX:
            self._entries.clear()
        fresh_until = time.monotonic() + self.seconds
        self._entries[key] = _Entry(value, version, fresh_until, valid_until)

    def clear(self) -> None:
        self._entries.clear()

    async def close(self) -> None:
        if self.versions is not None:
            await self.versions.close()


class KeptRows(Generic[T]):
    """Rows read for a caller's request, kept in this worker under the principal version
    that caller was read under (`Principal.read_under_version`; ADR 0067).

    The version was read before the row was, so the reasoning of ADR 0043 holds for the
    row as for the caller: a write that changes such a row calls `principals_changed()`,
    the version moves before the writer is answered, and every later request, on any
    worker or node, reads the new version and misses the kept row. Entries also end after
    PRINCIPAL_CACHE_SECONDS, like kept callers. Rows are kept per event loop and database
    engine, so tests (a loop and often a database each) never see another test's rows.
    """

    __slots__ = ("_owner", "_rows")

    def __init__(self) -> None:
        # The kept callers' own store: the same version check, freshness and bound.
        self._rows: PrincipalCache[T] = PrincipalCache(None)
        self._owner: tuple[object, object] | None = None
        _kept_rows.append(self)

    def get(self, key: Hashable, *, version: str, owner: tuple[object, object]) -> T | None:
        """The row kept for `key` under `version` by `owner` (a loop and engine), or None."""
        if not self._owned_by(owner):
            return None
        return self._rows.get(key, version=version)

    def put(self, key: Hashable, value: T, *, version: str, owner: tuple[object, object]) -> None:
        self._owned_by(owner)
        self._rows.put(key, value, version=version)

    def clear(self) -> None:
        self._rows.clear()

    def _owned_by(self, owner: tuple[object, object]) -> bool:
        """True if the rows kept are `owner`'s; else forget them and keep `owner`'s from now."""
        mine = self._owner
        if mine is not None and mine[0] is owner[0] and mine[1] is owner[1]:
            return True
        self._rows.clear()
        self._owner = owner
        return False


# Every store of kept rows in the process: a bump drops this worker's rows at once too.
_kept_rows: list[KeptRows[Any]] = []


def principal_cache_for(redis_url: str | None) -> PrincipalCache[Any]:
    return PrincipalCache(PrincipalVersions(redis_url) if redis_url else None)


@dataclass
class PrincipalChanges:
    changed: bool = False


_changes: ContextVar[PrincipalChanges | None] = ContextVar(
    "timebank_principal_changes", default=None
)


def principals_changed() -> None:
    """Say that this request changed what some credential resolves to.

    May be called inside a transaction: the version moves only after the handler
    returned. Outside a request (a test calling a service, a command) it does nothing,
    and a server's entries then end within PRINCIPAL_CACHE_SECONDS.
    """
    changes = _changes.get()
    if changes is not None:
        changes.changed = True


def watch_principal_changes() -> tuple[PrincipalChanges, Token[PrincipalChanges | None]]:
    """Start noting whether this request changes a caller (`principals_changed`)."""
    changes = PrincipalChanges()
    return changes, _changes.set(changes)


def stop_watching_principal_changes(token: Token[PrincipalChanges | None]) -> None:
    _changes.reset(token)


async def settle_principal_changes(changes: PrincipalChanges, cache: PrincipalCache[Any]) -> None:
    """If the request changed a caller: drop this worker's entries and move the version.
    Called as its answer starts, after its handler's transactions committed."""
    if not changes.changed:
        return
    changes.changed = False
    cache.clear()
    for kept in _kept_rows:
        kept.clear()
    if cache.versions is not None:
        await cache.versions.bump()


def principal_changes_middleware(
    app: ASGIApp, cache_of: Callable[[], PrincipalCache[Any]]
) -> ASGIApp:
    """Bump the version, and drop this worker's entries, before answering a request
    that changed a caller. `cache_of` gives the app's cache at the time (the app's
    state holds it: `bind_settings` may change it)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        changes, token = watch_principal_changes()

        async def send_after_bump(message: Message) -> None:
            if message["type"] == "http.response.start" and changes.changed:
                await settle_principal_changes(changes, cache_of())
            await send(message)

        try:
            await app(scope, receive, send_after_bump)
        finally:
            stop_watching_principal_changes(token)

    return middleware
