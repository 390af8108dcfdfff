"""Sign-in limits: failed sign-ins lock an account or an address, successes never count.

The rule (ADR 0021):

- Every failed sign-in (wrong password, or an email nobody has) counts once
  against the email as typed (normalised) and once against the client address,
  in a window of `SIGN_IN_FAILURE_WINDOW_SECONDS` from the first failure.
- When an email reaches `SIGN_IN_ACCOUNT_FAILURES_MAX` failures, or an address
  `SIGN_IN_ADDRESS_FAILURES_MAX`, it is locked: `SIGN_IN_LOCK_FIRST_SECONDS`
  the first time, twice as long each further time (up to
  `SIGN_IN_LOCK_MAX_SECONDS`), and the count starts again. The doubling is
  forgotten `SIGN_IN_LOCK_MEMORY_SECONDS` after the last lock.
- While locked, every sign-in for that email or from that address is answered
  429 with `Retry-After` and a sentence saying when to try again, before the
  password is checked (so guesses during a lock test nothing), even with the
  right password.
- A successful sign-in is never counted. It clears the email's failures (the
  member proved who they are), but not the address's: a guesser with an
  account of their own must not wipe their address's count by signing in.
- Unknown emails count and lock exactly as known ones, so a lock says nothing
  about whether an account exists.

Without REDIS_URL the counts live in process memory (one worker); with it,
every worker shares them through Redis, each change one atomic script.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from litestar import Request
from redis.asyncio import Redis

from service.errors import DomainError, TooManyAttempts
from service.i18n import _, ngettext
from service.limits import (
    RATE_MEMORY_KEYS_MAX,
    SIGN_IN_ACCOUNT_FAILURES_MAX,
    SIGN_IN_ADDRESS_FAILURES_MAX,
    SIGN_IN_FAILURE_WINDOW_SECONDS,
    SIGN_IN_LOCK_FIRST_SECONDS,
    SIGN_IN_LOCK_MAX_SECONDS,
    SIGN_IN_LOCK_MEMORY_SECONDS,
)
from service.members import services
from service.members.sessions import authenticate
from service.members.tables import Member

# Memory entries are pruned when this many are held, so a flood of distinct
# emails or addresses cannot grow the dict without bound.
REDIS_KEY_PREFIX = "timebank:sign-in:"


@dataclass(frozen=True, slots=True)
class FailureRule:
    failures_max: int
    window_seconds: int = SIGN_IN_FAILURE_WINDOW_SECONDS
    lock_first_seconds: int = SIGN_IN_LOCK_FIRST_SECONDS
    lock_max_seconds: int = SIGN_IN_LOCK_MAX_SECONDS
    lock_memory_seconds: int = SIGN_IN_LOCK_MEMORY_SECONDS

    def lock_seconds(self, lock_number: int) -> int:
        """How long the n-th lock (from 1) lasts: doubling, capped."""
        doublings = min(lock_number - 1, 30)  # 2**30 seconds is past any cap
        return min(self.lock_first_seconds * (1 << doublings), self.lock_max_seconds)


ACCOUNT_RULE = FailureRule(failures_max=SIGN_IN_ACCOUNT_FAILURES_MAX)
ADDRESS_RULE = FailureRule(failures_max=SIGN_IN_ADDRESS_FAILURES_MAX)


class FailureCounter(Protocol):
    async def lock_remaining_seconds(self, key: str) -> int:
        """Seconds until `key` is unlocked; 0 if it is not locked."""
        ...

    async def record_failure(self, key: str, rule: FailureRule) -> int:
        """Count one failure; the seconds of the lock it started, or 0."""
        ...

    async def forget_failures(self, key: str) -> None: ...

    async def close(self) -> None: ...


@dataclass(slots=True)
class _Entry:
    failures: int = 0
    window_ends: float = 0.0
    locked_until: float = 0.0
    locks: int = 0
    locks_forgotten_at: float = 0.0


class MemoryFailureCounter:
    """One worker's counts. `clock` is injectable so that tests need no sleeps."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: dict[str, _Entry] = {}
        self._clock = clock

    async def lock_remaining_seconds(self, key: str) -> int:
        entry = self._entries.get(key)
        if entry is None:
            return 0
        return max(0, math.ceil(entry.locked_until - self._clock()))

    async def record_failure(self, key: str, rule: FailureRule) -> int:
        now = self._clock()
        if len(self._entries) >= RATE_MEMORY_KEYS_MAX and key not in self._entries:
            self._prune(now)
        entry = self._entries.setdefault(key, _Entry())
        if now >= entry.window_ends:
            entry.failures, entry.window_ends = 0, now + rule.window_seconds
        if now >= entry.locks_forgotten_at:
            entry.locks = 0
        entry.failures += 1
        if entry.failures < rule.failures_max:
            return 0
        entry.failures, entry.window_ends = 0, 0.0
        entry.locks += 1
        lock_seconds = rule.lock_seconds(entry.locks)
        entry.locked_until = now + lock_seconds
        entry.locks_forgotten_at = entry.locked_until + rule.lock_memory_seconds
        return lock_seconds

    async def forget_failures(self, key: str) -> None:
        entry = self._entries.get(key)
        if entry is not None:
            entry.failures, entry.window_ends = 0, 0.0

    def _prune(self, now: float) -> None:
        self._entries = {
            key: entry
            for key, entry in self._entries.items()
            if entry.window_ends > now or entry.locks_forgotten_at > now
        }
        if len(self._entries) >= RATE_MEMORY_KEYS_MAX:
            self._entries.clear()

    async def close(self) -> None:
        return None


