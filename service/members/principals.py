"""The members feature's answer to "who is calling?", for the HTTP kit (service/principal.py).

With REDIS_URL set, resolved callers are kept per worker for a few seconds and checked
against the principal version in Redis on every request (service/http/principal_cache.py,
ADR 0043); without it every request asks the database. On SQLite, where that question
is a read on the loop's own thread (ADR 0053), it is always asked: cheaper than Redis.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from service import clock, database
from service.http.principal_cache import PrincipalCache
from service.members.callers import Resolved, token_digest
from service.members.offline import acting_principal, acting_record
from service.members.sessions import resolve_session, resolve_token
from service.principal import Principal


class MemberPrincipalResolver:
    def __init__(self, cache: PrincipalCache[Any] | None = None) -> None:
        self._cache: PrincipalCache[Any] = cache or PrincipalCache(None)

    async def from_token(self, token: str) -> Principal | None:
        return await self._cached("token", token, resolve_token)

    async def from_session(self, token: str) -> Principal | None:
        return await self._cached("session", token, resolve_session)

    async def _cached(
        self,
        via: Literal["token", "session"],
        token: str,
        resolve: Callable[..., Awaitable[Resolved | None]],
    ) -> Principal | None:
        if database.point_reads_inline():
            # The query is a SQLite read on the loop's thread, cheaper than the
            # Redis round trip that would guard a kept copy (ADR 0053).
            resolved = await resolve(token=token)
            return None if resolved is None else resolved.principal
        # The version is read before the query: a change committed while we query
        # moves it, so what we keep below is never used under the newer version.
        version = await self._cache.version()
        key = (via, token_digest(token))
        if version is not None:
            hit: Principal | None = self._cache.get(key, version=version, now=clock.utc_now())
            if hit is not None:
                return hit
        resolved = await resolve(token=token)
        if resolved is None:
            return None
        if version is None:
            return resolved.principal
        principal = dataclasses.replace(resolved.principal, read_under_version=version)
        self._cache.put(key, principal, version=version, valid_until=resolved.valid_until)
        return principal

    async def acting_for(self, caller: Principal, member_id: uuid.UUID) -> Principal | None:
        return await acting_principal(caller, member_id)

    async def record_acting(
        self, acting: Principal, *, method: str, path: str, status: int | None
    ) -> None:
        await acting_record(acting, method=method, path=path, status=status)
