"""The application factory: plugins, routers, lifespan and error mapping."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from ledger import Ledger
from service import database
from service.admin.controllers import ROUTERS as ADMIN_ROUTERS
from service.admin.pages import PAGE_ROUTERS as ADMIN_PAGES
from service.apidocs import ReferenceRenderPlugin
from service.deps import SHARED_DEPENDENCIES
from service.disputes.controllers import ROUTERS as DISPUTE_ROUTERS
from service.disputes.pages import PAGE_ROUTERS as DISPUTE_PAGES
from service.donations.controllers import ROUTERS as DONATION_ROUTERS
from service.donations.controllers import stripe_lifespan
from service.donations.pages import PAGE_ROUTERS as DONATION_PAGES
from service.health import HealthController
from service.json_bodies import json_bodies_only
from service.limits import CSRF_COOKIE_NAME, CSRF_HEADER_NAME
from service.mail.controllers import ROUTERS as MAIL_ROUTERS
from service.mail.pages import PAGE_ROUTERS as MAIL_PAGES
from service.mail.worker import mail_worker_lifespan
from service.market.exchange_controllers import ROUTERS as EXCHANGE_ROUTERS
from service.market.exchange_controllers import exchange_expiry_lifespan
from service.market.exchange_pages import PAGE_ROUTERS as EXCHANGE_PAGES
from service.market.listing_controllers import ROUTERS as LISTING_ROUTERS
from service.market.listing_pages import PAGE_ROUTERS as LISTING_PAGES
from service.market.transfer_controllers import TransferController
from service.members import passwords
from service.members.controllers import ROUTERS as MEMBER_ROUTERS
from service.members.pages import PAGE_ROUTERS as MEMBER_PAGES
from service.observability import configure_logging, request_context_middleware
from service.pages import PublicPages
from service.ratelimit import rate_limiter_for
from service.recovery.controllers import ROUTERS as RECOVERY_ROUTERS
from service.recovery.pages import PAGE_ROUTERS as RECOVERY_PAGES
from service.reports.controllers import ROUTERS as REPORT_ROUTERS
from service.reports.pages import PAGE_ROUTERS as REPORT_PAGES
from service.security import security_headers_middleware
from service.settings import Settings
from service.web import app_exception_handlers

PACKAGE_DIR = Path(__file__).resolve().parent
REQUEST_BODY_SIZE_MAX_BYTES = 1_048_576
VERSION = "0.1.0"

logger = logging.getLogger("timebank.app")


def create_app(settings: Settings) -> Litestar:
    """Build the whole service for `settings`. Nothing is read from the environment here."""
    configure_logging(settings.log_level)
    engine = database.engine_from_url(settings.database_url)
    database.activate(engine)
    rate_limiter = rate_limiter_for(settings.redis_url)
    passwords.configure(
        time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib
    )

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        try:
            await database.prepare(engine)
        except OSError:
            # Start anyway: /ready reports 503 until the database answers, and
            # queries open their own connections until a pool can be made.
            logger.exception("database unreachable at start-up")
        try:
            yield
        finally:
            await rate_limiter.close()
            await database.release(engine)

    app = Litestar(
        route_handlers=[
            HealthController,
            PublicPages,
            *MEMBER_ROUTERS,
            *MEMBER_PAGES,
            *EXCHANGE_ROUTERS,
            TransferController,
            *LISTING_ROUTERS,
            *LISTING_PAGES,
            *EXCHANGE_PAGES,
            *DISPUTE_ROUTERS,
            *DISPUTE_PAGES,
            *ADMIN_ROUTERS,
            *ADMIN_PAGES,
            *DONATION_ROUTERS,
            *DONATION_PAGES,
            *REPORT_ROUTERS,
            *REPORT_PAGES,
            *MAIL_ROUTERS,
            *MAIL_PAGES,
            *RECOVERY_ROUTERS,
            *RECOVERY_PAGES,
            create_static_files_router(
                path="/static",
                directories=[PACKAGE_DIR / "static"],
                cache_control=None,
                include_in_schema=False,
            ),
        ],
        lifespan=[lifespan, exchange_expiry_lifespan, stripe_lifespan, mail_worker_lifespan],
        # Problem documents; a browser's unknown address or method gets an HTML page.
        exception_handlers=app_exception_handlers(),
        # Every JSON body, app-wide: 415 unless JSON, strict types (service/json_bodies.py).
        guards=[json_bodies_only],
        dependencies=SHARED_DEPENDENCIES,
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name=CSRF_COOKIE_NAME,
            header_name=CSRF_HEADER_NAME,
            cookie_secure=settings.is_https,
            cookie_samesite="lax",
            # The JSON API checks its own: bearer tokens need none, and session
            # cookies are checked in service/deps.py.
            # /unsubscribe/: signed links that mail programs post to without a cookie.
            exclude=["/api/", "/health", "/ready", "/schema", "/unsubscribe/"],
        ),
        request_max_body_size=REQUEST_BODY_SIZE_MAX_BYTES,
        template_config=TemplateConfig(
            directory=PACKAGE_DIR / "templates", engine=JinjaTemplateEngine
        ),
        openapi_config=OpenAPIConfig(
            title="timebank API",
            version=VERSION,
            path="/schema",
            render_plugins=[
                ReferenceRenderPlugin(path="/"),
                JsonRenderPlugin(path="/openapi.json"),
            ],
        ),
        debug=False,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.ledger = Ledger(engine)
    app.state.rate_limiter = rate_limiter
    # Wrapped outside Litestar's router so that 404s and 405s get them too.
    app.asgi_handler = request_context_middleware(
        security_headers_middleware(app.asgi_handler, https=settings.is_https)
    )
    return app


def create_app_from_env() -> Litestar:
    """Factory for the ASGI server (`granian --factory`): reads the environment once."""
    return create_app(Settings.from_env())
