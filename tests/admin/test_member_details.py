"""Issue 22: an admin corrects a member's details and keeps private notes (ADR 0033), on
both engines. Audited; contact details and note texts never in the audit log; notes
never reach the member (not in their export) and are erased when they close.
"""

from __future__ import annotations

from datetime import UTC, datetime

from service.formatting import balance_words, history_note_words, moment_words, room_words
from service.members.tables import AdminNote
from tests.admin.support import audit
from tests.support.people import Town


async def test_an_admin_changes_a_members_details_audited_without_contact_values(
    town: Town,
) -> None:
    path = f"/api/v1/admin/members/{town.alice.id}"
    changed = await town.client.patch(
        path,
        headers=town.admin.headers,
        json={
            "display_name": "Alice Smith",
            "phone": "01632 960 123",
            "ward": "Northside",
            "reason": "She asked by phone",
        },
    )
    assert changed.status_code == 200, changed.text
    me = (await town.client.get("/api/v1/me", headers=town.alice.headers)).json()
    assert (me["display_name"], me["ward"]) == ("Alice Smith", "Northside")
    [entry] = await audit(town, action="member.details")
    assert entry["reason"] == "She asked by phone"
    assert entry["before"]["ward"] == ""
    assert entry["after"]["display_name"] == "Alice Smith"
    assert entry["after"]["phone"] == "changed"
    assert "01632" not in str(entry)

    # Another member's email is refused, nothing written; a member cannot do it at all.
    taken = await town.client.patch(
        path, headers=town.admin.headers, json={"email": town.bob.email.upper()}
    )
    assert taken.status_code == 409, taken.text
    assert taken.json()["code"] == "email_taken"
    bad = await town.client.patch(path, headers=town.admin.headers, json={"phone": "call me"})
    assert bad.status_code == 400, bad.text
    refused = await town.client.patch(path, headers=town.bob.headers, json={"ward": "X"})
    assert refused.status_code == 403
    assert len(await audit(town, action="member.details")) == 1


async def test_notes_stay_with_admins_and_go_when_the_account_closes(town: Town) -> None:
    path = f"/api/v1/admin/members/{town.bob.id}/notes"
    added = await town.client.post(
        path, headers=town.admin.headers, json={"body": "Prefers a phone call after 10 am."}
    )
    assert added.status_code == 201, added.text
    [note] = added.json()["items"]
    assert note["body"] == "Prefers a phone call after 10 am."
    [entry] = await audit(town, action="member.note")
    assert "phone call" not in str(entry)
    for who in (town.bob, town.coordinator):
        assert (await town.client.get(path, headers=who.headers)).status_code == 403
    export = await town.client.get("/api/v1/me/export", headers=town.bob.headers)
    assert export.status_code == 200
    assert "phone call" not in export.text
    empty = await town.client.post(path, headers=town.admin.headers, json={"body": ""})
    assert empty.status_code == 400

    closed = await town.client.delete("/api/v1/me", headers=town.bob.headers)
    assert closed.status_code == 204
    assert await AdminNote.count().where(AdminNote.member == town.bob.id).run() == 0
    late = await town.client.post(path, headers=town.admin.headers, json={"body": "Too late"})
    assert late.status_code == 409


def test_balances_with_their_room_and_history_notes_in_words() -> None:
    assert balance_words(120, -600) == "You have 2 hours. You can go down to minus 10 hours."
    assert balance_words(-90, -600) == (
        "Your balance is minus 1 hour 30 minutes. You can go down to minus 10 hours."
    )
    assert room_words(0) == "You cannot go below 0 hours."
    assert room_words(-60, subject="They") == "They can go down to minus 1 hour."
    assert history_note_words("hours held until 2026-12-22T00:00+00:00") == (
        "the hours are on hold until Tuesday 22 December 2026"
    )
    assert history_note_words("service date 2026-12-01") == (
        "the help happened on Tuesday 1 December 2026"
    )
    assert history_note_words("member suspended") == "member suspended"
    assert moment_words(datetime(2026, 12, 4, 14, 30, tzinfo=UTC)) == (
        "Friday 4 December 2026 at 2:30 pm"
    )
