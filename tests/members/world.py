"""A shared "world" per engine for one test module: a database, the app, an HTTP client.

The function-scoped `town` fixture costs a fresh database, app and a dozen
sign-ins per test; the role matrix alone has well over a hundred rows per
engine. So these modules share one world per engine (module scope) and every
test makes the fresh members, communities and tokens it needs, with unique
names, so that tests do not depend on each other's rows or order.

Everything runs on the module's event loop: the app's lifespan (and so the
PostgreSQL connection pool), the requests (through `httpx.ASGITransport`, so
`asyncio.gather` of requests is truly concurrent), and the test's own direct
calls to the ledger and the tables. There is no portal thread in between.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from ledger import Ledger, Unit
from service.app import create_app
from service.members import roles as members_roles
from service.members.tables import ApiToken, AuditEntry, Community, Member
from service.problems import PROBLEM_MEDIA_TYPE
from service.settings import Settings
from tests.conftest import TEST_SECRET_KEY, admin_execute, engines_requested, postgres_url
from tests.members.conftest import PASSWORD, Person

BASE_URL = "http://testserver.local"
ADMIN_EMAIL = "world-admin@example.org"
ENGINES = engines_requested()


class NoRateLimits:
    """A limiter that never limits: worlds that are not about rate limits sign in a lot."""

    async def hit(self, key: str, *, window_seconds: int) -> tuple[int, int]:
        del key
        return 1, window_seconds

    async def close(self) -> None:
        return None


@dataclass
class World:
    kind: str
    url: str
    app: Litestar
    http: httpx.AsyncClient
    admin: Person = field(init=False)
    # Members and tokens a module makes once and shares between its tests.
    cache: dict[str, Any] = field(default_factory=dict)
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # Names -------------------------------------------------------------------------

    def unique(self, stem: str) -> str:
        return f"{stem}{next(self._serial)}"

    def email(self, stem: str = "member") -> str:
        return f"{self.unique(stem)}@example.org"

    @property
    def ledger(self) -> Ledger:
        ledger: Ledger = self.app.state.ledger
        return ledger

    # Clients ------------------------------------------------------------------------

    @asynccontextmanager
    async def client_at(self, address: str) -> AsyncIterator[httpx.AsyncClient]:
        """A client whose requests come from `address` (rate limits count per address)."""
        transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client

    # Communities --------------------------------------------------------------------

    async def new_area(self) -> str:
        slug = self.unique("area-")
        response = await self.http.post(
            "/api/v1/admin/areas", json={"name": slug, "slug": slug}, headers=self.admin.headers
        )
        assert response.status_code == 201, response.text
        return slug

    async def new_community(
        self, *, area: str = "north", requires_approval: bool = False, welcome: int = 120
    ) -> str:
        slug = self.unique("town-")
        response = await self.http.post(
            "/api/v1/admin/communities",
            headers=self.admin.headers,
            json={
                "name": slug.title(),
                "slug": slug,
                "area": area,
                "requires_approval": requires_approval,
                "welcome_credit_minutes": welcome,
            },
        )
        assert response.status_code == 201, response.text
        return slug

    async def community(self, slug: str) -> Community:
        found = await Community.objects().where(Community.slug == slug).first().run()
        assert found is not None
        return found

    # Members ------------------------------------------------------------------------

    async def register(self, email: str, community: str, **extra: Any) -> httpx.Response:
        body = {
            "email": email,
            "password": PASSWORD,
            "display_name": email.split("@", maxsplit=1)[0].title(),
            "community": community,
            **extra,
        }
        return await self.http.post("/api/v1/auth/register", json=body)

    async def sign_in(self, email: str) -> dict[str, str]:
        response = await self.http.post(
            "/api/v1/auth/token", json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 201, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    async def member(
        self,
        community: str = "riverside",
        *,
        approve: bool = True,
        stem: str = "member",
        **extra: Any,
    ) -> Person:
        """A new member with a token; approved by the admin if the community requires it."""
        email = self.email(stem)
        response = await self.register(email, community, **extra)
        assert response.status_code == 201, response.text
        member_id = uuid.UUID(response.json()["id"])
        if approve and response.json()["status"] == "pending":
            await self.approve(member_id, self.admin)
        return Person(member_id, email, await self.sign_in(email))

    async def approve(self, member_id: uuid.UUID, by: Person) -> httpx.Response:
        response = await self.http.post(
            f"/api/v1/coordinator/members/{member_id}/approve", headers=by.headers
        )
        assert response.status_code == 200, response.text
        return response

    async def grant(self, who: Person, role: str, **scope: str) -> None:
        response = await self.http.post(
            f"/api/v1/admin/members/{who.id}/roles",
            headers=self.admin.headers,
            json={"action": "grant", "role": role, "reason": "appointed", **scope},
        )
        assert response.status_code == 200, response.text

    async def row(self, member_id: uuid.UUID) -> Member:
        found = await Member.objects().where(Member.id == member_id).first().run()
        assert found is not None
        return found

    async def me(self, who: Person) -> dict[str, Any]:
        response = await self.http.get("/api/v1/me", headers=who.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def balance(self, member_id: uuid.UUID) -> int:
        row = await self.row(member_id)
        return (await self.ledger.balance(account_id=row.hour_account_id)).balance_minor

    async def gift(self, giver: uuid.UUID, receiver: uuid.UUID, minutes: int) -> None:
        """Move hours between two members straight through the ledger (no API for it yet)."""
        await self.ledger.transfer(
            id=uuid.uuid4(),
            debit_account_id=(await self.row(giver)).hour_account_id,
            credit_account_id=(await self.row(receiver)).hour_account_id,
            amount_minor=minutes,
            unit=Unit.HOUR,
            code="gift",
            actor=f"member:{giver}",
            memo="a gift",
        )

    async def audit_actions(self, member_id: uuid.UUID) -> list[str]:
        rows = (
            await AuditEntry.select(AuditEntry.action)
            .where((AuditEntry.target_type == "member") & (AuditEntry.target_id == str(member_id)))
            .run()
        )
        return [row["action"] for row in rows]

    async def live_tokens(self, member_id: uuid.UUID) -> int:
        return await (
            ApiToken.count()
            .where((ApiToken.member == member_id) & ApiToken.revoked_at.is_null())
            .run()
        )

    async def ledger_accounts(self) -> int:
        rows = await Member.raw("SELECT count(*) AS n FROM ledger_account").run()
        return int(rows[0]["n"])

    # Ledger health ------------------------------------------------------------------

    async def assert_ledger_clean(self) -> None:
        report = await self.ledger.verify()
        assert report.ok, report.summary()
        trial = await self.ledger.trial_balance(unit=Unit.HOUR)
        assert trial.balanced
        assert sum(row.balance_minor for row in trial.rows) == 0


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and code; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["title"]
    assert body["detail"]
    assert body["type"].startswith("https://")
    return body


async def _new_database(request: pytest.FixtureRequest, kind: str) -> tuple[str, str | None]:
    """A fresh migrated database cloned from the session template: (url, drop statement)."""
    if kind == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        tmp: Path = request.getfixturevalue("tmp_path_factory").mktemp("world")
        path = tmp / "world.sqlite3"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}", None
    template_name: str = request.getfixturevalue("postgres_template")
    name = f"timebank_world_{os.getpid()}_{uuid.uuid4().hex[:12]}"
    await admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    return postgres_url(name), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'


@asynccontextmanager
async def open_world(request: pytest.FixtureRequest, kind: str) -> AsyncIterator[World]:
    """Database, app (rate limits off) and client, with an admin, two areas and communities.

    Areas "north" and "south"; communities "riverside" (north, approval
    required), "hillside" (south, approval required) and "meadow" (north, open),
    each with a welcome credit of 120 minutes.

    The app's lifespan runs in a task of its own: pytest-asyncio sets a
    fixture up and tears it down in different tasks, and the lifespan's
    task group must be entered and left in one.
    """
    url, drop = await _new_database(request, kind)
    data_dir: Path = request.getfixturevalue("tmp_path_factory").mktemp("world-data")
    settings = Settings(
        database_url=url,
        secret_key=TEST_SECRET_KEY,
        data_dir=str(data_dir),
        log_level="WARNING",
        password_time_cost=1,
        password_memory_kib=1024,
    )
    app = create_app(settings)
    app.state.rate_limiter = NoRateLimits()
    ready: asyncio.Future[World] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def keep_running() -> None:
        try:
            async with app.lifespan():
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
                    world = World(kind=kind, url=url, app=app, http=http)
                    await _populate(world)
                    ready.set_result(world)
                    await stop.wait()
        except BaseException as error:
            if not ready.done():
                ready.set_exception(error)
            raise

    keeper = asyncio.create_task(keep_running())
    try:
        yield await ready
    finally:
        stop.set()
        try:
            await keeper
        finally:
            if drop:
                await admin_execute(drop)


async def _populate(world: World) -> None:
    await members_roles.admin_bootstrap(
        engine=world.app.state.engine,
        ledger=world.ledger,
        email=ADMIN_EMAIL,
        password=PASSWORD,
        display_name="Ada Admin",
    )
    headers = await world.sign_in(ADMIN_EMAIL)
    me = await world.http.get("/api/v1/me", headers=headers)
    world.admin = Person(uuid.UUID(me.json()["id"]), ADMIN_EMAIL, headers)
    for slug in ("north", "south"):
        response = await world.http.post(
            "/api/v1/admin/areas", json={"name": slug.title(), "slug": slug}, headers=headers
        )
        assert response.status_code == 201, response.text
    for slug, area, approval in (
        ("riverside", "north", True),
        ("hillside", "south", True),
        ("meadow", "north", False),
    ):
        response = await world.http.post(
            "/api/v1/admin/communities",
            headers=headers,
            json={
                "name": slug.title(),
                "slug": slug,
                "area": area,
                "requires_approval": approval,
                "welcome_credit_minutes": 120,
            },
        )
        assert response.status_code == 201, response.text
