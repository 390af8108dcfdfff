"""The exchange forms as posted (every field a string, so a bad value is shown, never a
400), their labels, and the fields the propose and record forms share."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from service.limits import EXCHANGE_DESCRIPTION_CHARS_MAX, EXCHANGE_MINUTES_MAX
from service.web.forms import DURATION_START, duration_field, service_date_field, short_text_field
from service.web.kit import Form

ROLE_OPTIONS = [("provide", "I will help them"), ("receive", "They will help me")]


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
    "other": "The other member",
    "provider_id": "The other member",
    "recipient_id": "The other member",
    "recipient_ids": "The other member",
    "hours": "How long",
    "minutes": "How long",
    "service_date": "Date of the help",
    "description": "What the help is",
}
RECORD_LABELS = {
    "provider": "Who helped",
    "provider_id": "Who helped",
    "recipient": "Who was helped",
    "recipient_id": "Who was helped",
    "hours": "How long",
    "minutes": "How long",
    "service_date": "Date of the help",
    "description": "What the help was",
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
    return {**DURATION_START, "service_date": datetime.now(UTC).date().isoformat()}


def help_fields(
    form: Form, data: ExchangeForm | RecordForm
) -> tuple[int | None, datetime | None, str]:
    """What every exchange form asks: how long, when, and what the help was."""
    minutes = duration_field(form, data, EXCHANGE_MINUTES_MAX)
    service_date = service_date_field(form, data.service_date)
    description = short_text_field(
        form, "description", data.description, "Describe the help", EXCHANGE_DESCRIPTION_CHARS_MAX
    )
    return minutes, service_date, description
