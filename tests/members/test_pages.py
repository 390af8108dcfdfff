"""The members' HTML pages through HTTP, on both engines: forms, cookies, roles, redirects."""

from __future__ import annotations

import json
import re

import httpx
import msgspec

from service.app import create_app
from service.limits import SIGN_IN_ACCOUNT_FAILURES_MAX, SIGN_IN_ADDRESS_FAILURES_MAX
from service.settings import Settings
from tests.support.app import running
from tests.support.pages import csrf_token, page_sign_in, post_form, tag_of
from tests.support.people import PASSWORD, Town, bootstrap_admin

Client = httpx.AsyncClient


# Helpers ---------------------------------------------------------------------------------


def session_cookie_header(response: httpx.Response) -> str:
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith("tb_session=")]
    assert len(headers) == 1, response.headers
    return headers[0]


def session_token(response: httpx.Response) -> str:
    return session_cookie_header(response).split(";", 1)[0].split("=", 1)[1]


async def get_with_session(client: Client, path: str, token: str) -> httpx.Response:
    """A request carrying exactly this session cookie (the jar's own is not sent)."""
    return await client.get(path, headers={"Cookie": f"tb_session={token}"}, follow_redirects=False)


def error_message_of(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}-error"[^>]*>(.*?)</span>\s*(.*?)</span>', html, re.DOTALL)
    assert match, f"no error message for {element_id!r}"
    return match.group(2).strip()


def error_summary(html: str) -> str:
    start = html.index('class="error-summary"')
    return html[start : html.index("</div>", start)]


def heading(html: str) -> str:
    headings = re.findall(r"<h1[^>]*>(.*?)</h1>", html, re.DOTALL)
    assert len(headings) == 1, headings
    return headings[0].strip()


def valid_registration(**changes: str) -> dict[str, str]:
    return {
        "email": "newcomer@example.org",
        "password": PASSWORD,
        "display_name": "Nell Newcomer",
        "community": "riverside",
        "ward": "Riverside",
        "birth_year": "1948",
        "consent": "yes",
        **changes,
    }


async def api_balance(client: Client, headers: dict[str, str]) -> int:
    response = await client.get("/api/v1/accounts/me", headers=headers)
    assert response.status_code == 200, response.text
    balance: int = response.json()["balance_minutes"]
    return balance


# Registration -----------------------------------------------------------------------------


async def test_registration_errors_are_shown_by_their_fields_and_typed_values_are_kept(
    town: Town,
) -> None:
    client = town.client
    response = await post_form(
        client,
        "/register",
        valid_registration(
            email="not-an-email",
            password="short",
            ward='Riverside "East" <b>',
            birth_year="19x0",
            consent="",
        ),
    )
    assert response.status_code == 422
    html = response.text
    assert "<title>Error: Join your time bank" in html
    summary = error_summary(html)
    for field in ("email", "password", "birth_year", "consent"):
        assert f'href="#{field}"' in summary
        tag = tag_of(html, field)
        assert 'aria-invalid="true"' in tag
        assert f"{field}-error" in tag  # aria-describedby names the message
    assert "like name@example.org" in error_message_of(html, "email")
    assert "10 to 200 characters" in error_message_of(html, "password")
    assert "privacy notice" in error_message_of(html, "consent")
    assert 'aria-invalid="true"' not in tag_of(html, "display_name")
    # What was typed comes back (escaped), except the password.
    assert 'value="not-an-email"' in tag_of(html, "email")
    assert 'value="Nell Newcomer"' in tag_of(html, "display_name")
    assert 'value="Riverside &#34;East&#34; &lt;b&gt;"' in tag_of(html, "ward")
    assert 'value="19x0"' in tag_of(html, "birth_year")
    assert "value=" not in tag_of(html, "password")
    assert 'value="short"' not in html
    assert re.search(r'<option value="riverside" selected>', html)
    assert "checked" not in tag_of(html, "consent")


async def test_a_service_refusal_is_shown_on_the_form_not_as_json(town: Town) -> None:
    # A taken email is not refused: that would tell who is a member (ADR 0020,
    # tests/access/test_enumeration.py).
    future = await post_form(town.client, "/register", valid_registration(birth_year="2099"))
    assert future.status_code == 422
    assert future.headers["content-type"].startswith("text/html")
    assert error_message_of(future.text, "birth_year") == "Year of birth: cannot be in the future"


