"""The service's outer shell: probes, OpenAPI, pages, error shapes, headers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec
import pytest
from litestar import Litestar, Request, get, post
from litestar.params import Body, FromPath

from ledger.errors import ExceedsFloor
from service import database
from service.app import create_app
from service.http.access import Access, access
from service.limits import REQUEST_BODY_SIZE_MAX_BYTES
from service.principal import Principal, remember_principal
from service.problems import exception_handlers
from service.settings import Settings
from tests.conftest import TestDatabase, admin_execute, postgres_url
from tests.support.app import AppClient, running

PROBLEM = "application/problem+json"


class Greeting(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    count: Annotated[int, msgspec.Meta(ge=1, le=10)]


@post("/api/test/echo", sync_to_thread=False, opt=access(Access.PUBLIC))
def echo(data: Annotated[Greeting, Body()]) -> Greeting:
    return data


@get("/api/test/boom", sync_to_thread=False, opt=access(Access.PUBLIC))
def boom() -> None:
    raise RuntimeError("SELECT password FROM members -- service.secret_module")


@pytest.fixture
def app(settings: Settings) -> Litestar:
    application = create_app(settings)
    application.register(echo)
    application.register(boom)
    return application


async def test_health_answers(client: AppClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_migrated(client: AppClient) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200, response.text
    assert response.json()["pending_migrations"] == []


@pytest.fixture
async def empty_database_url(db_kind: str, tmp_path: Path) -> AsyncIterator[str]:
    if db_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    name = f"timebank_empty_{uuid.uuid4().hex}"
    await admin_execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url(name)
    finally:
        await admin_execute(f'DROP DATABASE "{name}" WITH (FORCE)')


async def test_ready_is_503_when_not_migrated(tmp_path: Path, empty_database_url: str) -> None:
    settings = Settings(
        database_url=empty_database_url, secret_key="k" * 40, data_dir=str(tmp_path)
    )
    async with running(create_app(settings), follow_redirects=True) as client:
        response = await client.get("/ready")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["code"] == "migrations_pending"
    assert any(name.startswith("ledger:") for name in body["pending_migrations"])


def _socket_url(url: str, socket_directory: str) -> str:
    """The same database reached through PostgreSQL's Unix socket in `socket_directory`."""
    database_name = urlsplit(url).path.lstrip("/")
    return f"postgresql://postgres@/{database_name}?host={socket_directory}"


@pytest.mark.postgres_only
async def test_database_url_may_name_the_unix_socket(db: TestDatabase, tmp_path: Path) -> None:
    # A database on the same machine is cheaper to reach through its socket
    # (docs/operations.md): `?host=/dir` in DATABASE_URL is passed to the driver as is.
    found = await db.engine.run_ddl("SHOW unix_socket_directories")
    socket_directory = found[0]["unix_socket_directories"].split(",")[0].strip()
    url = _socket_url(db.url, socket_directory)
    engine = database.engine_from_url(url)
    await database.prepare(engine)
    try:
        peer = await engine.run_ddl("SELECT inet_server_addr() AS address")
    finally:
        await database.release(engine)
    assert [dict(row) for row in peer] == [{"address": None}]  # no address: a Unix socket
    settings = Settings(database_url=url, secret_key="k" * 40, data_dir=str(tmp_path))
    async with running(create_app(settings), follow_redirects=True) as client:
        response = await client.get("/ready")
    assert response.status_code == 200, response.text


async def test_ready_is_503_when_database_unreachable(tmp_path: Path) -> None:
    settings = Settings(
        database_url="postgresql://postgres@127.0.0.1:1/nowhere",
        secret_key="k" * 40,
        data_dir=str(tmp_path),
    )
    async with running(create_app(settings), follow_redirects=True) as client:
        response = await client.get("/ready")
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"


async def test_openapi_document_and_reference_page(client: AppClient) -> None:
    document = await client.get("/schema/openapi.json")
    assert document.status_code == 200
    assert document.json()["openapi"].startswith("3.")
    assert "/health" in document.json()["paths"]
    page = await client.get("/schema")
    assert page.status_code == 200
    assert "GET /health" in page.text
    assert "<script" not in page.text


