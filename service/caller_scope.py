"""Where a request keeps the caller once it is known, and the one thing the error
mapping may ask of it (whose hours account the caller holds).

Apart from service/principal.py so that service/problems.py, which principal.py
uses for its refusals, can read the caller without an import circle.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

PRINCIPAL_SCOPE_KEY = "timebank.principal"


def remembered_account_id(scope: Mapping[str, Any]) -> uuid.UUID | None:
    """The remembered caller's own hours account, if a caller was resolved."""
    caller = scope.get("state", {}).get(PRINCIPAL_SCOPE_KEY)
    account_id = getattr(caller, "hour_account_id", None)
    return account_id if isinstance(account_id, uuid.UUID) else None
