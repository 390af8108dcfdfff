"""Reading the fields every form shares (hours, dates, short texts, member ids) one way."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import msgspec

from service import clock
from service.errors import invalid_field
from service.formatting import MINUTES_PER_HOUR, minutes_text
from service.i18n import _
from service.web.kit import (
    Form,
)

DIGITS_MAX = 6  # of an hours or minutes field
# What an hours-and-minutes field shows before anything is typed.
DURATION_START = {"hours": "1", "minutes": "0"}


def whole_number(text: str) -> bool:
    return len(text) <= DIGITS_MAX and text.isascii() and text.isdecimal()


def duration_field(form: Form, raw: Any, maximum: int) -> int | None:
    """Hours and minutes fields as whole minutes, 1..maximum; errors go on `form`."""
    hours_text_value = str(raw.hours).strip() or "0"
    minutes_text_value = str(raw.minutes).strip() or "0"
    hours = int(hours_text_value) if whole_number(hours_text_value) else -1
    if hours < 0:
        form.errors["hours"] = _("Enter the hours as a whole number, like 1")
        return None
    minutes = int(minutes_text_value) if whole_number(minutes_text_value) else -1
    if not 0 <= minutes < MINUTES_PER_HOUR:
        form.errors["minutes"] = _("Enter the minutes as a whole number from 0 to 59")
        return None
    total = hours * MINUTES_PER_HOUR + minutes
    if total < 1:
        form.errors["hours"] = _("Enter how long the help takes")
        return None
    if total > maximum:
        form.errors["hours"] = _("Enter at most %(hours)s") % {"hours": minutes_text(maximum)}
        return None
    return total


def service_date_field(form: Form, value: str) -> datetime | None:
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        form.errors["service_date"] = _("Enter the date of the help, like 2026-05-14")
        return None
    # The day's first instant on the time bank's clock (ADR 0064): "today" is never in
    # the future, so a coordinator can record it, and the day reads back as itself.
    return clock.day_starts_at(day)


def text_field(form: Form, name: str, value: str, message: str, maximum: int) -> str:
    text = value.strip()
    if not text or len(text) > maximum:
        form.errors[name] = _(message)  # marked with N_ or translated already (ADR 0048)
    return text


def short_text_field(form: Form, name: str, value: str, what: str, maximum: int) -> str:
    """A required text of at most `maximum` characters; `what` starts the message
    ("Give the reason" -> "Give the reason, in 500 characters or fewer").
    `what` is marked with N_ (or translated) by the caller."""
    message = _("%(what)s, in %(chars)s characters or fewer") % {"what": _(what), "chars": maximum}
    return text_field(form, name, value, message, maximum)


def member_field(form: Form, name: str, value: str, message: str) -> uuid.UUID | None:
    """A member chosen with a picker (its id), or None with `message` by the field."""
    chosen = uuid_or_none(value)
    if chosen is None:
        form.errors[name] = _(message)
    return chosen


def optional_uuid(value: str | None, field: str) -> uuid.UUID | None:
    """A form's optional id field: None when blank, 400 `field` "is not valid" when not an id."""
    if not value:
        return None
    found = uuid_or_none(value)
    if found is None:
        raise invalid_field(field, _("is not valid"))
    return found


def uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


class ConfirmForm(msgspec.Struct, kw_only=True):
    """The form of an action that only asks for the box to be ticked."""

    confirm: str = ""


CONFIRM_FIELD = "confirm"
CONFIRM_VALUE = "yes"


def confirmed(form: Form, value: str, message: str) -> bool:
    """An irreversible action asks for a ticked box first (no JavaScript needed): without
    it, `message` goes by the box and nothing is done."""
    if value.strip() == CONFIRM_VALUE:
        return True
    form.errors[CONFIRM_FIELD] = _(message)
    return False
