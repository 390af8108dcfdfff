"""Every audit action the service writes has a name in words on the admin pages
(docs/words.md: no internal words on pages), so a new action cannot reach the
audit log page as a raw code such as `acting.request`."""

from __future__ import annotations

import re
from pathlib import Path

from service.admin.audit_view import ACTION_NAMES, action_name

SERVICE = Path(__file__).resolve().parents[2] / "service"
# An audit action is a dotted lower-case code: `member.suspend`, `acting.request.started`.
# Found on any line that speaks of an action (`action=`, `*_ACTION = `, `_audit_mode`).
_ACTION = re.compile(r'"([a-z_]+(?:\.[a-z_]+)+)"')
_ACTION_LINE = re.compile(r"\baction\b|_ACTION\b|_audit_mode")
_ROLE_ACTION = re.compile(r'f"role\.\{')


def _actions_written() -> set[str]:
    found: set[str] = set()
    for path in SERVICE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for line in text.splitlines():
            if _ACTION_LINE.search(line):
                found.update(_ACTION.findall(line))
        if _ROLE_ACTION.search(text):
            found.update({"role.grant", "role.revoke"})
    return found


def test_the_scan_finds_the_actions_it_should() -> None:
    written = _actions_written()
    assert {"member.suspend", "acting.request", "acting.request.started", "acting.stop"} <= written


def test_every_action_written_has_a_name_in_words() -> None:
    missing = sorted(action for action in _actions_written() if action not in ACTION_NAMES)
    assert missing == []


def test_an_unknown_action_still_shows_something() -> None:
    assert action_name("member.suspend") == "Suspended a member"
    assert action_name("some.future") == "some.future"
