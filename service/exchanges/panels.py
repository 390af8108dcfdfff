"""Extension points: what the exchange pages show about disputes.

Disputes sit above exchanges in the feature stack (they correct exchanges), so the
exchange page cannot import them. The app plugs the disputes feature's answer in
at start-up (service/app.py); without it the page shows no dispute panel.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from service.exchanges.selectors import ExchangeView
from service.principal import Principal


@dataclass(frozen=True, slots=True)
class DisputePanel:
    dispute: Any | None  # the dispute row the viewer may see, if one was opened
    can_open: bool  # the viewer is a party and the window is still open
    closes_at: datetime | None  # when the window to open one closes


class DisputePanelSource(Protocol):
    async def __call__(self, *, actor: Principal, view: ExchangeView) -> DisputePanel: ...


_sources: list[DisputePanelSource] = []


def plug_dispute_panel(source: DisputePanelSource) -> None:
    _sources[:] = [source]


async def dispute_panel(*, actor: Principal, view: ExchangeView) -> DisputePanel:
    if not _sources:
        return DisputePanel(dispute=None, can_open=False, closes_at=None)
    return await _sources[0](actor=actor, view=view)


class DisputeStatusSource(Protocol):
    async def __call__(self, *, exchange_ids: Sequence[uuid.UUID]) -> Mapping[uuid.UUID, str]: ...


_status_sources: list[DisputeStatusSource] = []


def plug_dispute_statuses(source: DisputeStatusSource) -> None:
    _status_sources[:] = [source]


async def dispute_statuses(*, exchange_ids: Sequence[uuid.UUID]) -> Mapping[uuid.UUID, str]:
    """The status of the dispute about each exchange that has one ("open", "resolved")."""
    if not _status_sources or not exchange_ids:
        return {}
    return await _status_sources[0](exchange_ids=exchange_ids)


@dataclass(frozen=True, slots=True)
class ThanksPanel:
    """Thanks on a completed exchange (issue 18): the neighbours feature sits above."""

    can_thank: bool  # the viewer took part and has not thanked yet
    given_text: str | None  # the note the viewer wrote, if any


class ThanksPanelSource(Protocol):
    async def __call__(self, *, actor: Principal, view: ExchangeView) -> ThanksPanel: ...


_thanks_sources: list[ThanksPanelSource] = []


def plug_thanks_panel(source: ThanksPanelSource) -> None:
    _thanks_sources[:] = [source]


async def thanks_panel(*, actor: Principal, view: ExchangeView) -> ThanksPanel:
    if not _thanks_sources:
        return ThanksPanel(can_thank=False, given_text=None)
    return await _thanks_sources[0](actor=actor, view=view)
