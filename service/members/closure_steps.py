"""Extension point: what features above members must do when a member closes their account.

Members sit below exchanges in the feature stack (exchanges name their parties),
so the closure cannot import them. The app plugs the exchanges feature's step in
at start-up (service/app.py); each step runs inside the closure's write
transaction, before the balance is settled, so a refusal undoes the closure.
"""

from __future__ import annotations

from typing import Any, Protocol

from piccolo.engine.base import Engine

from ledger import Ledger
from service.principal import Principal


class ClosureStep(Protocol):
    async def __call__(
        self, *, engine: Engine[Any], ledger: Ledger, principal: Principal
    ) -> None: ...


_steps: list[ClosureStep] = []


def plug_closure_step(step: ClosureStep) -> None:
    """Add a step (plugging the same one twice, as every new app does, keeps one)."""
    if step not in _steps:
        _steps.append(step)


async def run_closure_steps(*, engine: Engine[Any], ledger: Ledger, principal: Principal) -> None:
    for step in _steps:
        await step(engine=engine, ledger=ledger, principal=principal)
