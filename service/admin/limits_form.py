"""The credit-limits form on an admin's member page: "how much they may owe" and
"highest balance" as hours and minutes, read into a floor and a ceiling in
minutes, and the account's limits said in words.

Every field arrives as a string, so a bad value is shown next to its field,
never a 400; the service (`account_limits_set`) and the ledger decide the rest.
"""

from __future__ import annotations

import msgspec

from service.admin import services
from service.admin.schemas import LimitsIn
from service.formatting import MINUTES_PER_HOUR, minutes_text
from service.i18n import N_, _
from service.limits import ACCOUNT_CEILING_MINUTES_MAX, ACCOUNT_FLOOR_MINUTES_MIN, REASON_CHARS_MAX
from service.web.forms import whole_number
from service.web.kit import Form, Rule, schema_type

REASON_MESSAGE = N_("Enter the reason, in %(chars)s characters or fewer")
REASON_LIMIT = {"chars": REASON_CHARS_MAX}


class LimitsForm(msgspec.Struct, kw_only=True):
    owe_hours: str = ""
    owe_minutes: str = ""
    ceiling_hours: str = ""
    ceiling_minutes: str = ""
    reason: str = ""


LIMITS_RULES = {
    "reason": Rule(schema_type(LimitsIn, "reason"), REASON_MESSAGE, values=REASON_LIMIT)
}
LIMITS_LABELS = {"owe_hours": N_("How much they may owe"), "ceiling_hours": N_("Highest balance")}
# The service speaks of a floor and a ceiling in minutes; the form shows its refusals
# next to the hours fields that ask for them.
LIMITS_SERVICE_FIELDS = {"floor_minutes": "owe_hours", "ceiling_minutes": "ceiling_hours"}
LIMITS_REFUSAL_LABELS = LIMITS_LABELS | {
    service_field: LIMITS_LABELS[form_field]
    for service_field, form_field in LIMITS_SERVICE_FIELDS.items()
}


def _whole(text: str) -> int | None:
    text = text.strip() or "0"
    return int(text) if whole_number(text) else None


def _hours_and_minutes(form: Form, hours_field: str, minutes_field: str, what: str) -> int | None:
    """Two fields as whole minutes; errors go on `form` next to the hours field."""
    hours = _whole(str(form.values.get(hours_field, "")))
    minutes = _whole(str(form.values.get(minutes_field, "")))
    if hours is None:
        form.errors[hours_field] = _("Enter %(what)s in whole hours, like 10") % {"what": what}
        return None
    if minutes is None or minutes >= MINUTES_PER_HOUR:
        form.errors[hours_field] = _(
            "Enter the minutes of %(what)s as a whole number from 0 to 59"
        ) % {"what": what}
        return None
    return hours * MINUTES_PER_HOUR + minutes


def limits_from(form: Form) -> tuple[int | None, int | None]:
    """(floor, ceiling) in minutes from the form; the floor is "how much they may owe"."""
    owed = _hours_and_minutes(form, "owe_hours", "owe_minutes", _("how much they may owe"))
    if owed is not None and owed > -ACCOUNT_FLOOR_MINUTES_MIN:
        form.errors["owe_hours"] = _("Enter at most %(hours)s") % {
            "hours": minutes_text(-ACCOUNT_FLOOR_MINUTES_MIN)
        }
    ceiling_given = any(
        str(form.values.get(name, "")).strip() for name in ("ceiling_hours", "ceiling_minutes")
    )
    ceiling = None
    if ceiling_given:
        ceiling = _hours_and_minutes(
            form, "ceiling_hours", "ceiling_minutes", _("the highest balance")
        )
        if ceiling is not None and ceiling > ACCOUNT_CEILING_MINUTES_MAX:
            form.errors["ceiling_hours"] = _("Enter at most %(hours)s") % {
                "hours": minutes_text(ACCOUNT_CEILING_MINUTES_MAX)
            }
    return (None if owed is None else -owed), ceiling


def _split(minutes: int) -> tuple[str, str]:
    hours, rest = divmod(minutes, MINUTES_PER_HOUR)
    return str(hours), str(rest)


def limits_values(account: services.AccountView) -> dict[str, str]:
    floor = account.floor_minutes or 0
    owe_hours, owe_minutes = _split(max(0, -floor))
    values = {"owe_hours": owe_hours, "owe_minutes": owe_minutes}
    if account.ceiling_minutes is not None:
        values["ceiling_hours"], values["ceiling_minutes"] = _split(account.ceiling_minutes)
    return values


def floor_text(floor_minutes: int | None) -> str:
    if floor_minutes is None:
        return _("No lowest balance")
    if floor_minutes < 0:
        return _("May owe up to %(hours)s") % {"hours": minutes_text(-floor_minutes)}
    if floor_minutes == 0:
        return _("Cannot go below zero")
    return _("Must keep at least %(hours)s") % {"hours": minutes_text(floor_minutes)}


def ceiling_text(ceiling_minutes: int | None) -> str:
    return _("No highest balance") if ceiling_minutes is None else minutes_text(ceiling_minutes)
