"""A member closing their account calls off every exchange they take part in.

Plugged into the members' closure (service/members/closure_steps.py) by the app:
it runs inside the closure's write transaction, so the exchanges are cancelled,
their holds voided and their history written together with the closure, or not
at all. The others see the exchange cancelled, with the note CLOSURE_NOTE, and a
later complete is refused as a state (`exchange_state`, `cancelled`). The other
parties are told by mail and in-app notice, without the leaving member's name.
"""

from __future__ import annotations

from typing import Any

from piccolo.engine.base import Engine

from ledger import Ledger
from service.exchanges.expiry import exchange_cancel_for_suspension, open_exchange_ids_of
from service.exchanges.steps import CLOSURE_NOTE
from service.principal import Principal


async def exchanges_call_off_for_closure(
    *, engine: Engine[Any], ledger: Ledger, principal: Principal
) -> None:
    """Cancel the member's proposed and accepted exchanges (group ones whole), voiding holds."""
    for exchange_id in await open_exchange_ids_of(principal.member_id):
        await exchange_cancel_for_suspension(
            engine=engine,
            ledger=ledger,
            actor=principal,
            exchange_id=exchange_id,
            note=CLOSURE_NOTE,
            ledger_actor=f"member:{principal.member_id}",
            mail_event="cancelled_closure",
        )
