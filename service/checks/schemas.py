"""Request and response shapes of safeguarding checks (msgspec: validation is declared)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

import msgspec

from service.i18n import N_

CheckKind = Literal["dbs", "reference", "induction"]
CHECK_KINDS: tuple[CheckKind, ...] = ("dbs", "reference", "induction")
CHECK_KIND_NAMES: dict[str, str] = {
    "dbs": N_("DBS check"),
    "reference": N_("Reference"),
    "induction": N_("Induction"),
}


class CheckIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kind: CheckKind
    checked_on: date
    expires_on: date | None = None


class CheckOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    member_id: uuid.UUID
    kind: CheckKind
    checked_on: date
    expires_on: date | None
    # Valid today: checked on or before today and not yet expired.
    valid: bool
    recorded_at: datetime
