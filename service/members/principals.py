"""The members feature's answer to "who is calling?", for the HTTP kit (service/principal.py)."""

from __future__ import annotations

from service.members.services import principal_from_session, principal_from_token
from service.principal import Principal


class MemberPrincipalResolver:
    async def from_token(self, token: str) -> Principal | None:
        return await principal_from_token(token=token)

    async def from_session(self, token: str) -> Principal | None:
        return await principal_from_session(token=token)
