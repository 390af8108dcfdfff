"""How often recovery may be tried, shared by the JSON API and the pages: the rate
limits on asking for a reset, on trying a token or code, and on changing an email
address, and the fixed minimum time a reset request takes to answer.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from service.http.ratelimit import RateLimiter, enforce
from service.members.services import normalise_email
from service.recovery import services
from service.recovery.limits import (
    EMAIL_CHANGE_PER_MEMBER,
    PASSWORD_RESET_ANSWER_SECONDS_MIN,
    PASSWORD_RESET_PER_ADDRESS,
    PASSWORD_RESET_PER_EMAIL,
    RESET_CONFIRM_PER_ADDRESS,
)


async def limit_reset_request(limiter: RateLimiter, address: str, email: str) -> None:
    await enforce(limiter, f"password-reset:address:{address}", PASSWORD_RESET_PER_ADDRESS)
    await enforce(
        limiter, f"password-reset:email:{normalise_email(email)}", PASSWORD_RESET_PER_EMAIL
    )


async def limit_token_attempt(limiter: RateLimiter, address: str) -> None:
    """Reset tokens, codes and email-change links share one count per client address."""
    await enforce(limiter, f"password-reset-confirm:address:{address}", RESET_CONFIRM_PER_ADDRESS)


async def limit_email_change(limiter: RateLimiter, member_id: uuid.UUID) -> None:
    await enforce(limiter, f"email-change:member:{member_id}", EMAIL_CHANGE_PER_MEMBER)


async def reset_request_padded(*, engine: Any, email: str) -> None:
    """Ask for a link, then wait out a fixed minimum: known and unknown emails take as long."""
    started = time.monotonic()
    await services.password_reset_request(engine=engine, email=email)
    # A pause on purpose (not synchronisation): it hides which path ran.
    await asyncio.sleep(max(0.0, PASSWORD_RESET_ANSWER_SECONDS_MIN - (time.monotonic() - started)))
