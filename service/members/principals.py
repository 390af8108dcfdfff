"""The members feature's answer to "who is calling?", for the HTTP kit (service/principal.py)."""

from __future__ import annotations

import uuid

from service.members.offline import acting_principal, acting_record
from service.members.sessions import principal_from_session, principal_from_token
from service.principal import Principal


class MemberPrincipalResolver:
    async def from_token(self, token: str) -> Principal | None:
        return await principal_from_token(token=token)

    async def from_session(self, token: str) -> Principal | None:
        return await principal_from_session(token=token)

    async def acting_for(self, caller: Principal, member_id: uuid.UUID) -> Principal | None:
        return await acting_principal(caller, member_id)

    async def record_acting(
        self, acting: Principal, *, method: str, path: str, status: int | None
    ) -> None:
        await acting_record(acting, method=method, path=path, status=status)
