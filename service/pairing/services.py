"""Introducing a suggested pair: each gets a message from the coordinator, audited.

The introduction is two conversations, coordinator and older member, coordinator
and younger member, so each can reply to the coordinator privately before they
meet; neither learns the other's contact details from it.
"""

from __future__ import annotations

import uuid
from typing import Any

from piccolo.engine.base import Engine

from ledger import WriteTransaction, run_write
from service.blocks.selectors import refuse_if_blocked
from service.errors import Conflict
from service.members.audit import audit_record
from service.messages.services import conversation_start
from service.pairing.selectors import INTRODUCE_ACTION, introduced_pairs, suggested_pairs
from service.principal import Principal, not_found


async def pair_introduce(
    *, engine: Engine[Any], actor: Principal, older_id: uuid.UUID, younger_id: uuid.UUID
) -> None:
    """Introduce a pair the actor may see among their suggestions (else 404)."""
    pairs = {(p.older.member_id, p.younger.member_id): p for p in await suggested_pairs(actor)}
    if (older_id, younger_id) in await introduced_pairs():
        raise Conflict(code="already_introduced", detail="These two have been introduced already.")
    pair = pairs.get((older_id, younger_id))
    if pair is None:
        raise not_found("That pair")
    await refuse_if_blocked(older_id, [younger_id])
    older, younger = pair.older, pair.younger
    for member, other in ((older, younger), (younger, older)):
        await conversation_start(
            engine=engine,
            actor=actor,
            member_id=member.member_id,
            body=(
                f"Hello {member.display_name}, I would like to introduce you to "
                f"{other.display_name}, who {'offered' if other is younger else 'asked for'} "
                f'company: "{other.listing_title}". '
                + (f"You both live in {member.ward}. " if pair.same_ward else "")
                + "If you would like to meet, reply here and I will arrange a first visit."
            ),
        )

    async def work(_transaction: WriteTransaction) -> None:
        await audit_record(
            actor_id=actor.member_id,
            actor_label=actor.label,
            action=INTRODUCE_ACTION,
            target_type="member",
            target_id=str(older_id),
            community_id=older.community_id,
            after={"older_id": str(older_id), "younger_id": str(younger_id)},
        )

    await run_write(engine, work)
