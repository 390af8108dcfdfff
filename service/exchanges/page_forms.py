"""The exchange forms as posted (every field a string, so a bad value is shown, never a
400), their labels, and the fields the propose and record forms share."""

from __future__ import annotations

from datetime import datetime

import msgspec

from service import clock
from service.i18n import N_
from service.limits import EXCHANGE_DESCRIPTION_CHARS_MAX, EXCHANGE_MINUTES_MAX
from service.web.forms import DURATION_START, duration_field, service_date_field, short_text_field
from service.web.kit import Form

ROLE_OPTIONS = [("provide", N_("I will help them")), ("receive", N_("They will help me"))]


class ExchangeForm(msgspec.Struct, kw_only=True):
    role: str = ""
    other: str = ""
    hours: str = ""
    minutes: str = ""
    service_date: str = ""
    description: str = ""
    listing: str = ""


class RecordForm(msgspec.Struct, kw_only=True):
    provider: str = ""
    recipient: str = ""
    hours: str = ""
    minutes: str = ""
    service_date: str = ""
    description: str = ""
    form_token: str = ""


EXCHANGE_LABELS = {
    "other": N_("The other member"),
    "provider_id": N_("The other member"),
    "recipient_id": N_("The other member"),
    "recipient_ids": N_("The other member"),
    "hours": N_("How long"),
    "minutes": N_("How long"),
    "service_date": N_("Date of the help"),
    "description": N_("What the help is"),
}
RECORD_LABELS = {
    "provider": N_("Who helped"),
    "provider_id": N_("Who helped"),
    "recipient": N_("Who was helped"),
    "recipient_id": N_("Who was helped"),
    "hours": N_("How long"),
    "minutes": N_("How long"),
    "service_date": N_("Date of the help"),
    "description": N_("What the help was"),
}
# Service field names -> the form field that shows them.
SERVICE_FIELDS = {
    "provider_id": "other",
    "recipient_id": "other",
    "recipient_ids": "other",
    "minutes": "hours",
}
RECORD_FIELDS = {"provider_id": "provider", "recipient_id": "recipient", "minutes": "hours"}


def help_start() -> dict[str, str]:
    """What a new exchange form shows: one hour, today."""
    return {**DURATION_START, "service_date": clock.local_today().isoformat()}


def help_fields(
    form: Form, data: ExchangeForm | RecordForm
) -> tuple[int | None, datetime | None, str]:
    """What every exchange form asks: how long, when, and what the help was."""
    minutes = duration_field(form, data, EXCHANGE_MINUTES_MAX)
    service_date = service_date_field(form, data.service_date)
    description = short_text_field(
        form,
        "description",
        data.description,
        N_("Describe the help"),
        EXCHANGE_DESCRIPTION_CHARS_MAX,
    )
    return minutes, service_date, description
