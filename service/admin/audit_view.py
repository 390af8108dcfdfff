"""The audit log in words for the admin pages: what each action means, what an
entry changed (field by field, before and after), who did it, and the filters
of the audit page read from its form.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from service.admin import audit_log, services
from service.errors import DomainError
from service.members.tables import AuditEntry
from service.web.kit import Form

CHANGE_VALUE_CHARS_MAX = 300  # of one before/after value shown in the audit table

ACTION_NAMES = {
    "member.suspend": "Suspended a member",
    "member.reinstate": "Lifted a suspension",
    "member.approve": "Approved a member",
    "member.decline": "Declined an application",
    "member.reapply": "Applied again after a decline",
    "member.close": "Closed an account",
    "account.limits": "Changed credit limits",
    "account.floor_override": "Lowered a floor for a correction",
    "role.grant": "Granted a role",
    "role.revoke": "Revoked a role",
    "area.create": "Created an area",
    "community.create": "Created a community",
    "exchange.record": "Recorded an exchange",
    "pool.grant": "Granted hours from the pool",
    "dispute.resolve": "Resolved a dispute",
}


def action_name(action: str) -> str:
    return ACTION_NAMES.get(action, action)


def _value_text(value: Any) -> str:
    if value is None or value in ([], {}):
        return "none"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= CHANGE_VALUE_CHARS_MAX else text[:CHANGE_VALUE_CHARS_MAX] + "…"


def audit_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, str]]:
    """What an entry changed: each field whose value differs, before and after."""
    changes = []
    for key in [*before, *(key for key in after if key not in before)]:
        old, new = before.get(key), after.get(key)
        if key in before and key in after and old == new:
            continue
        changes.append(
            {
                "field": key.replace("_", " "),
                "before": _value_text(old) if key in before else "—",
                "after": _value_text(new) if key in after else "—",
            }
        )
    return changes


async def audit_rows(entries: list[AuditEntry]) -> list[dict[str, Any]]:
    names = await services.member_names(entry.actor_id for entry in entries)
    return [
        {
            "at": entry.at,
            "who": names.get(entry.actor_id, "Former member")
            if entry.actor_id
            else entry.actor_label.replace("system:", "System: "),
            "what": action_name(entry.action),
            "action": entry.action,
            "target_type": entry.target_type,
            "target_id": entry.target_id,
            "reason": entry.reason,
            "changes": audit_changes(
                audit_log.audit_json(entry.before_json), audit_log.audit_json(entry.after_json)
            ),
        }
        for entry in entries
    ]


async def audit_filters_from(form: Form) -> audit_log.AuditFilters | None:
    """The audit page's filters, checked; errors go on `form` (None if any)."""
    values = form.values
    actor_id = None
    actor_text = values["actor"].strip()
    if actor_text:
        try:
            actor_id = uuid.UUID(actor_text)
        except ValueError:
            actor_id = await services.member_id_by_email(actor_text)
        if actor_id is None:
            form.errors["actor"] = "Enter the email address or id of a member"
    bounds = {}
    for name, end in (("from", False), ("to", True)):
        try:
            bounds[name] = audit_log.audit_bound(values[name], field=name, end=end)
        except DomainError:
            form.errors[name] = "Enter a date like 2026-05-14"
    if form.failed:
        return None
    return audit_log.AuditFilters(
        actor_id=actor_id,
        action=values["action"].strip() or None,
        target_type=values["target_type"].strip() or None,
        target_id=values["target_id"].strip() or None,
        from_at=bounds["from"],
        to_at=bounds["to"],
    )