# KEYS: failures, lock, locks (the doubling's memory).
# ARGV: failures_max, window_seconds, lock_first, lock_max, lock_memory.
_RECORD_FAILURE_SCRIPT = """
local failures = redis.call('INCR', KEYS[1])
if failures == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if failures < tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
local locks = redis.call('INCR', KEYS[3])
local doublings = math.min(locks - 1, 30)
local seconds = math.min(tonumber(ARGV[3]) * (2 ^ doublings), tonumber(ARGV[4]))
seconds = math.floor(seconds)
redis.call('SET', KEYS[2], '1', 'EX', seconds)
redis.call('EXPIRE', KEYS[3], seconds + tonumber(ARGV[5]))
return seconds
"""


class RedisFailureCounter:
    """Counts shared by every worker; each failure is one atomic Lua script."""

    def __init__(self, url: str) -> None:
        self._redis: Redis = Redis.from_url(url)
        self._record = self._redis.register_script(_RECORD_FAILURE_SCRIPT)

    @staticmethod
    def _keys(key: str) -> list[str]:
        base = REDIS_KEY_PREFIX + key
        return [f"{base}:failures", f"{base}:lock", f"{base}:locks"]

    async def lock_remaining_seconds(self, key: str) -> int:
        milliseconds = int(await self._redis.pttl(self._keys(key)[1]))
        return math.ceil(milliseconds / 1000) if milliseconds > 0 else 0

    async def record_failure(self, key: str, rule: FailureRule) -> int:
        arguments = [
            rule.failures_max,
            rule.window_seconds,
            rule.lock_first_seconds,
            rule.lock_max_seconds,
            rule.lock_memory_seconds,
        ]
        return int(await self._record(keys=self._keys(key), args=arguments))

    async def forget_failures(self, key: str) -> None:
        await self._redis.delete(self._keys(key)[0])

    async def close(self) -> None:
        await self._redis.aclose()


def failure_counter_for(redis_url: str | None) -> FailureCounter:
    return RedisFailureCounter(redis_url) if redis_url else MemoryFailureCounter()


# The rule, applied ------------------------------------------------------------------


def wait_text(seconds: int) -> str:
    """A wait in plain words, rounded up: "30 seconds", "2 minutes", "1 hour and 4 minutes"."""
    if seconds < 60:  # noqa: PLR2004 - a minute
        return ngettext("%(n)s second", "%(n)s seconds", seconds) % {"n": seconds}
    minutes = math.ceil(seconds / 60)
    hours, rest = divmod(minutes, 60)
    parts = [ngettext("%(n)s hour", "%(n)s hours", hours) % {"n": hours}] if hours else []
    if rest:
        parts.append(ngettext("%(n)s minute", "%(n)s minutes", rest) % {"n": rest})
    return _(" and ").join(parts)


def locked_problem(seconds: int) -> DomainError:
    return TooManyAttempts(
        code="sign_in_locked",
        title=_("Too many failed sign-ins"),
        detail=_(
            "There have been too many failed attempts to sign in. "
            "For your safety, please wait %(wait)s and then try again."
        )
        % {"wait": wait_text(seconds)},
        extra={"retry_after_seconds": seconds},
        retry_after_seconds=seconds,
    )


def _keys(email: str, address: str) -> tuple[str, str]:
    return f"account:{services.normalise_email(email)}", f"address:{address}"


async def sign_in_checked(
    *, counter: FailureCounter, address: str, email: str, password: str
) -> Member:
    """`authenticate`, refused while locked, counting only failures."""
    account_key, address_key = _keys(email, address)
    wait_seconds = max(
        await counter.lock_remaining_seconds(account_key),
        await counter.lock_remaining_seconds(address_key),
    )
    if wait_seconds:
        raise locked_problem(wait_seconds)
    try:
        member = await authenticate(email=email, password=password)
    except DomainError as problem:
        if problem.code == "sign_in_failed":
            await sign_in_failed(counter=counter, address=address, email=email)
        raise
    await counter.forget_failures(account_key)
    return member


async def sign_in_failed(*, counter: FailureCounter, address: str, email: str) -> None:
    """Count a failure; if it starts a lock, say so now (429) instead of "wrong password"."""
    account_key, address_key = _keys(email, address)
    lock_seconds = max(
        await counter.record_failure(account_key, ACCOUNT_RULE),
        await counter.record_failure(address_key, ADDRESS_RULE),
    )
    if lock_seconds:
        raise locked_problem(lock_seconds)


def sign_in_counter(request: Request[Any, Any, Any]) -> FailureCounter:
    """The app's failed-sign-in counts, shared by the sign-in page and the token API."""
    counter: FailureCounter = request.app.state.sign_in_failures
    return counter
