"""`timebank serve` runs one worker per core when Redis shares the rate limits (ADR 0024).

Two app instances (two workers' worth of state) count one sign-in window
through real Redis; a real two-worker server on each engine moves every gift
exactly once and leaves the ledger clean.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from service.cli import (
    SERVE_ADDRESS_UNAVAILABLE_EXIT,
    SERVE_LISTENING_LINE,
    SERVE_WORKER_HEALTHCHECK_SECONDS,
    SERVE_WORKERS_MAX,
    ServeError,
    cores_available,
    serve_workers,
    server_options,
)
from service.serving import AddressUnavailableError, refuse_if_listened_on, reuse_port_socket
from service.settings import Settings
from tests.conftest import TestDatabase
from tests.performance.conftest import (
    PASSWORD,
    REDIS_URL,
    Served,
    connection_owners,
    created,
    listening_sockets,
    server_env,
    serving,
)
from tests.support.server import ROOT

GIFTS = 40
GIFT_CLIENTS = 8
# Connections opened at once, as a proxy's pool or a load client opens them: with one
# shared socket most landed on one worker (30 of 32 was typical, ADR 0066).
SPREAD_CONNECTIONS = 32
# Below this share a worker would be left idle: with the kernel's hash spreading 32
# connections over two sockets, fewer than 4 on one has odds of about one in 400,000.
SPREAD_CONNECTIONS_PER_WORKER_MIN = 4
# A second server on a served port must give up at once; this long means it is serving.
SECOND_SERVER_SECONDS_MAX = 60
WELCOME_MINUTES = 600


def _settings(redis_url: str | None) -> Settings:
    return Settings(
        database_url="sqlite:///unused.sqlite3", secret_key="k" * 40, redis_url=redis_url
    )


def test_one_worker_per_core_with_redis() -> None:
    assert serve_workers(None, _settings(REDIS_URL)) == cores_available()
    assert serve_workers(3, _settings(REDIS_URL)) == 3


def test_one_worker_without_redis_and_no_more_on_request() -> None:
    assert serve_workers(None, _settings(None)) == 1
    assert serve_workers(1, _settings(None)) == 1
    with pytest.raises(ServeError, match="REDIS_URL"):
        serve_workers(2, _settings(None))


@pytest.mark.parametrize("workers", [0, -1, SERVE_WORKERS_MAX + 1])
def test_worker_counts_out_of_range_are_refused(workers: int) -> None:
    with pytest.raises(ServeError, match="--workers"):
        serve_workers(workers, _settings(REDIS_URL))


def test_serve_asks_uvicorn_for_uvloop_httptools_and_the_peers_own_address() -> None:
    # The event loop and parser the benchmarks measure (ADRs 0063, 0065); the live
    # two-worker test below then moves its gifts on them.
    options = server_options("127.0.0.1", 8000, 2)
    assert (options["loop"], options["http"]) == ("uvloop", "httptools")
    assert (options["host"], options["port"], options["workers"]) == ("127.0.0.1", 8000, 2)
    assert (options["app"], options["factory"]) == ("service.app:create_app_from_env", True)
    # A proxy's X-Forwarded-For must not stand in for the peer (rate limits count by it).
    assert options["proxy_headers"] is False
    # A worker still starting on a busy machine is not taken for a hung one (ADR 0066).
    assert options["timeout_worker_healthcheck"] == SERVE_WORKER_HEALTHCHECK_SECONDS >= 30


def test_serve_refuses_two_workers_without_redis(tmp_path: Path) -> None:
    env = server_env(f"sqlite:///{tmp_path}/x.sqlite3", tmp_path / "data")
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve", "--workers", "2", "--port", "9"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "REDIS_URL" in result.stderr


async def _provision(served: Served) -> tuple[dict[str, str], dict[str, str], str]:
    """An admin, a community with a welcome credit, and two members with tokens."""
    admin_email = f"admin.{uuid.uuid4().hex[:8]}@example.org"
    made = served.cli("create-admin", "--email", admin_email, "--name", "Admin")
    assert made.returncode == 0, made.stderr
    admin = await _token(served, admin_email)
    slug = f"town-{uuid.uuid4().hex[:8]}"
    async with served.client() as client:
        created(
            await client.post(
                "/api/v1/admin/areas", headers=admin, json={"name": slug, "slug": slug}
            )
        )
        created(
            await client.post(
                "/api/v1/admin/communities",
                headers=admin,
                json={
                    "name": slug.title(),
                    "slug": slug,
                    "area": slug,
                    "requires_approval": False,
                    "welcome_credit_minutes": WELCOME_MINUTES,
                },
            )
        )
    giver, receiver = [await _member(served, slug, name) for name in ("giver", "receiver")]
    receiver_id = created(await _get(served, "/api/v1/me", receiver))["id"]
    return giver, receiver, receiver_id


async def _member(served: Served, community: str, name: str) -> dict[str, str]:
    email = f"{name}.{uuid.uuid4().hex[:8]}@example.org"
    async with served.client() as client:
        created(
            await client.post(
                "/api/v1/auth/register",
                json={
                    "email": email,
                    "password": PASSWORD,
                    "display_name": name.title(),
                    "community": community,
                },
            )
        )
    return await _token(served, email)


async def _token(served: Served, email: str) -> dict[str, str]:
    async with served.client() as client:
        body = created(
            await client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
        )
    return {"Authorization": f"Bearer {body['token']}"}


async def _get(served: Served, path: str, headers: dict[str, str]) -> httpx.Response:
    async with served.client() as client:
        return await client.get(path, headers=headers)


async def _gifts(served: Served, giver: dict[str, str], receiver_id: str) -> list[int]:
    keys = [str(uuid.uuid4()) for _ in range(GIFTS)]
    # Every key is sent twice: a replay must not move the minute again.
    work = keys + keys

    async def one_client(share: list[str]) -> list[int]:
        statuses = []
        async with served.client() as client:
            for key in share:
                response = await client.post(
                    "/api/v1/transfers",
                    headers={**giver, "Idempotency-Key": key},
                    json={"to_member_id": receiver_id, "minutes": 1},
                )
                statuses.append(response.status_code)
        return statuses

    shares = [work[n::GIFT_CLIENTS] for n in range(GIFT_CLIENTS)]
    return [s for statuses in await asyncio.gather(*map(one_client, shares)) for s in statuses]


@pytest.mark.parametrize("shared", [False, True], ids=["plain", "reuse-port"])
def test_an_address_something_listens_on_is_refused(shared: bool) -> None:
    # With SO_REUSEPORT a second server would otherwise bind beside the first one.
    listener = reuse_port_socket("127.0.0.1", 0) if shared else socket.socket()
    with listener:
        if not shared:
            listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(AddressUnavailableError, match=f"cannot listen on 127.0.0.1:{port}"):
            refuse_if_listened_on("127.0.0.1", port)
    refuse_if_listened_on("127.0.0.1", port)  # closed: free again


def _second_server_on(served: Served) -> tuple[int, str, str]:
    """`timebank serve` on a port already served: its exit code, stdout and stderr.

    Run in a session of its own, so that if it does start (the failure this looks for)
    its workers are stopped with it when the wait runs out.
    """
    command = ["serve", "--workers", "2", "--port", str(served.port)]
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", *command],
        cwd=ROOT,
        env=served.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=SECOND_SERVER_SECONDS_MAX)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        return -1, stdout, "still serving after the wait: " + stderr
    return process.returncode, stdout, stderr


def _open_answered_connections(port: int, count: int) -> list[socket.socket]:
    """`count` keep-alive connections opened together, each answered once (so accepted)."""
    connections = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(count)]
    request = f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    for connection in connections:
        connection.sendall(request)
    for connection in connections:
        assert connection.recv(12).startswith(b"HTTP/1.1 "), "no answer"
    return connections


def _assert_workers_share_connections(served: Served, workers: int) -> None:
    assert listening_sockets(served.port, at_least=workers) == workers  # one socket each
    connections = _open_answered_connections(served.port, SPREAD_CONNECTIONS)
    try:
        owners = connection_owners(served.port)
    finally:
        for connection in connections:
            connection.close()
    assert sum(owners.values()) == SPREAD_CONNECTIONS, owners
    assert len(owners) == workers, owners
    assert min(owners.values()) >= SPREAD_CONNECTIONS_PER_WORKER_MIN, owners


async def test_two_workers_share_connections_and_move_every_gift_once(
    db: TestDatabase, tmp_path: Path
) -> None:
    with serving(db, tmp_path, "--workers", "2", REDIS_URL=REDIS_URL) as served:
        _assert_workers_share_connections(served, workers=2)
        code, stdout, stderr = _second_server_on(served)
        assert code == SERVE_ADDRESS_UNAVAILABLE_EXIT, stderr
        assert f"cannot listen on 127.0.0.1:{served.port}" in stderr
        assert SERVE_LISTENING_LINE not in stdout
        giver, receiver, receiver_id = await _provision(served)
        statuses = await _gifts(served, giver, receiver_id)
        giver_account = created(await _get(served, "/api/v1/accounts/me", giver))
        receiver_account = created(await _get(served, "/api/v1/accounts/me", receiver))
        verified = served.cli("ledger", "verify")

    assert sorted(set(statuses)) == [201], statuses
    assert giver_account["balance_minutes"] == WELCOME_MINUTES - GIFTS
    assert receiver_account["balance_minutes"] == WELCOME_MINUTES + GIFTS
    assert verified.returncode == 0, verified.stdout + verified.stderr
