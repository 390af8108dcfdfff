"""Choosing a member (or anything from a long list) without a drop-down: a server-side,
paged search that works without JavaScript.

A picker lives in the page's address: `<name>` holds the chosen value, `<name>_q`
the search text and `<name>_cursor` the page of matches. Its search is a plain GET
form; each match is a link back to the same page with `<name>` set, so choosing is
one keyboard press on a link a screen reader reads as "Choose Doreen Walsh, Mill
Lane". The page's POST form then carries the choice in a hidden field. Every
picker on a page keeps the others' state in its links and hidden fields, so a form
with two pickers (who helped, who was helped) fills in one step at a time.

Features give a `PickSource` (what may be chosen, for whom); the kit imports none.
Templates render pickers with the macros in `_pickers.html`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlencode

from service.web.kit import Form

PICKER_PAGE_SIZE = 10  # matches shown at a time
PICKER_QUERY_CHARS_MAX = 100
PICKER_VALUE_CHARS_MAX = 200  # a chosen id or a cursor, as carried in the address


@dataclass(frozen=True, slots=True)
class Pick:
    value: str
    label: str
    hint: str = ""  # told apart from another of the same name (a ward)


class PickSource(Protocol):
    """What a picker may offer: one page of matches, and one chosen value checked again."""

    async def matches(
        self, query: str, cursor: str | None, limit: int
    ) -> tuple[list[Pick], str | None]: ...

    async def chosen(self, value: str) -> Pick | None: ...


@dataclass(frozen=True, slots=True)
class PickerSpec:
    name: str  # the form field that receives the chosen value
    label: str  # "Who helped"
    source: PickSource


@dataclass
class Picker:
    name: str
    label: str
    action: str
    query: str
    chosen: Pick | None
    choices: list[tuple[Pick, str]] = field(default_factory=list)  # (match, its link)
    next_url: str | None = None
    first_url: str | None = None
    change_url: str = ""
    carry: list[tuple[str, str]] = field(default_factory=list)  # hidden fields of the search

    @property
    def query_name(self) -> str:
        return f"{self.name}_q"

    @property
    def searched(self) -> bool:
        return bool(self.query)


def _state_keys(name: str) -> tuple[str, str, str]:
    return name, f"{name}_q", f"{name}_cursor"


def picker_state(specs: Sequence[PickerSpec], query: Mapping[str, str]) -> dict[str, str]:
    """Every picker's part of the address, bounded; the rest of the query is not kept."""
    state: dict[str, str] = {}
    for spec in specs:
        chosen, text, cursor = _state_keys(spec.name)
        for key, limit in ((chosen, PICKER_VALUE_CHARS_MAX), (cursor, PICKER_VALUE_CHARS_MAX)):
            value = str(query.get(key, "")).strip()
            if value and len(value) <= limit:
                state[key] = value
        text_value = str(query.get(text, "")).strip()[:PICKER_QUERY_CHARS_MAX]
        if text_value:
            state[text] = text_value
    return state


def _url(action: str, state: Mapping[str, str], **changes: str | None) -> str:
    merged = {**state, **changes}
    kept = {key: value for key, value in merged.items() if value}
    return action + (f"?{urlencode(kept)}" if kept else "")


async def pickers_for(
    action: str,
    specs: Sequence[PickerSpec],
    query: Mapping[str, str],
    *,
    chosen_values: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, Picker]:
    """The page's pickers from its address. `chosen_values` (a form shown again after a
    refusal) win over the address; `extra` is address state the page keeps besides."""
    state = {**(extra or {}), **picker_state(specs, query)}
    state.update({name: value for name, value in (chosen_values or {}).items() if value})
    return {spec.name: await _picker(action, spec, state) for spec in specs}


async def form_pickers(
    action: str, specs: Sequence[PickerSpec], query: Mapping[str, str] | None, form: Form
) -> dict[str, Picker]:
    """`pickers_for` on a form's page: a form shown again keeps the members it had chosen."""
    chosen = {spec.name: form.values.get(spec.name, "") for spec in specs}
    return await pickers_for(action, specs, query or {}, chosen_values=chosen)


async def _picker(action: str, spec: PickerSpec, state: dict[str, str]) -> Picker:
    chosen_key, text_key, cursor_key = _state_keys(spec.name)
    chosen = await spec.source.chosen(state[chosen_key]) if chosen_key in state else None
    others = {key: value for key, value in state.items() if key not in (text_key, cursor_key)}
    picker = Picker(
        name=spec.name,
        label=spec.label,
        action=action,
        query=state.get(text_key, ""),
        chosen=chosen,
        change_url=_url(action, state, **{chosen_key: None}),
        carry=sorted((key, value) for key, value in others.items() if key != chosen_key),
    )
    if chosen is not None:
        return picker
    cursor = state.get(cursor_key)
    matches, next_cursor = await spec.source.matches(picker.query, cursor, PICKER_PAGE_SIZE)
    picker.choices = [
        (match, _url(action, state, **{chosen_key: match.value, cursor_key: None}))
        for match in matches
    ]
    if next_cursor:
        picker.next_url = _url(action, state, **{cursor_key: next_cursor})
    if cursor:
        picker.first_url = _url(action, state, **{cursor_key: None})
    return picker
