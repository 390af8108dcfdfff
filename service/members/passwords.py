"""argon2id password hashing off the event loop, with a cap on concurrent hashes.

Each hash takes about 0.1 s and 64 MiB: run inline, it would stall every
other request; run unbounded, a burst of sign-ins would exhaust memory.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from service.limits import PASSWORD_HASHES_CONCURRENT_MAX

_slots: dict[int, asyncio.Semaphore] = {}
_DUMMY_PASSWORD = "timebank-dummy-password-for-equal-timing"  # noqa: S105 - never a credential


class _Hashing:
    """The hasher in use, and a hash made with it to verify against for unknown emails."""

    def __init__(self, time_cost: int, memory_kib: int) -> None:
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        # Verified against when the email is unknown, so that an unknown email
        # costs the same time as a wrong password (no enumeration by timing).
        self.dummy_hash = self.hasher.hash(_DUMMY_PASSWORD)


_current: list[_Hashing] = [_Hashing(time_cost=3, memory_kib=65_536)]


def configure(*, time_cost: int, memory_kib: int) -> None:
    """Set the argon2id cost (from Settings at start-up); older hashes are upgraded at sign-in."""
    hashing = _current[0]
    if (hashing.hasher.time_cost, hashing.hasher.memory_cost) != (time_cost, memory_kib):
        _current[0] = _Hashing(time_cost=time_cost, memory_kib=memory_kib)


def _semaphore() -> asyncio.Semaphore:
    loop_id = id(asyncio.get_running_loop())
    slot = _slots.get(loop_id)
    if slot is None:
        slot = _slots[loop_id] = asyncio.Semaphore(PASSWORD_HASHES_CONCURRENT_MAX)
    return slot


async def hash_password(password: str) -> str:
    async with _semaphore():
        return await asyncio.to_thread(_current[0].hasher.hash, password)


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """True if `password` matches; always spends one verification's time."""
    async with _semaphore():
        hashing = _current[0]
        return await asyncio.to_thread(
            _verify, hashing.hasher, stored_hash or hashing.dummy_hash, password
        ) and (stored_hash is not None)


def _verify(hasher: PasswordHasher, stored_hash: str, password: str) -> bool:
    try:
        return hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _current[0].hasher.check_needs_rehash(stored_hash)
