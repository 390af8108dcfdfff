"""The demo's disputes: one waiting in the admin queue, one decided (adjusted).

Like the market demo, each step looks before it writes, so a second run of
`timebank demo` changes nothing. Disputes are opened and decided through the
service functions, so the ledger's corrections are real reversing transfers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from piccolo.engine.base import Engine

from ledger import Ledger
from service.disputes import resolution as disputes_resolution
from service.disputes import services
from service.disputes.schemas import ResolveIn
from service.disputes.tables import Dispute
from service.exchanges.tables import Exchange
from service.i18n import N_, _
from service.principal import Principal

ADMIN_EMAIL = "admin@demo.example"


@dataclass(frozen=True, slots=True)
class DemoDispute:
    description: str  # of the demo exchange disputed (unique among the demo's exchanges)
    opened_by: str
    reason: str
    answered_by: str
    answer: str
    adjusted_minutes: int | None = None  # decided by the admin when set; else left open
    note: str = ""


DEMO_DISPUTES = (
    DemoDispute(
        N_("Tidying the back garden"),
        "george@demo.example",
        N_("Oliver was here for about an hour, not the two hours recorded."),
        "oliver@demo.example",
        N_("The two hours include taking the cuttings to the tip, as we agreed."),
    ),
    DemoDispute(
        N_("Putting a wardrobe together"),
        "kwame@demo.example",
        N_(
            "Half of the time went on a second trip for a missing part, which we agreed "
            "I would not be charged for."
        ),
        "oliver@demo.example",
        N_("That's fair: the second trip was my mistake."),
        adjusted_minutes=30,
        note=N_("Both agree the second trip should not count: 30 minutes go back to Kwame."),
    ),
)


async def _exchange_id(description: str) -> Any:
    row = (
        await Exchange.select(Exchange.id)
        .where((Exchange.description == description) & (Exchange.status == "completed"))
        .first()
        .run()
    )
    return None if row is None else row["id"]


async def load_dispute_demo(
    *, engine: Engine[Any], ledger: Ledger, people: Mapping[str, Principal]
) -> list[str]:
    """Open (and where planned, decide) the demo disputes; returns what changed."""
    changes: list[str] = []
    for plan in DEMO_DISPUTES:
        exchange_id = await _exchange_id(_(plan.description))
        if (
            exchange_id is None
            or await Dispute.exists().where(Dispute.exchange == exchange_id).run()
        ):
            continue
        dispute_id = await services.dispute_open(
            engine=engine,
            actor=people[plan.opened_by],
            exchange_id=exchange_id,
            reason=_(plan.reason),
        )
        await services.dispute_add_statement(
            engine=engine,
            actor=people[plan.answered_by],
            dispute_id=dispute_id,
            body=_(plan.answer),
        )
        changes.append(f"dispute about {plan.description!r}")
        if plan.adjusted_minutes is not None:
            await disputes_resolution.dispute_resolve(
                engine=engine,
                ledger=ledger,
                actor=people[ADMIN_EMAIL],
                dispute_id=dispute_id,
                data=ResolveIn(
                    outcome="adjusted", minutes=plan.adjusted_minutes, note=_(plan.note)
                ),
            )
            changes.append(f"dispute about {plan.description!r} decided")
    return changes


__all__ = ["DEMO_DISPUTES", "load_dispute_demo"]
