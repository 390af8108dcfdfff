"""One way in for the three steps a party takes on an exchange (accept, complete,
cancel), so the JSON API and the pages call the same function with the step's name.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from piccolo.engine.base import Engine

from ledger import Ledger
from service.exchanges.services import (
    AfterStep,
    exchange_accept,
    exchange_cancel,
    exchange_complete,
)
from service.principal import Principal

ExchangeStep = Literal["accept", "complete", "cancel"]


async def exchange_step_take(
    *,
    step: ExchangeStep,
    engine: Engine[Any],
    ledger: Ledger,
    actor: Principal,
    exchange_id: uuid.UUID,
    hold_seconds: int,
    after: AfterStep | None = None,
) -> None:
    """Take `step`; `hold_seconds` (the EXCHANGE_HOLD_DAYS setting) matters to accept only.

    `after` runs last in the step's write transaction, when the step is taken.
    """
    if step == "accept":
        await exchange_accept(
            engine=engine,
            ledger=ledger,
            actor=actor,
            exchange_id=exchange_id,
            hold_seconds=hold_seconds,
            after=after,
        )
    elif step == "complete":
        await exchange_complete(
            engine=engine, ledger=ledger, actor=actor, exchange_id=exchange_id, after=after
        )
    else:
        await exchange_cancel(
            engine=engine, ledger=ledger, actor=actor, exchange_id=exchange_id, after=after
        )
