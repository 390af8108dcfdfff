"""Flows: what one movement of hours is, and the keys it is counted under.

A flow (one provider, one recipient, minutes) is recorded once in `reports_flow`
with the dimensions it is counted under, frozen at the time of the help; these
definitions turn a flow into the fine cells and member months it adds to. They
are pure (no database), shared by the write path (`services.py`), the check that
recomputes everything (`verify.py`) and the bulk loader of the benchmarks.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from ledger.sql import as_uuid
from service.limits import IMPACT_OLDER_AGE_FROM, IMPACT_YOUNGER_AGE_BELOW

# Pseudonyms and flow ids are UUIDv5 in this namespace.
REPORTS_NAMESPACE: Final = uuid.UUID("3c0f5b7e-2a41-5d8e-b1f4-6e2c9a7d0b35")

UNKNOWN: Final = "unknown"  # a category, ward or age band nobody told us
# Age bands at the time of the help, youngest first (years: lower bound, upper bound).
AGE_BANDS: Final = (
    ("under_25", 0, 24),
    ("25_49", 25, 49),
    ("50_64", 50, 64),
    ("65_79", 65, 79),
    ("80_plus", 80, 200),
)
AGE_BAND_KEYS: Final = (*(band for band, _, _ in AGE_BANDS), UNKNOWN)

# Dimensions of the fine cells; "community" figures are read from "month" rows.
DIMENSION_MONTH: Final = "month"
DIMENSION_CATEGORY: Final = "category"
DIMENSION_WARD: Final = "ward"
DIMENSION_AGE_BAND: Final = "age_band"
DIMENSION_POOL: Final = "pool"
# The impact report's cells (ADR 0051): key_a one-to-one or group, key_b across generations or not.
DIMENSION_IMPACT: Final = "impact"
IMPACT_ONE_TO_ONE: Final = "one"
IMPACT_GROUP: Final = "group"
IMPACT_INTERGENERATIONAL: Final = "inter"
IMPACT_SAME_GENERATION: Final = "other"

SIDE_PROVIDER: Final = "p"  # the row sits under the provider's community
SIDE_RECIPIENT: Final = "r"  # the row sits under the recipient's (other) community

FlowKind = Literal["exchange", "donation", "grant"]
PoolKind = Literal["donation", "grant"]

CELL_COLUMNS: Final = (
    "dimension, community, month, side, other_community, key_a, key_b"  # the primary key
)


class FlowError(ValueError):
    """A call that cannot be applied: unknown flow, or a net below zero (a caller's bug)."""


# Keys -----------------------------------------------------------------------------


def member_key(member_id: uuid.UUID) -> uuid.UUID:
    """The pseudonym rollups count a member by: distinct per member, not an id anywhere else."""
    return uuid.uuid5(REPORTS_NAMESPACE, f"member:{member_id}")


def exchange_flow_id(exchange_id: uuid.UUID, recipient_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(REPORTS_NAMESPACE, f"exchange:{exchange_id}:{recipient_id}")


def month_of(at: datetime) -> int:
    """The whole month (UTC) an instant falls in, as yyyymm: 2026-03-31T23:00Z -> 202603."""
    if at.tzinfo is None:
        raise ValueError("reports need timezone-aware datetimes")
    utc = at.astimezone(UTC)
    return utc.year * 100 + utc.month


def age_band(birth_year: int | None, year: int) -> str:
    """The band of someone's age in `year` (birthdays are not known: year minus birth year)."""
    if birth_year is None:
        return UNKNOWN
    age_years = year - birth_year
    for band, lowest, highest in AGE_BANDS:
        if lowest <= age_years <= highest:
            return band
    return UNKNOWN  # a birth year after the help: not a real age


def intergenerational(provider_born: int | None, recipient_born: int | None, year: int) -> bool:
    """Help between someone under IMPACT_YOUNGER_AGE_BELOW and someone IMPACT_OLDER_AGE_FROM
    or over, either way round, ages being `year` minus the birth year (as age bands are)."""
    if provider_born is None or recipient_born is None:
        return False
    provider_age, recipient_age = year - provider_born, year - recipient_born
    younger = IMPACT_YOUNGER_AGE_BELOW
    older = IMPACT_OLDER_AGE_FROM
    return (provider_age < younger and recipient_age >= older) or (
        provider_age >= older and recipient_age < younger
    )


def ward_key(ward: str | None) -> str:
    cleaned = " ".join((ward or "").split())
    return cleaned[:80] if cleaned else UNKNOWN


# Flows ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flow:
    """One provider-to-recipient movement of hours, with the keys it is counted under."""

    id: uuid.UUID
    kind: FlowKind
    month: int
    provider_community: uuid.UUID
    recipient_community: uuid.UUID
    category: str = ""
    ward: str = ""
    provider_band: str = ""
    recipient_band: str = ""
    provider_key: uuid.UUID | None = None  # None: the pool gave (a grant)
    recipient_key: uuid.UUID | None = None  # None: the pool received (a donation)
    one_to_one: bool = False  # an exchange with this one recipient (not a group's)
    intergenerational: bool = False  # see intergenerational(): ages at the time of the help


@dataclass(frozen=True, slots=True)
class FlowDelta:
    """A change to the rollups: minutes (signed) and exchanges (-1, 0 or +1) of one flow."""

    flow: Flow
    minutes: int
    exchanges: int


CellKey = tuple[str, uuid.UUID, int, str, uuid.UUID, str, str]


def _attributions(flow: Flow) -> list[tuple[uuid.UUID, str, uuid.UUID]]:
    """(community, side, other community) rows a flow is written under."""
    provider, recipient = flow.provider_community, flow.recipient_community
    if provider == recipient:
        return [(provider, SIDE_PROVIDER, provider)]
    return [(provider, SIDE_PROVIDER, recipient), (recipient, SIDE_RECIPIENT, provider)]


def _dimension_keys(flow: Flow) -> list[tuple[str, str, str]]:
    if flow.kind != "exchange":
        return [(DIMENSION_POOL, flow.kind, "")]
    return [
        (DIMENSION_MONTH, "", ""),
        (DIMENSION_CATEGORY, flow.category, ""),
        (DIMENSION_WARD, flow.ward, ""),
        (DIMENSION_AGE_BAND, flow.provider_band, flow.recipient_band),
        (
            DIMENSION_IMPACT,
            IMPACT_ONE_TO_ONE if flow.one_to_one else IMPACT_GROUP,
            IMPACT_INTERGENERATIONAL if flow.intergenerational else IMPACT_SAME_GENERATION,
        ),
    ]


def cell_keys(flow: Flow) -> Iterator[CellKey]:
    for community, side, other in _attributions(flow):
        for dimension, key_a, key_b in _dimension_keys(flow):
            yield (dimension, community, flow.month, side, other, key_a, key_b)


def member_roles(flow: Flow) -> list[tuple[uuid.UUID, int, int]]:
    """(pseudonym, gave, received) per person in the flow (the pool is nobody)."""
    roles = []
    if flow.provider_key is not None:
        roles.append((flow.provider_key, 1, 0))
    if flow.recipient_key is not None:
        roles.append((flow.recipient_key, 0, 1))
    return roles


MemberMonth = tuple[uuid.UUID, uuid.UUID, int]  # (home community, pseudonym, yyyymm)


def member_month_deltas(deltas: Iterable[FlowDelta]) -> dict[MemberMonth, list[int]]:
    """Live flows each member gave and received, per home community and month.

    Only exchanges count (a pool donation is not an exchange); a member's home
    is the community the flow records for their side.
    """
    found: dict[MemberMonth, list[int]] = defaultdict(lambda: [0, 0])
    for delta in deltas:
        flow = delta.flow
        if not delta.exchanges or flow.kind != "exchange":
            continue
        if flow.provider_key is not None:
            found[(flow.provider_community, flow.provider_key, flow.month)][0] += delta.exchanges
        if flow.recipient_key is not None:
            found[(flow.recipient_community, flow.recipient_key, flow.month)][1] += delta.exchanges
    return found


FLOW_COLUMNS = (
    "id, kind, month, provider_community, recipient_community, category, ward, "
    "provider_band, recipient_band, provider_key, recipient_key, one_to_one, intergenerational"
)
FLOW_COLUMN_COUNT: Final = len(FLOW_COLUMNS.split(","))


def flow_values(flow: Flow) -> tuple[Any, ...]:
    """A flow's values in FLOW_COLUMNS order (flags as 0 or 1, the same on both engines)."""
    return (
        flow.id,
        flow.kind,
        flow.month,
        flow.provider_community,
        flow.recipient_community,
        flow.category,
        flow.ward,
        flow.provider_band,
        flow.recipient_band,
        flow.provider_key,
        flow.recipient_key,
        int(flow.one_to_one),
        int(flow.intergenerational),
    )


def flow_from_row(row: Any) -> Flow:
    def optional(value: Any) -> uuid.UUID | None:
        return None if value is None else as_uuid(value)

    return Flow(
        id=as_uuid(row["id"]),
        kind=row["kind"],
        month=int(row["month"]),
        provider_community=as_uuid(row["provider_community"]),
        recipient_community=as_uuid(row["recipient_community"]),
        category=row["category"],
        ward=row["ward"],
        provider_band=row["provider_band"],
        recipient_band=row["recipient_band"],
        provider_key=optional(row["provider_key"]),
        recipient_key=optional(row["recipient_key"]),
        one_to_one=bool(row["one_to_one"]),
        intergenerational=bool(row["intergenerational"]),
    )
