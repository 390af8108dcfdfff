"""Rate limits on signing in, shared by the sign-in page and the API."""

from __future__ import annotations

from typing import Any

from litestar import Request

from service.http.client import client_address
from service.http.ratelimit import RateLimiter, enforce
from service.limits import SIGN_IN_PER_ACCOUNT, SIGN_IN_PER_ADDRESS
from service.members import services


async def limit_sign_in(limiter: RateLimiter, request: Request[Any, Any, Any], email: str) -> None:
    await enforce(limiter, f"sign-in:address:{client_address(request)}", SIGN_IN_PER_ADDRESS)
    await enforce(
        limiter, f"sign-in:account:{services.normalise_email(email)}", SIGN_IN_PER_ACCOUNT
    )