async def test_home_page_is_html_with_landmarks(client: AppClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    for landmark in ("<header", "<nav", "<main", "<footer", 'href="#main"'):
        assert landmark in response.text


async def test_static_css_is_served(client: AppClient) -> None:
    response = await client.get("/static/css/site.css")
    assert response.status_code == 200
    assert ":focus-visible" in response.text


async def test_malformed_json_is_400_problem(client: AppClient) -> None:
    response = await client.post(
        "/api/test/echo", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] == "malformed_body"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "count": 1}, "name"),
        ({"name": "x" * 21, "count": 1}, "name"),
        ({"name": "Ann", "count": 11}, "count"),
        ({"name": "Ann", "count": "three"}, "count"),
        ({"name": "Ann"}, "count"),
        ({"name": "Ann", "count": 1, "admin": True}, "admin"),
    ],
)
async def test_invalid_fields_are_listed(
    client: AppClient, body: dict[str, object], field: str
) -> None:
    response = await client.post("/api/test/echo", json=body)
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "validation_failed"
    assert problem["status"] == 400
    assert any(field in error["field"] or field in error["message"] for error in problem["errors"])


async def test_valid_body_passes(client: AppClient) -> None:
    response = await client.post("/api/test/echo", json={"name": "Ann", "count": 2})
    assert response.status_code == 201
    assert response.json() == {"name": "Ann", "count": 2}


async def test_unknown_path_is_404_problem(client: AppClient) -> None:
    response = await client.get("/no/such/page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] == "not_found"


async def test_wrong_method_is_405_problem(client: AppClient) -> None:
    response = await client.post("/health")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


async def test_oversized_body_is_413_problem(client: AppClient) -> None:
    payload = b'{"name": "' + b"x" * (REQUEST_BODY_SIZE_MAX_BYTES + 10) + b'", "count": 1}'
    response = await client.post(
        "/api/test/echo", content=payload, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


async def test_unexpected_error_is_500_without_internals(client: AppClient) -> None:
    response = await client.get("/api/test/boom", headers={"x-request-id": "req-12345678"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["code"] == "internal_error"
    assert problem["request_id"] == "req-12345678"
    text = response.text
    for leak in ("Traceback", "SELECT", "password", "service.", "RuntimeError", ".py"):
        assert leak not in text


async def test_security_headers_on_pages_and_errors(client: AppClient) -> None:
    for path in ("/", "/no/such/page", "/health"):
        response = await client.get(path)
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"]
        assert len(response.headers["x-request-id"]) >= 8


async def test_ledger_errors_show_figures_to_the_account_holder_alone() -> None:
    """The same refusal names the figures to the account's holder and no one else."""
    own_account = uuid.uuid4()
    holder = Principal(
        member_id=uuid.uuid4(),
        display_name="Alice",
        community_id=uuid.uuid4(),
        status="active",
        grants=(),
        via="token",
        credential_id=uuid.uuid4(),
        hour_account_id=own_account,
    )

    @get("/spend/{whose:str}", sync_to_thread=False)
    def spend(request: Request[Any, Any, Any], whose: FromPath[str]) -> None:
        if whose == "mine":
            remember_principal(request.scope, holder)
        raise ExceedsFloor(
            account_id=str(own_account), available_minor=-90, floor_minor=-300, amount_minor=300
        )

    throwaway = Litestar(route_handlers=[spend], exception_handlers=exception_handlers())
    async with running(throwaway) as test_client:
        mine = await test_client.get("/spend/mine")
        theirs = await test_client.get("/spend/theirs")
    assert (mine.status_code, theirs.status_code) == (409, 409)
    assert mine.json()["code"] == theirs.json()["code"] == "insufficient_credit"
    assert mine.json()["detail"] == (
        "Not enough credit: you have 3 hours 30 minutes available."
        " You can go down to minus 5 hours."
    )
    assert mine.json()["spendable_minutes"] == 210
    assert theirs.json()["detail"] == (
        "Not enough credit: they do not have enough hours for this right now."
    )
    assert "spendable_minutes" not in theirs.json()
    assert str(own_account) not in theirs.text
    assert mine.headers["content-type"].startswith("application/problem+json")
