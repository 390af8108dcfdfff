"""The admin console's pages through HTTP, on both engines: who may open them, member
search, suspension and reinstatement, credit limits, the audit log and ledger health.
"""

from __future__ import annotations

import re

import httpx

from ledger import Ledger
from service import clock
from service.members.accounts import member_account_id
from tests.admin.support import (
    REASON,
    admin_member,
    audit,
    page_session,
    propose,
    step,
)
from tests.support.pages import csrf_token, post_form
from tests.support.people import PASSWORD, Town

PAGES = ("/admin", "/admin/members", "/admin/audit", "/admin/ledger", "/admin/ledger/verify")


async def sign_in_as_admin(town: Town) -> None:
    await page_session(town.client, "admin@example.org", PASSWORD)


async def page(town: Town, path: str) -> httpx.Response:
    return await town.client.get(path, follow_redirects=False)


def text_of(html: str) -> str:
    """The page's words, without tags and with spaces squeezed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


async def test_signed_out_visitors_are_sent_to_sign_in(town: Town) -> None:
    for path in (*PAGES, f"/admin/members/{town.bob.id}"):
        response = await page(town, path)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/sign-in?next=" + path.replace("/", "%2F")


async def test_members_coordinators_and_council_viewers_get_the_403_page(town: Town) -> None:
    for who in (town.alice, town.coordinator, town.council):
        await page_session(town.client, who.email, PASSWORD)
        for path in (*PAGES, f"/admin/members/{town.bob.id}"):
            response = await page(town, path)
            assert response.status_code == 403, (who.email, path)
            assert response.headers["content-type"].startswith("text/html")
            assert "You cannot open this page" in response.text
        for action, fields in (
            ("status", {"action": "suspend", "reason": REASON}),
            ("limits", {"owe_hours": "1", "owe_minutes": "0", "reason": REASON}),
        ):
            posted = await post_form(town.client, f"/admin/members/{town.bob.id}/{action}", fields)
            assert posted.status_code == 403, (who.email, action)
    bob = await admin_member(town, town.bob)
    assert bob["status"] == "active"
    assert bob["account"]["floor_minutes"] == -600


async def test_the_console_links_every_admin_page_and_the_nav_shows_admin(town: Town) -> None:
    await sign_in_as_admin(town)
    response = await page(town, "/admin")
    assert response.status_code == 200
    for href in ("/admin/disputes", "/admin/members", "/admin/audit", "/admin/ledger"):
        assert f'href="{href}"' in response.text
    assert '<a href="/admin" aria-current="page">Admin</a>' in response.text
    await page_session(town.client, town.alice.email, PASSWORD)
    dashboard = await page(town, "/dashboard")
    assert 'href="/admin"' not in dashboard.text


async def test_admins_search_members_by_name_or_email(town: Town) -> None:
    await sign_in_as_admin(town)
    found = await page(town, "/admin/members?q=bob")
    assert found.status_code == 200
    assert f'href="/admin/members/{town.bob.id}"' in found.text
    assert "alice@example.org" not in found.text
    assert "Active" in text_of(found.text)
    pending = await page(town, "/admin/members?status=pending")
    assert "pat@example.org" in pending.text
    assert "Waiting for approval" in text_of(pending.text)
    assert "bob@example.org" not in pending.text
    nobody = await page(town, "/admin/members?q=zebedee")
    assert "No member matches that search." in nobody.text
    bad = await page(town, "/admin/members?status=banned")
    assert bad.status_code == 422
    assert "Choose a status from the list" in bad.text


async def test_the_member_page_shows_the_account_in_words(town: Town) -> None:
    exchange = await propose(town, town.bob, town.alice, town.bob, 90)
    await step(town, town.alice, exchange, "accept")
    await sign_in_as_admin(town)
    response = await page(town, f"/admin/members/{town.bob.id}")
    assert response.status_code == 200
    words = text_of(response.text)
    assert "Balance 2 hours" in words
    assert "On hold for agreed exchanges 1 hour 30 minutes" in words
    assert "Available to spend 30 minutes" in words
    assert "Lowest balance allowed (floor) May owe up to 10 hours" in words
    assert "Highest balance allowed (ceiling) No highest balance" in words
    assert "Below floor by" not in words
    assert f'href="/exchanges/{exchange["id"]}"' in response.text
    assert "Agreed, waiting for confirmation" in words
    assert "Suspend Bob" in words


async def test_suspend_and_reinstate_through_the_page(town: Town, reader: Ledger) -> None:
    exchange = await propose(town, town.bob, town.alice, town.bob, 45)
    await step(town, town.alice, exchange, "accept")
    await sign_in_as_admin(town)
    path = f"/admin/members/{town.bob.id}"

    missing_reason = await post_form(town.client, f"{path}/status", {"action": "suspend"})
    assert missing_reason.status_code == 422
    assert "Enter the reason" in missing_reason.text
    assert "Tick the box to confirm the suspension" in missing_reason.text  # both at once
    assert (await admin_member(town, town.bob))["status"] == "active"
    unticked = await post_form(
        town.client, f"{path}/status", {"action": "suspend", "reason": REASON}
    )
    assert unticked.status_code == 422
    assert (await admin_member(town, town.bob))["status"] == "active"

    suspended = await post_form(
        town.client, f"{path}/status", {"action": "suspend", "reason": REASON, "confirm": "yes"}
    )
    assert suspended.status_code == 303
    assert suspended.headers["location"] == f"{path}?done=suspended"
    shown = text_of((await page(town, f"{path}?done=suspended")).text)
    assert "The member has been suspended." in shown
    assert "Status Suspended" in shown
    assert "Lift the suspension" in shown
    bob_account = await reader.account(account_id=member_account_id(town.bob.id))
    assert bob_account.debits_pending_minor == 0
    token = await town.client.post(
        "/api/v1/auth/token", json={"email": town.bob.email, "password": PASSWORD}
    )
    assert token.status_code == 403

    twice = await post_form(
        town.client, f"{path}/status", {"action": "suspend", "reason": REASON, "confirm": "yes"}
    )
    assert twice.status_code == 422
    assert "This member is already suspended." in twice.text

    lifted = await post_form(
        town.client, f"{path}/status", {"action": "reinstate", "reason": "Sorted out"}
    )
    assert lifted.status_code == 303
    assert lifted.headers["location"] == f"{path}?done=reinstated"
    assert "Status Active" in text_of((await page(town, path)).text)
    actions = [entry["action"] for entry in await audit(town, target_id=str(town.bob.id))]
    assert actions == ["member.reinstate", "member.suspend"]


async def test_change_limits_through_the_page(town: Town, reader: Ledger) -> None:
    await sign_in_as_admin(town)
    path = f"/admin/members/{town.alice.id}"
    shown = await page(town, path)
    assert re.search(r'id="limits-owe_hours"[^>]*value="10"', shown.text)

    saved = await post_form(
        town.client,
        f"{path}/limits",
        {
            "owe_hours": "2",
            "owe_minutes": "30",
            "ceiling_hours": "40",
            "ceiling_minutes": "",
            "reason": REASON,
        },
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"{path}?done=limits-saved"
    account = await reader.account(account_id=member_account_id(town.alice.id))
    assert (account.floor_minor, account.ceiling_minor) == (-150, 2400)
    words = text_of((await page(town, f"{path}?done=limits-saved")).text)
    assert "The credit limits have been saved." in words
    assert "May owe up to 2 hours 30 minutes" in words
    assert "Highest balance allowed (ceiling) 40 hours" in words

    unreadable = await post_form(
        town.client,
        f"{path}/limits",
        {"owe_hours": "ten", "owe_minutes": "", "reason": REASON},
    )
    assert unreadable.status_code == 422
    assert "Enter how much they may owe in whole hours" in unreadable.text
    assert 'href="#limits-owe_hours"' in unreadable.text  # the summary links to the field

    # Alice gives 4 hours: she has 2 and owes 2; a floor of owing only 1 is refused.
    gift = await town.client.post(
        "/api/v1/transfers",
        json={"to_member_id": str(town.bob.id), "minutes": 240},
        headers=town.alice.headers,
    )
    assert gift.status_code == 201, gift.text
    refused = await post_form(
        town.client,
        f"{path}/limits",
        {"owe_hours": "1", "owe_minutes": "0", "reason": REASON},
    )
    assert refused.status_code == 422
    assert "The floor cannot be above what the account has available (minus 2 hours)" in (
        refused.text
    )
    # Next to the field that asked for it, not only in the summary.
    assert 'id="limits-owe_hours-error"' in refused.text
    assert 'href="#limits-owe_hours"' in refused.text
    account = await reader.account(account_id=member_account_id(town.alice.id))
    assert account.floor_minor == -150
    assert len(await audit(town, action="account.limits")) == 1


async def test_the_audit_page_filters_and_explains_changes(town: Town) -> None:
    await sign_in_as_admin(town)
    await post_form(
        town.client,
        f"/admin/members/{town.bob.id}/status",
        {"action": "suspend", "reason": REASON, "confirm": "yes"},
    )
    today = clock.local_today().isoformat()
    response = await page(
        town, f"/admin/audit?action=member.suspend&from={today}&to={today}&actor=admin@example.org"
    )
    assert response.status_code == 200
    words = text_of(response.text).split("Audit entries, newest first", 1)[1]  # the table
    assert "Suspended a member" in words
    assert "Ada Admin" in words
    assert REASON in words
    assert "Status: was active, now suspended" in words
    assert "Granted a role" not in words
    everything = text_of((await page(town, "/admin/audit")).text)
    assert "Granted a role" in everything.split("Audit entries, newest first", 1)[1]
    bad = await page(town, "/admin/audit?from=soon&actor=nobody@example.org")
    assert bad.status_code == 422
    assert "Enter a date like 2026-05-14" in bad.text
    assert "Enter the email address or id of a member" in bad.text


async def test_the_ledger_page_shows_the_trial_balance_and_runs_verify(town: Town) -> None:
    await sign_in_as_admin(town)
    health = await page(town, "/admin/ledger")
    assert health.status_code == 200
    words = text_of(health.text)
    assert "Hours" in words
    assert "Money (pounds)" in words
    assert "Balanced: the" in words
    assert "Not balanced" not in words
    assert "add up to 0 hours" in words
    assert "The ledger checked out clean" not in words
    assert f'href="/admin/members/{town.alice.id}"' in health.text
    assert "Riverside: pool (donated hours)" in words
    verified = await page(town, "/admin/ledger/verify")
    assert verified.status_code == 200
    assert "The ledger checked out clean." in text_of(verified.text)


async def test_page_forms_need_the_csrf_token(town: Town) -> None:
    await sign_in_as_admin(town)
    await csrf_token(town.client, "/admin")
    refused = await town.client.post(
        f"/admin/members/{town.bob.id}/status",
        data={"action": "suspend", "reason": REASON},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    assert (await admin_member(town, town.bob))["status"] == "active"
