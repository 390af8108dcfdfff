"""The append-only audit log of privileged actions (triggers refuse UPDATE/DELETE)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from service.members.tables import AuditEntry
from service.observability import current_request_id
from service.principal import Principal


async def audit_record(
    *,
    actor_id: uuid.UUID | None,
    actor_label: str,
    action: str,
    target_type: str,
    target_id: str,
    reason: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    community_id: uuid.UUID | None = None,
) -> None:
    """Write one audit line; call inside the transaction that makes the change."""
    await AuditEntry.insert(
        AuditEntry(
            id=uuid.uuid4(),
            at=datetime.now(UTC),
            actor_id=actor_id,
            actor_label=actor_label[:120],
            action=action,
            target_type=target_type,
            target_id=target_id,
            community=community_id,
            reason=reason,
            before_json=json.dumps(before or {}, default=str, sort_keys=True),
            after_json=json.dumps(after or {}, default=str, sort_keys=True),
            request_id=current_request_id() or "",
        )
    ).run()


async def audit_member_change(
    actor: Principal,
    *,
    action: str,
    member_id: uuid.UUID,
    community_id: uuid.UUID | None,
    reason: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """Write the audit line of a change a signed-in caller made to a member."""
    await audit_record(
        actor_id=actor.member_id,
        actor_label=actor.label,
        action=action,
        target_type="member",
        target_id=str(member_id),
        community_id=community_id,
        reason=reason,
        before=before,
        after=after,
    )
