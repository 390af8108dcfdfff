"""The Stripe client of a running app and the dependencies that hand it to handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from service.donations.gateway import StripeGateway
from service.settings import Settings

GATEWAY_STATE_KEY = "stripe_gateway"


@asynccontextmanager
async def stripe_lifespan(app: Litestar) -> AsyncIterator[None]:
    """One Stripe client per running app, when donations are set up; closed at shutdown."""
    settings: Settings = app.state.settings
    gateway = StripeGateway(settings.stripe) if settings.stripe.enabled else None
    app.state[GATEWAY_STATE_KEY] = gateway
    try:
        yield
    finally:
        if gateway is not None:
            await gateway.close()


def provide_gateway(state: State) -> StripeGateway | None:
    gateway: StripeGateway | None = state.get(GATEWAY_STATE_KEY)
    return gateway


def settings_of(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


GATEWAY_DEPENDENCIES = {"gateway": Provide(provide_gateway, sync_to_thread=False)}


GatewayDep = NamedDependency[StripeGateway | None]