async def test_a_newcomer_registers_signs_in_and_sees_the_welcome_credit(town: Town) -> None:
    client = town.client
    response = await post_form(client, "/register", valid_registration())
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?done=registered"
    confirmation = await client.get(response.headers["location"])
    assert "Your account is ready. Please sign in." in confirmation.text
    signed_in = await page_sign_in(client, "newcomer@example.org")
    assert signed_in.headers["location"] == "/dashboard"
    dashboard = await client.get("/dashboard")
    assert dashboard.status_code == 200
    assert heading(dashboard.text) == "Hello, Nell Newcomer"
    assert '<p class="balance">You have 2 hours. You can go down to' in dashboard.text
    assert "<dt>Available to spend</dt><dd>2 hours</dd>" in dashboard.text
    assert "<dt>On hold for agreed exchanges</dt><dd>0 hours</dd>" in dashboard.text


# CSRF, cookies and sessions ---------------------------------------------------------------


async def test_forms_without_a_valid_csrf_token_are_refused_with_a_page(town: Town) -> None:
    client = town.client
    await csrf_token(client)  # the browser has the cookie, but the form lacks the field
    fields = {"email": town.alice.email, "password": PASSWORD}
    refused = await client.post("/sign-in", data=fields, follow_redirects=False)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert heading(refused.text) == "This form has expired"
    assert "tb_session" not in refused.headers.get("set-cookie", "")
    forged = await client.post(
        "/register",
        data={"_csrf_token": "forged", **valid_registration()},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    # Nothing was registered: the same email can still sign up.
    assert (await post_form(client, "/register", valid_registration())).status_code == 303


async def test_sign_out_needs_the_csrf_token_too(town: Town) -> None:
    client = town.client
    token = session_token(await page_sign_in(client, town.alice.email))
    refused = await client.post("/sign-out", follow_redirects=False)
    assert refused.status_code == 403
    assert (await get_with_session(client, "/dashboard", token)).status_code == 200


async def test_sign_in_sets_an_httponly_lax_cookie_with_a_new_value_each_time(town: Town) -> None:
    client = town.client
    first = await page_sign_in(client, town.alice.email)
    header = session_cookie_header(first)
    attributes = {part.strip().lower() for part in header.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/"} <= attributes
    assert "secure" not in attributes  # served over http here
    assert not any(a.startswith(("max-age", "expires")) for a in attributes)
    old_token = session_token(first)
    second = await page_sign_in(client, town.alice.email)
    new_token = session_token(second)
    assert new_token != old_token
    # The browser's old session was ended by the new sign-in (rotation).
    stale = await get_with_session(client, "/dashboard", old_token)
    assert stale.status_code == 303
    assert stale.headers["location"] == "/sign-in?next=%2Fdashboard"
    assert (await get_with_session(client, "/dashboard", new_token)).status_code == 200


async def test_the_session_cookie_is_secure_when_the_site_is_https(settings: Settings) -> None:
    app = create_app(msgspec.structs.replace(settings, public_base_url="https://timebank.example"))
    async with running(app, follow_redirects=True, base_url="https://testserver.local") as client:
        await bootstrap_admin(app)
        response = await page_sign_in(client, "admin@example.org")
        attributes = session_cookie_header(response).lower().split("; ")
        assert {"secure", "httponly", "samesite=lax"} <= set(attributes)
        assert (await client.get("/dashboard")).status_code == 200


async def test_sign_out_ends_the_session_and_clears_the_cookie(town: Town) -> None:
    client = town.client
    token = session_token(await page_sign_in(client, town.bob.email))
    response = await post_form(client, "/sign-out", {})
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?done=signed-out"
    cleared = session_cookie_header(response).lower()
    assert cleared.startswith(('tb_session="";', "tb_session=;"))
    assert "max-age=0" in cleared
    assert "httponly" in cleared
    # The server ended it: replaying the old cookie does not sign anyone in.
    replay = await get_with_session(client, "/dashboard", token)
    assert replay.status_code == 303
    page = await client.get(response.headers["location"])
    assert "You have signed out." in page.text
    assert ">Sign in</a>" in page.text
    assert "Sign out</button>" not in page.text


# Redirects for anonymous visitors ---------------------------------------------------------


async def test_anonymous_visitors_are_sent_to_sign_in_and_then_back(town: Town) -> None:
    client = town.client
    for path in ("/dashboard", "/profile", "/account/close", "/admin/roles", "/profile/export"):
        response = await client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/sign-in?next=" + path.replace("/", "%2F")
    with_query = await client.get("/coordinator/members?community=oakfield", follow_redirects=False)
    assert with_query.headers["location"] == (
        "/sign-in?next=%2Fcoordinator%2Fmembers%3Fcommunity%3Doakfield"
    )
    form = await client.get(with_query.headers["location"])
    assert 'name="next" value="/coordinator/members?community=oakfield"' in form.text
    posted = await post_form(client, "/profile", {"display_name": "Mallory"})
    assert posted.status_code == 303
    assert posted.headers["location"] == "/sign-in"
    back = await page_sign_in(client, town.alice.email, next_path="/profile")
    assert back.headers["location"] == "/profile"


async def test_sign_in_never_sends_anyone_to_another_site(town: Town) -> None:
    client = town.client
    for hostile in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = await page_sign_in(client, town.alice.email, next_path=hostile)
        assert response.headers["location"] == "/dashboard", hostile


async def test_a_wrong_password_keeps_the_email_and_says_only_that_the_pair_is_wrong(
    town: Town,
) -> None:
    response = await post_form(
        town.client, "/sign-in", {"email": town.alice.email, "password": "not the password"}
    )
    assert response.status_code == 422
    assert "That email and password do not match an account." in response.text
    assert f'value="{town.alice.email}"' in tag_of(response.text, "email")
    assert "not the password" not in response.text
    assert "tb_session" not in response.headers.get("set-cookie", "")


async def test_failed_sign_ins_through_the_page_lock_the_account_and_the_address(
    admin_client: Client,
) -> None:
    """Only failures count (ADR 0021; the rule in full: tests/access/test_sign_in_limits.py)."""
    client = admin_client
    for _ in range(SIGN_IN_ACCOUNT_FAILURES_MAX - 1):
        wrong = await post_form(
            client, "/sign-in", {"email": "admin@example.org", "password": "wrong password"}
        )
        assert wrong.status_code == 422
    locking = await post_form(
        client, "/sign-in", {"email": "admin@example.org", "password": "wrong password"}
    )
    assert locking.status_code == 429
    limited = await post_form(
        client, "/sign-in", {"email": "admin@example.org", "password": PASSWORD}
    )
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert "and then try again" in limited.text
    assert "tb_session" not in limited.headers.get("set-cookie", "")
    # Five failures so far from this address; guesses at other accounts make up the
    # most one address may fail in the window, and the last of them locks it.
    guesses = SIGN_IN_ADDRESS_FAILURES_MAX - SIGN_IN_ACCOUNT_FAILURES_MAX
    for number in range(guesses - 1):
        response = await post_form(
            client, "/sign-in", {"email": f"guess{number}@example.org", "password": "guess"}
        )
        assert response.status_code == 422
    blocked = await post_form(client, "/sign-in", {"email": "other@example.org", "password": "x"})
    assert blocked.status_code == 429


# Roles -----------------------------------------------------------------------------------


async def test_a_member_cannot_open_coordinator_or_admin_pages(town: Town) -> None:
    client = town.client
    await page_sign_in(client, town.alice.email)
    dashboard = await client.get("/dashboard")
    assert ">Dashboard</a>" in dashboard.text
    assert "Sign out</button>" in dashboard.text
    assert "/coordinator/members" not in dashboard.text
    assert "/admin/communities" not in dashboard.text
    for path in ("/coordinator/members", "/admin/communities", "/admin/roles"):
        response = await client.get(path)
        assert response.status_code == 403, path
        assert response.headers["content-type"].startswith("text/html")
        assert heading(response.text) == "You cannot open this page"
        assert "Sign out</button>" in response.text  # same layout, still signed in
    area = await post_form(client, "/admin/areas", {"name": "Sneaky", "slug": "sneaky"})
    assert area.status_code == 403
    role = await post_form(
        client,
        "/admin/roles",
        {"member": town.alice.email, "action": "grant", "role": "admin", "reason": "me"},
    )
    assert role.status_code == 403
    approve = await post_form(client, f"/coordinator/members/{town.pending.id}/approve", {})
    assert approve.status_code == 403
    assert await api_balance(client, town.pending.headers) == 0
    me = await client.get("/api/v1/me", headers=town.alice.headers)
    assert me.json()["roles"] == []
    areas = await client.get("/api/v1/communities")
    assert "sneaky" not in areas.text


async def test_a_coordinator_acts_only_in_their_own_community(town: Town) -> None:
    client = town.client
    await page_sign_in(client, town.coordinator.email)
    page = await client.get("/coordinator/members")
    assert page.status_code == 200
    assert "<h2>Riverside</h2>" in page.text
    assert "Nobody is waiting for approval in Riverside." in page.text
    assert ">Coordinator</a>" in page.text
    assert "/admin/communities" not in page.text
    other = await client.get("/coordinator/members?community=oakfield")
    assert other.status_code == 404
    assert heading(other.text) == "Page not found"
    approve = await post_form(client, f"/coordinator/members/{town.pending.id}/approve", {})
    assert approve.status_code == 404  # another community's member does not exist for them
    assert approve.headers["content-type"].startswith("text/html")
    assert await api_balance(client, town.pending.headers) == 0
    assert (await client.get("/admin/roles")).status_code == 403


async def test_a_coordinator_approves_a_pending_member_through_the_page(town: Town) -> None:
    client = town.client
    # The pending member sees that approval is awaited.
    await page_sign_in(client, town.pending.email)
    waiting = await client.get("/dashboard")
    assert "Your membership is waiting for approval." in waiting.text
    assert "your welcome hours: 2 hours" in waiting.text
    assert '<p class="balance">You have 0 hours. You can go down to' in waiting.text
    client.cookies.clear()
    # An admin makes Cora coordinator of Oakfield too, through the roles page.
    await page_sign_in(client, town.admin.email)
    granted = await post_form(
        client,
        "/admin/roles",
        {
            "member": town.coordinator.email,
            "action": "grant",
            "role": "coordinator",
            "community": "oakfield",
            "reason": "covers Oakfield while Olive is away",
        },
    )
    assert granted.status_code == 303
    assert granted.headers["location"] == "/admin/roles?done=role-granted"
    client.cookies.clear()
    await page_sign_in(client, town.coordinator.email)
    page = await client.get("/coordinator/members?community=oakfield")
    assert page.status_code == 200
    action = f'action="/coordinator/members/{town.pending.id}/approve"'
    assert action in page.text
    assert '<td data-label="Name">Pat</td>' in page.text
    approved = await post_form(client, f"/coordinator/members/{town.pending.id}/approve", {})
    assert approved.status_code == 303
    assert approved.headers["location"] == "/coordinator/members?community=oakfield&done=approved"
    after = await client.get(approved.headers["location"])
    assert "Approved. Their welcome hours have been added" in after.text
    assert "Nobody is waiting for approval in Oakfield." in after.text
    assert action not in after.text
    assert await api_balance(client, town.pending.headers) == 120
    # Approving again (a second click) changes nothing.
    again = await post_form(client, f"/coordinator/members/{town.pending.id}/approve", {})
    assert again.status_code == 303
    assert await api_balance(client, town.pending.headers) == 120
    client.cookies.clear()
    await page_sign_in(client, town.pending.email)
    welcome = await client.get("/dashboard")
    assert "waiting for approval" not in welcome.text
    assert '<p class="balance">You have 2 hours. You can go down to' in welcome.text


async def test_admin_revokes_a_role_and_sees_field_errors_for_a_wrong_scope(town: Town) -> None:
    client = town.client
    await page_sign_in(client, town.admin.email)
    page = await client.get("/admin/roles")
    assert ">Admin</a>" in page.text
    assert '<td data-label="Email">cora@example.org</td>' in page.text
    wrong_scope = await post_form(
        client,
        "/admin/roles",
        {
            "member": str(town.coordinator.id),
            "action": "grant",
            "role": "coordinator",
            "area": "north",
            "reason": "typo",
        },
    )
    assert wrong_scope.status_code == 422
    assert error_message_of(wrong_scope.text, "community").startswith("Community: ")
    assert 'value="typo"' not in wrong_scope.text  # a textarea keeps it as its content
    assert ">typo</textarea>" in wrong_scope.text
    unknown = await post_form(
        client,
        "/admin/roles",
        {"member": "nobody@example.org", "action": "grant", "role": "admin", "reason": "x"},
    )
    assert unknown.status_code == 422
    assert "email address or id of a member" in error_message_of(unknown.text, "member")
    revoked = await post_form(
        client,
        "/admin/roles",
        {
            "member": town.coordinator.email,
            "action": "revoke",
            "role": "coordinator",
            "community": "riverside",
            "reason": "stepped down",
        },
    )
    assert revoked.status_code == 303
    assert revoked.headers["location"] == "/admin/roles?done=role-revoked"
    me = await client.get("/api/v1/me", headers=town.coordinator.headers)
    assert me.json()["roles"] == []


async def test_admin_creates_an_area_and_a_community_through_the_pages(
    admin_client: Client,
) -> None:
    client = admin_client
    await page_sign_in(client, "admin@example.org")
    area = await post_form(client, "/admin/areas", {"name": "East Borough", "slug": "east"})
    assert area.status_code == 303
    assert area.headers["location"] == "/admin/communities?done=area-created"
    bad = await post_form(
        client,
        "/admin/communities",
        {"name": "Quayside", "slug": "home", "area": "east", "welcome_credit_minutes": "lots"},
    )
    assert bad.status_code == 422
    assert 'href="#community-welcome_credit_minutes"' in bad.text
    assert 'value="Quayside"' in tag_of(bad.text, "community-name")
    taken = await post_form(
        client,
        "/admin/communities",
        {"name": "Quayside", "slug": "home", "area": "east", "welcome_credit_minutes": "60"},
    )
    assert taken.status_code == 422
    assert "A community with this slug exists." in error_message_of(taken.text, "community-slug")
    created = await post_form(
        client,
        "/admin/communities",
        {
            "name": "Quayside",
            "slug": "quayside",
            "area": "east",
            "requires_approval": "yes",
            "welcome_credit_minutes": "60",
        },
    )
    assert created.status_code == 303
    listing = await client.get("/api/v1/communities")
    quayside = next(c for c in listing.json() if c["slug"] == "quayside")
    assert quayside["requires_approval"] is True
    assert quayside["welcome_credit_minutes"] == 60
    assert quayside["area"] == "east"
    page = await client.get(created.headers["location"])
    assert "The community has been created" in page.text
    assert '<td data-label="Name">Quayside</td>' in page.text


# A member's own pages ---------------------------------------------------------------------


async def test_profile_edit_shows_errors_keeps_values_and_saves(town: Town) -> None:
    client = town.client
    await page_sign_in(client, town.alice.email)
    page = await client.get("/profile")
    assert 'value="Alice"' in tag_of(page.text, "display_name")
    bad = await post_form(
        client,
        "/profile",
        {"display_name": "  ", "ward": "Quayside", "skills": "Gardening", "birth_year": "1850"},
    )
    assert bad.status_code == 422
    assert 'href="#display_name"' in bad.text
    assert 'href="#birth_year"' in bad.text
    assert 'value="Quayside"' in tag_of(bad.text, "ward")
    assert ">Gardening</textarea>" in bad.text
    saved = await post_form(
        client,
        "/profile",
        {
            "display_name": "Alice Ames",
            "ward": "Quayside",
            "skills": "Gardening",
            "birth_year": "1950",
        },
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/profile?done=profile-saved"
    shown = await client.get(saved.headers["location"])
    assert "Your profile has been saved." in shown.text
    assert 'value="Alice Ames"' in tag_of(shown.text, "display_name")
    assert 'value="1950"' in tag_of(shown.text, "birth_year")
    me = await client.get("/api/v1/me", headers=town.alice.headers)
    assert me.json()["display_name"] == "Alice Ames"
    assert me.json()["skills"] == "Gardening"


async def test_export_downloads_the_members_own_data_as_an_attachment(town: Town) -> None:
    client = town.client
    await page_sign_in(client, town.alice.email)
    response = await client.get("/profile/export")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="timebank-my-data-')
    assert response.headers["cache-control"] == "no-store"
    data = json.loads(response.content)
    assert data["profile"]["email"] == town.alice.email
    assert data["profile"]["id"] == str(town.alice.id)
    assert data["account"]["balance_minutes"] == 120
    assert len(data["sessions"]) == 1


async def test_closing_an_account_explains_first_then_erases_and_signs_out(town: Town) -> None:
    client = town.client
    token = session_token(await page_sign_in(client, town.bob.email))
    confirm = await client.get("/account/close")
    assert confirm.status_code == 200
    assert "Your 2 hours will be given to the Riverside pool" in confirm.text
    assert 'action="/account/close"' in confirm.text
    closed = await post_form(client, "/account/close", {})
    assert closed.status_code == 303
    assert closed.headers["location"] == "/account/closed"
    assert "max-age=0" in session_cookie_header(closed).lower()
    goodbye = await client.get("/account/closed")
    assert heading(goodbye.text) == "Your account is closed"
    assert (await get_with_session(client, "/dashboard", token)).status_code == 303
    again = await post_form(client, "/sign-in", {"email": town.bob.email, "password": PASSWORD})
    assert again.status_code == 422


async def test_pages_for_everyone_render_with_the_anonymous_navigation(town: Town) -> None:
    client = town.client
    for path, title in (
        ("/", "Neighbours helping neighbours"),
        ("/register", "Join your time bank"),
        ("/sign-in", "Sign in"),
        ("/privacy", "Privacy notice"),
    ):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert heading(response.text) == title
        assert '<a href="/register"' in response.text
        assert "Sign out</button>" not in response.text
    # A signed-in member sees their navigation on the public pages too.
    await page_sign_in(client, town.alice.email)
    home = await client.get("/")
    assert "Sign out</button>" in home.text
    assert '<a href="/dashboard"' in home.text
