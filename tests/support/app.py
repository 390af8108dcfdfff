"""The app in-process, on the test's own event loop.

Everything runs on one loop: the app's lifespan (and so the PostgreSQL
connection pool), the requests (through `httpx.ASGITransport`, so
`asyncio.gather` of requests is truly concurrent) and the test's own direct
reads of the tables and the ledger. There is no portal thread in between.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from litestar import Litestar

from service.app import bind_settings, build_app, construction_key
from service.settings import Settings

BASE_URL = "http://testserver.local"


# Apps built this session, by what their routes depend on (`construction_key`).
_BUILT: dict[tuple[str, bool, bool], Litestar] = {}


def app_for(settings: Settings) -> Litestar:
    """The app for one test: built once a session (registering every route costs about
    0.3 s of CPU, most of a short test), then bound to this test's database and data
    folder. Only the `app` fixture uses it, so no two tests hold it at once; a test
    that needs a second app builds it with `create_app`."""
    key = construction_key(settings)
    app = _BUILT.get(key)
    if app is None:
        app = _BUILT[key] = build_app(settings)
    bind_settings(app, settings)
    return app


class NoRateLimits:
    """A limiter that never limits: set-ups that are not about rate limits sign in a lot."""

    async def hit(self, key: str, *, window_seconds: int) -> tuple[int, int]:
        del key
        return 1, window_seconds

    async def close(self) -> None:
        return None


class AppClient(httpx.AsyncClient):
    """An HTTP client for one in-process app; `app` is the app it talks to."""

    def __init__(
        self,
        app: Litestar,
        *,
        client_address: str = "127.0.0.1",
        follow_redirects: bool = False,
        base_url: str = BASE_URL,
    ) -> None:
        transport = httpx.ASGITransport(app=app, client=(client_address, 40000))
        super().__init__(transport=transport, base_url=base_url, follow_redirects=follow_redirects)
        self.app = app


@asynccontextmanager
async def running(
    app: Litestar, *, follow_redirects: bool = False, base_url: str = BASE_URL
) -> AsyncIterator[AppClient]:
    """The app's lifespan in a task of its own, and a client for it.

    pytest-asyncio sets a fixture up and tears it down in different tasks; the
    lifespan's task group must be entered and left in one.
    """
    ready: asyncio.Future[AppClient] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def keep_running() -> None:
        try:
            async with (
                app.lifespan(),
                AppClient(app, follow_redirects=follow_redirects, base_url=base_url) as client,
            ):
                ready.set_result(client)
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
        await keeper


@asynccontextmanager
async def client_at(app: Litestar, address: str) -> AsyncIterator[AppClient]:
    """A client whose requests come from `address` (rate limits count per address)."""
    async with AppClient(app, client_address=address) as client:
        yield client
