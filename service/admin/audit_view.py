"""The audit log in words for the admin pages: what each action means, what an
entry changed (field by field, before and after), who did it, and the filters
of the audit page read from its form.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from service.admin import audit_log, services
from service.disputes.tables import Dispute
from service.errors import DomainError
from service.exchanges.tables import Exchange
from service.formatting import date_words, minutes_text, moment_words
from service.i18n import N_, _
from service.members.tables import Area, AuditEntry, Community, Member
from service.web.kit import Form

CHANGE_VALUE_CHARS_MAX = 300  # of one before/after value shown in the audit table
ABOUT_CHARS_MAX = 60  # of an exchange's description naming what an entry is about
UUID_TEXT_CHARS = 36
_ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}(T[\d:.]+([+-]\d{2}:\d{2}|Z)?)?$")
TARGET_WORDS = {
    "member": N_("A member"),
    "account": N_("An account"),
    "exchange": N_("An exchange"),
    "dispute": N_("A dispute"),
    "community": N_("A community"),
    "area": N_("An area"),
    "stripe_event": N_("A payment event"),
    "concern": N_("A concern"),
    "pair": N_("A friendship pair"),
    "event": N_("An event"),
}
FIELD_WORDS = {
    "floor_minutes": N_("lowest balance"),
    "autoconfirm_days": N_("days before a done exchange confirms by itself"),
    "listing_days": N_("days a listing stays up"),
    "home_check_required": N_("help at home needs a safeguarding check"),
    "requires_approval": N_("new members need approval"),
    "welcome_credit_minutes": N_("welcome hours"),
    "visitors_see_descriptions": N_("other time banks read listing descriptions"),
    "ceiling_minutes": N_("most they can hold"),
    "balance_minutes": N_("balance"),
    "available_minutes": N_("available to spend"),
    "open_exchanges": N_("open exchanges"),
    "sessions_ended": N_("sign-ins ended"),
    "tokens_revoked": N_("app keys revoked"),
    "coordinator_may_act": N_("a coordinator may act for them"),
    "has_login": N_("can sign in"),
    "transfer_id": N_("ledger entry"),
    "owner": N_("whose account"),
    "may_host": N_("may make events"),
    "attended": N_("members at the meeting"),
    "hosts_credited": N_("hosts credited"),
    "host_minutes": N_("minutes for each host"),
    "told": N_("members told"),
}

ACTION_NAMES = {
    "member.suspend": N_("Suspended a member"),
    "member.reinstate": N_("Lifted a suspension"),
    "member.details": N_("Changed a member's details"),
    "member.note": N_("Added a private note on a member"),
    "member.approve": N_("Approved a member"),
    "member.decline": N_("Declined an application"),
    "member.reapply": N_("Applied again after a decline"),
    "member.close": N_("Closed an account"),
    "account.limits": N_("Changed credit limits"),
    "account.floor_override": N_("Lowered a floor for a correction"),
    "role.grant": N_("Granted a role"),
    "role.revoke": N_("Revoked a role"),
    "area.create": N_("Created an area"),
    "community.create": N_("Created a community"),
    "community.settings": N_("Changed a community's settings"),
    "exchange.record": N_("Recorded an exchange"),
    "pool.grant": N_("Granted hours from the pool"),
    "dispute.resolve": N_("Resolved a dispute"),
    "account.ceiling_override": N_("Raised a ceiling for a correction"),
    "account.floor_restored": N_("Put a lowered floor back"),
    "account.ceiling_restored": N_("Put a raised ceiling back"),
    "donation.event_reprocess": N_("Processed a payment event again"),
    "member.suspend_pending_review": N_("Suspended a member until a concern is looked into"),
    "concern.raise": N_("Reported a concern"),
    "check.record": N_("Recorded a safeguarding check"),
    "concern.close": N_("Closed a concern"),
    "pairing.introduce": N_("Introduced two members"),
    "pairing.arrangement.set": N_("Set up a pair's regular visits"),
    "pairing.pair.end": N_("Ended a friendship pair (a member left)"),
    "acting.start": N_("Started acting for a member"),
    "acting.stop": N_("Stopped acting for a member"),
    "acting.request.started": N_("Began a change for a member (acting for them)"),
    "acting.request": N_("Made a change for a member (acting for them)"),
    "member.consent_coordinator_may_act": N_("Changed whether a coordinator may act for them"),
    "member.create_without_login": N_("Added a member without a sign-in"),
    "member.email_changed": N_("Changed their email address"),
    "member.invited": N_("Invited a member to sign in"),
    "member.password_reset": N_("Reset their password"),
    "member.reset_code_issued": N_("Gave a one-time code to reset a password"),
    "event.create": N_("Made an event"),
    "event.change": N_("Moved a meeting of an event"),
    "event.cancel": N_("Cancelled a meeting of an event"),
    "event.register": N_("Took the register of a meeting and credited its hosts"),
    "event.may_host": N_("Changed whether a member may make events"),
}


def action_name(action: str) -> str:
    return _(ACTION_NAMES[action]) if action in ACTION_NAMES else action


def _uuid_of(value: Any) -> uuid.UUID | None:
    """The id in a value: a bare uuid, or an owner label like "member:<uuid>" or
    "community:<uuid>:pool"."""
    if not isinstance(value, str):
        return None
    for part in value.split(":"):
        if len(part) == UUID_TEXT_CHARS:
            with contextlib.suppress(ValueError):
                return uuid.UUID(part)
    return None


def _uuids_in(value: Any) -> Iterator[uuid.UUID]:
    """Every id in an audit value (nested lists and objects too)."""
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _uuids_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _uuids_in(item)
    elif (found := _uuid_of(value)) is not None:
        yield found


async def _names_of(ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """A readable name for each id an admin may meet in the log: members, their hour
    accounts, communities and their pools, areas, exchanges, disputes."""
    if not ids:
        return {}
    wanted = list(ids)
    names: dict[uuid.UUID, str] = {}
    for row in await Member.select(Member.id, Member.display_name, Member.hour_account_id).where(
        Member.id.is_in(wanted) | Member.hour_account_id.is_in(wanted)
    ):
        names[row["id"]] = row["display_name"]
        names[row["hour_account_id"]] = f"{row['display_name']}'s hours"
    for row in await Community.select(
        Community.id, Community.name, Community.pool_account_id
    ).where(Community.id.is_in(wanted) | Community.pool_account_id.is_in(wanted)):
        names[row["id"]] = row["name"]
        names[row["pool_account_id"]] = f"the pool of {row['name']}"
    for row in await Area.select(Area.id, Area.name).where(Area.id.is_in(wanted)):
        names[row["id"]] = row["name"]
    for row in await Exchange.select(Exchange.id, Exchange.description).where(
        Exchange.id.is_in(wanted)
    ):
        names[row["id"]] = f"the exchange '{_short(row['description'])}'"
    for row in await Dispute.select(Dispute.id, Dispute.exchange.description).where(
        Dispute.id.is_in(wanted)
    ):
        names[row["id"]] = f"the dispute about '{_short(row['exchange.description'])}'"
    return {key: names[key] for key in names if key in ids}


def _short(text: str) -> str:
    return text if len(text) <= ABOUT_CHARS_MAX else text[:ABOUT_CHARS_MAX] + "…"


def _value_words(  # noqa: PLR0911 - one plain answer per kind of value
    value: Any, key: str, names: Mapping[uuid.UUID, str]
) -> str:
    """An audit value as an admin reads it: names for ids, hours for minutes, days for
    dates, and lists and objects spelled out (never JSON)."""
    if value is None or value in ([], {}, ""):
        return _("none")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int) and "minutes" in key:
        return minutes_text(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "; ".join(_value_words(item, key, names) for item in value)
    if isinstance(value, Mapping):
        return ", ".join(
            f"{_field_words(field)}: {_value_words(item, field, names)}"
            for field, item in value.items()
        )
    text = str(value)
    if key.endswith("transfer_id"):
        return _("written in the ledger")
    if (found := _uuid_of(text)) is not None:
        return names.get(found) or _("a record no longer here")
    if _ISO_INSTANT.match(text):
        with contextlib.suppress(ValueError):
            instant = datetime.fromisoformat(text)
            return moment_words(instant) if "T" in text else date_words(instant)
    return text


def _field_words(key: str) -> str:
    if key in FIELD_WORDS:
        return _(FIELD_WORDS[key])
    return key.removesuffix("_id").replace("_", " ")


def _clipped(text: str) -> str:
    return text if len(text) <= CHANGE_VALUE_CHARS_MAX else text[:CHANGE_VALUE_CHARS_MAX] + "…"


def audit_changes(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    names: Mapping[uuid.UUID, str] | None = None,
) -> list[dict[str, str]]:
    """What an entry changed: each field whose value differs, before and after, in words."""
    names = names or {}
    changes = []
    for key in [*before, *(key for key in after if key not in before)]:
        old, new = before.get(key), after.get(key)
        if key in before and key in after and old == new:
            continue
        changes.append(
            {
                "field": _field_words(key),
                "before": _clipped(_value_words(old, key, names)) if key in before else "—",
                "after": _clipped(_value_words(new, key, names)) if key in after else "—",
            }
        )
    return changes


def _about(entry: AuditEntry, names: Mapping[uuid.UUID, str]) -> str:
    """Whom or what an entry is about, by name."""
    found = _uuid_of(entry.target_id)
    if found is not None and found in names:
        return names[found]
    kind = (
        _(TARGET_WORDS[entry.target_type])
        if entry.target_type in TARGET_WORDS
        else entry.target_type.replace("_", " ")
    )
    return _("%(thing)s no longer here") % {"thing": kind} if found is not None else kind


async def audit_rows(entries: list[AuditEntry]) -> list[dict[str, Any]]:
    befores = [audit_log.audit_json(entry.before_json) for entry in entries]
    afters = [audit_log.audit_json(entry.after_json) for entry in entries]
    ids: set[uuid.UUID] = set()
    for entry, before, after in zip(entries, befores, afters, strict=True):
        ids.update(_uuids_in([entry.target_id, before, after]))
    names = await _names_of(ids)
    actors = await services.member_names(entry.actor_id for entry in entries)
    return [
        {
            "at": entry.at,
            "who": actors.get(entry.actor_id) or _("Former member")
            if entry.actor_id
            else entry.actor_label.replace("system:", _("System: ")),
            "what": action_name(entry.action),
            "action": entry.action,
            "target_type": entry.target_type,
            "target_id": entry.target_id,
            "about": _about(entry, names),
            "reason": entry.reason,
            "changes": audit_changes(before, after, names),
        }
        for entry, before, after in zip(entries, befores, afters, strict=True)
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
            form.errors["actor"] = _("Enter the email address or id of a member")
    bounds = {}
    for name, end in (("from", False), ("to", True)):
        try:
            bounds[name] = audit_log.audit_bound(values[name], field=name, end=end)
        except DomainError:
            form.errors[name] = _("Enter a date like 2026-05-14")
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
