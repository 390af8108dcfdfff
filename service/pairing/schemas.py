"""Request and response shapes of friendship pairs (msgspec: validation is declared)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from service.i18n import N_
from service.limits import VISIT_MINUTES_MAX, VISIT_MINUTES_MIN

Cadence = Literal["weekly", "fortnightly"]
CADENCE_NAMES: dict[str, str] = {"weekly": N_("Every week"), "fortnightly": N_("Every other week")}
WEEKDAY_NAMES: tuple[str, ...] = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)
VisitMinutes = Annotated[int, Meta(ge=VISIT_MINUTES_MIN, le=VISIT_MINUTES_MAX)]
Weekday = Annotated[int, Meta(ge=0, le=6)]  # 0 is Monday, as date.weekday() counts


class PairIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Introduce a suggested pair."""

    older_id: uuid.UUID
    younger_id: uuid.UUID


class ArrangementIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A pair's regular visits. The younger member gives the time unless `provider_id`
    names the older; `active: false` ends the arrangement (recorded visits stay)."""

    minutes: VisitMinutes
    cadence: Cadence
    weekday: Weekday
    starts_on: date
    provider_id: uuid.UUID | None = None
    in_home: bool = True
    active: bool = True


class VisitIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    visit_on: date


class ArrangementOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    minutes: int
    cadence: Cadence
    weekday: int
    starts_on: date
    provider_id: uuid.UUID
    recipient_id: uuid.UUID
    in_home: bool
    status: Literal["active", "ended"]


class VisitOut(msgspec.Struct, kw_only=True):
    """A visit date on the arrangement's cadence: recorded (an exchange) or still due."""

    visit_on: date
    exchange_id: uuid.UUID | None


class PairOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    community_id: uuid.UUID
    older_id: uuid.UUID
    older_name: str
    younger_id: uuid.UUID
    younger_name: str
    introduced_at: datetime
    status: Literal["active", "ended"]
    # Active, but one of the two is not an active member now: visits wait (409 pair_on_hold).
    on_hold: bool = False
    arrangement: ArrangementOut | None
    # The most recent visit dates up to today, newest first.
    visits: list[VisitOut]


class PairsOut(msgspec.Struct, kw_only=True):
    items: list[PairOut]


class VisitRecordedOut(msgspec.Struct, kw_only=True):
    pair_id: uuid.UUID
    visit_on: date
    exchange_id: uuid.UUID
    minutes: int
    provider_id: uuid.UUID
    recipient_id: uuid.UUID
