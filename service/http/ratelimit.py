"""Fixed-window rate limits, shared across workers through Redis when configured.

Sign-in is limited per client address and per account (a slow guess at one
account from many addresses is stopped too); registration per address.
Without REDIS_URL the counts live in process memory, which is right for a
single worker.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

from redis.asyncio import Redis

from service.i18n import _
from service.limits import RATE_MEMORY_KEYS_MAX
from service.problems import Problem

# Memory counters are pruned when this many keys are held, so a flood of
# distinct addresses cannot grow the dict without bound.


@runtime_checkable
class RateLimiter(Protocol):
    async def hit(self, key: str, *, window_seconds: int) -> tuple[int, int]:
        """Count one attempt; return (attempts in this window, seconds until it ends)."""
        ...

    async def close(self) -> None: ...


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}

    async def hit(self, key: str, *, window_seconds: int) -> tuple[int, int]:
        now = time.monotonic()
        started, count = self._windows.get(key, (now, 0))
        if now - started >= window_seconds:
            started, count = now, 0
        if len(self._windows) >= RATE_MEMORY_KEYS_MAX:
            self._prune(now, window_seconds)
        self._windows[key] = (started, count + 1)
        return count + 1, max(1, int(window_seconds - (now - started)))

    def _prune(self, now: float, window_seconds: int) -> None:
        self._windows = {
            key: value for key, value in self._windows.items() if now - value[0] < window_seconds
        }
        if len(self._windows) >= RATE_MEMORY_KEYS_MAX:
            self._windows.clear()

    async def close(self) -> None:
        return None


class RedisRateLimiter:
    """INCR plus EXPIRE in one transaction: atomic across every worker."""

    def __init__(self, url: str) -> None:
        self._redis: Redis = Redis.from_url(url)

    async def hit(self, key: str, *, window_seconds: int) -> tuple[int, int]:
        full_key = f"timebank:rate:{key}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(full_key)
            pipe.expire(full_key, window_seconds, nx=True)
            pipe.ttl(full_key)
            count, _expiry_set, ttl = await pipe.execute()
        return int(count), max(1, int(ttl))

    async def close(self) -> None:
        await self._redis.aclose()


def rate_limiter_for(redis_url: str | None) -> RateLimiter:
    return RedisRateLimiter(redis_url) if redis_url else MemoryRateLimiter()


async def enforce(limiter: RateLimiter, key: str, rule: tuple[int, int]) -> None:
    """Count an attempt under `rule` = (attempts, window seconds); 429 when over."""
    attempts_max, window_seconds = rule
    count, retry_after_seconds = await limiter.hit(key, window_seconds=window_seconds)
    if count > attempts_max:
        raise Problem(
            status=429,
            code="rate_limited",
            detail=_("Too many attempts. Please wait a little and try again."),
            extra={"retry_after_seconds": retry_after_seconds},
            headers={"Retry-After": str(retry_after_seconds)},
        )
