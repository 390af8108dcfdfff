"""Pieces shared by the HTTP benchmark (bench/http.py) and the cluster fault test
(tests/cluster/): a minimal keep-alive HTTP/1.1 client, and provisioning of an
admin's community and members with bearer tokens through the public API.

Imported as `bench.loadclient` with the project root on sys.path.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

MEMBERS = 100
WELCOME_MINUTES = 6000  # the most a community may give: room for every gift here
PASSWORD = "bench password that is long enough"  # noqa: S105 - a throwaway test account


# A minimal HTTP/1.1 keep-alive client ---------------------------------------------


class HttpError(RuntimeError):
    pass


class RawConnection:
    """One keep-alive connection; just enough HTTP/1.1 for JSON requests."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self._port)
            sock = self._writer.get_extra_info("socket")
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self._reader, self._writer

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        reader, writer = await self._connect()
        lines = [f"{method} {path} HTTP/1.1", "Host: bench"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body or method == "POST":
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await reader.readuntil(b"\r\n\r\n")
        status, response_headers = _parse_head(head)
        payload = await _read_body(reader, response_headers)
        if response_headers.get("connection", "").lower() == "close":
            await self.close()
        return status, payload

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
        self._reader = self._writer = None


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    first, *rest = head.decode("latin-1").split("\r\n")
    status = int(first.split(" ", 2)[1])
    headers = {}
    for line in rest:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return status, headers


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return b"".join(chunks)
            chunks.append(chunk[:-2])
    raise HttpError(f"response without a length: {headers}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# Provisioning through the public API -----------------------------------------------


@dataclass
class Member:
    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    members: list[Member]
    admin: Member


def _random_loopback() -> str:
    # Rate limits count per client address: each provisioning client gets
    # its own loopback address (all of 127.0.0.0/8 reaches this machine).
    return f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"


@contextlib.asynccontextmanager
async def api_client(port: int) -> Any:
    transport = httpx.AsyncHTTPTransport(local_address=_random_loopback())
    async with httpx.AsyncClient(
        transport=transport, base_url=f"http://127.0.0.1:{port}", timeout=60
    ) as client:
        yield client


def _created(response: httpx.Response) -> dict[str, Any]:
    if response.status_code not in (200, 201):
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
    body: dict[str, Any] = response.json()
    return body


async def sign_in(port: int, email: str) -> Member:
    async with api_client(port) as client:
        body = _created(
            await client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
        )
    return Member(id=str(body["member_id"]), token=str(body["token"]))


async def new_member(port: int, community: str, number: int, run: str) -> Member:
    email = f"m{number}.{run}@bench.example"
    async with api_client(port) as client:
        _created(
            await client.post(
                "/api/v1/auth/register",
                json={
                    "email": email,
                    "password": PASSWORD,
                    "display_name": f"Member {number}",
                    "community": community,
                },
            )
        )
    return await sign_in(port, email)


async def new_listings(port: int, member: Member, category: str, number: int) -> None:
    async with api_client(port) as client:
        for kind, title in (("offer", "Help in the garden"), ("request", "Lifts to the surgery")):
            _created(
                await client.post(
                    "/api/v1/listings",
                    headers=member.headers,
                    json={
                        "kind": kind,
                        "title": f"{title} {number}",
                        "description": "Weekday mornings, any week.",
                        "category": category,
                    },
                )
            )


async def first_category(port: int, admin: Member) -> str:
    async with api_client(port) as client:
        body = (await client.get("/api/v1/categories", headers=admin.headers)).json()
    items = body["items"] if isinstance(body, dict) else body
    return str(items[0]["slug"])


async def provision(
    port: int, admin_email: str, *, members_count: int = MEMBERS, listings: bool = True
) -> World:
    run = uuid.uuid4().hex[:8]
    admin = await sign_in(port, admin_email)
    async with api_client(port) as client:
        _created(
            await client.post(
                "/api/v1/admin/areas",
                headers=admin.headers,
                json={"name": f"Bench {run}", "slug": f"bench-{run}"},
            )
        )
        _created(
            await client.post(
                "/api/v1/admin/communities",
                headers=admin.headers,
                json={
                    "name": f"Benchtown {run}",
                    "slug": f"benchtown-{run}",
                    "area": f"bench-{run}",
                    "requires_approval": False,
                    "welcome_credit_minutes": WELCOME_MINUTES,
                },
            )
        )
    members: list[Member] = []
    for start in range(0, members_count, 10):
        numbers = range(start, min(start + 10, members_count))
        members += await asyncio.gather(
            *(new_member(port, f"benchtown-{run}", n, run) for n in numbers)
        )
    if listings:
        category = await first_category(port, admin)
        for start in range(0, members_count, 10):
            numbers = range(start, min(start + 10, members_count))
            await asyncio.gather(*(new_listings(port, members[n], category, n) for n in numbers))
    return World(members=members, admin=admin)
