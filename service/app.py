"""The application factory: plugins, routers, lifespan and error mapping."""

from __future__ import annotations

import gc
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from litestar import Litestar, Router
from litestar.config.csrf import CSRFConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.routes import HTTPRoute
from litestar.template import TemplateConfig

from ledger import Ledger
from service import clock, database
from service.accounts.controllers import ROUTERS as ACCOUNT_ROUTERS
from service.accounts.lane import BALANCE_LANE_STATE, BalanceLane
from service.admin.controllers import ROUTERS as ADMIN_ROUTERS
from service.admin.pages import PAGE_ROUTERS as ADMIN_PAGES
from service.admin.services import account_in_reach
from service.blocks.controllers import ROUTERS as BLOCK_ROUTERS
from service.blocks.pages import PAGE_ROUTERS as BLOCK_PAGES
from service.concerns.controllers import ROUTERS as CONCERN_ROUTERS
from service.concerns.pages import PAGE_ROUTERS as CONCERN_PAGES
from service.concerns.selectors import concern_visible
from service.desk.controllers import ROUTERS as DESK_ROUTERS
from service.desk.pages import PAGE_ROUTERS as DESK_PAGES
from service.desk.settings_pages import PAGE_ROUTERS as COMMUNITY_SETTINGS_PAGES
from service.disputes.controllers import ROUTERS as DISPUTE_ROUTERS
from service.disputes.pages import PAGE_ROUTERS as DISPUTE_PAGES
from service.disputes.selectors import (
    dispute_panel,
    dispute_statuses,
    dispute_visible,
    disputes_awaiting_count,
)
from service.donations.controllers import ROUTERS as DONATION_ROUTERS
from service.donations.deps import stripe_lifespan
from service.donations.pages import PAGE_ROUTERS as DONATION_PAGES
from service.events.common import event_visible
from service.events.controllers import ROUTERS as EVENT_ROUTERS
from service.events.pages import PAGE_ROUTERS as EVENT_PAGES
from service.events.rsvp import events_erase_for_closure
from service.exchanges.closure import exchanges_call_off_for_closure
from service.exchanges.controllers import ROUTERS as EXCHANGE_ROUTERS
from service.exchanges.pages import PAGE_ROUTERS as EXCHANGE_PAGES
from service.exchanges.panels import (
    plug_dispute_panel,
    plug_dispute_statuses,
    plug_thanks_panel,
)
from service.exchanges.record_pages import PAGE_ROUTERS as EXCHANGE_RECORD_PAGES
from service.exchanges.selectors import notice_count_of, visible_view
from service.export.controllers import ROUTERS as EXPORT_ROUTERS
from service.export.pages import PAGE_ROUTERS as EXPORT_PAGES
from service.home.controllers import ROUTERS as HOME_ROUTERS
from service.home.pages import PAGE_ROUTERS as HOME_PAGES
from service.http.access import (
    OBJECT_CHECKERS_STATE,
    Access,
    ObjectChecker,
    access,
    unknown_object_declarations,
)
from service.http.acting import acting_audit_middleware
from service.http.apidocs import ReferenceRenderPlugin
from service.http.body_limit import body_limit_middleware
from service.http.deps import SHARED_DEPENDENCIES
from service.http.front import LaneFront
from service.http.handler_costs import app_before_request, resolve_dependencies_in_turn
from service.http.health import HealthController
from service.http.language import language_middleware
from service.http.principal_cache import principal_cache_for, principal_changes_middleware
from service.http.ratelimit import rate_limiter_for
from service.http.security import security_headers_middleware
from service.i18n import load_catalogs
from service.limits import (
    CSRF_COOKIE_NAME,
    CSRF_HEADER_NAME,
    REQUEST_BODY_SIZE_MAX_BYTES,
    SERVING_GC_YOUNG_THRESHOLD,
)
from service.listings.controllers import ROUTERS as LISTING_ROUTERS
from service.listings.pages import PAGE_ROUTERS as LISTING_PAGES
from service.listings.services import listing_visible
from service.mail.controllers import ROUTERS as MAIL_ROUTERS
from service.mail.pages import PAGE_ROUTERS as MAIL_PAGES
from service.mail.worker import mail_worker_lifespan
from service.members import passwords
from service.members.acting_pages import PAGE_ROUTERS as ACTING_PAGES
from service.members.closure_steps import plug_closure_step
from service.members.communities import community_coordinated
from service.members.community_pages import PAGE_ROUTERS as COMMUNITY_PAGES
from service.members.controllers import ROUTERS as MEMBER_ROUTERS
from service.members.offline_controllers import ROUTERS as OFFLINE_MEMBER_ROUTERS
from service.members.pages import PAGE_ROUTERS as MEMBER_PAGES
from service.members.principals import MemberPrincipalResolver
from service.members.services import member_in_reach
from service.members.sign_in_limits import failure_counter_for
from service.messages.controllers import ROUTERS as MESSAGE_ROUTERS
from service.messages.pages import PAGE_ROUTERS as MESSAGE_PAGES
from service.messages.selectors import conversation_visible, unread_count_of
from service.messages.services import safety_erase_for_closure
from service.neighbours.controllers import ROUTERS as NEIGHBOUR_ROUTERS
from service.neighbours.pages import PAGE_ROUTERS as NEIGHBOUR_PAGES
from service.neighbours.services import neighbours_erase_for_closure, thanks_panel
from service.observability import configure_logging, request_context_middleware
from service.pairing.controllers import ROUTERS as PAIRING_ROUTERS
from service.pairing.pages import PAGE_ROUTERS as PAIRING_PAGES
from service.pairing.pairs import pair_visible, pair_visit_visible
from service.pairing.services import pairs_end_for_closure
from service.paper.controllers import ROUTERS as PAPER_ROUTERS
from service.paper.pages import PAGE_ROUTERS as PAPER_PAGES
from service.principal import PRINCIPAL_RESOLVER_STATE, Principal
from service.recovery.controllers import ROUTERS as RECOVERY_ROUTERS
from service.recovery.invitation_pages import PAGE_ROUTERS as INVITATION_PAGES
from service.recovery.pages import PAGE_ROUTERS as RECOVERY_PAGES
from service.reports.controllers import ROUTERS as REPORT_ROUTERS
from service.reports.impact_pages import PAGE_ROUTERS as IMPACT_PAGES
from service.reports.pages import PAGE_ROUTERS as REPORT_PAGES
from service.reports.source import REPORT_READER_STATE, ReportReader, replica_engine_from_url
from service.settings import Settings
from service.sweeps import exchange_expiry_lifespan
from service.transfers.controllers import TransferController
from service.transfers.lane import GIFT_LANE_STATE, GiftLane
from service.transfers.pages import PAGE_ROUTERS as TRANSFER_PAGES
from service.transfers.services import transfer_visible_to
from service.web.assets import static_file
from service.web.kit import (
    UNREAD_MESSAGES_STATE,
    WAITING_COUNTERS_STATE,
    app_exception_handlers,
    register_template_globals,
)
from service.wellbeing.controllers import ROUTERS as WELLBEING_ROUTERS
from service.wellbeing.pages import PAGE_ROUTERS as WELLBEING_PAGES
from service.wellbeing.services import wellbeing_erase_for_closure

PACKAGE_DIR = Path(__file__).resolve().parent
VERSION = "0.1.0"

logger = logging.getLogger("timebank.app")


def create_app(settings: Settings) -> Litestar:
    """Build the whole service for `settings`. Nothing is read from the environment here."""
    app = build_app(settings)
    bind_settings(app, settings)
    return app


@asynccontextmanager
async def _database_lifespan(app: Litestar) -> AsyncIterator[None]:
    engine = app.state.engine
    try:
        await database.prepare(engine)
    except OSError:
        # Start anyway: /ready reports 503 until the database answers, and
        # queries open their own connections until a pool can be made.
        logger.exception("database unreachable at start-up")
    report_reader: ReportReader = app.state[REPORT_READER_STATE]
    await report_reader.open()
    try:
        yield
    finally:
        await report_reader.close()
        await app.state.rate_limiter.close()
        await app.state.sign_in_failures.close()
        await app.state.principal_cache.close()
        await database.release(engine)


def build_app(settings: Settings) -> Litestar:
    """The routes, guards, middleware and templates: the costly part of making an app
    (registering every handler). It depends only on what `construction_key` names; the rest of
    `settings` goes into the app's state through `bind_settings`, so the tests can build
    an app once and bind it to each test's database (tests/support/app.py)."""
    load_catalogs()  # a broken catalog stops the start, not a page (ADR 0048)
    app = Litestar(
        route_handlers=[
            HealthController,
            *HOME_PAGES,
            *HOME_ROUTERS,
            *ACCOUNT_ROUTERS,
            *EXPORT_ROUTERS,
            *EXPORT_PAGES,
            *MEMBER_ROUTERS,
            *OFFLINE_MEMBER_ROUTERS,
            *MEMBER_PAGES,
            *ACTING_PAGES,
            *COMMUNITY_PAGES,
            *DESK_ROUTERS,
            *DESK_PAGES,
            *EXCHANGE_ROUTERS,
            TransferController,
            *LISTING_ROUTERS,
            *LISTING_PAGES,
            *EXCHANGE_PAGES,
            *EXCHANGE_RECORD_PAGES,
            *TRANSFER_PAGES,
            *DISPUTE_ROUTERS,
            *DISPUTE_PAGES,
            *ADMIN_ROUTERS,
            *ADMIN_PAGES,
            *DONATION_ROUTERS,
            *DONATION_PAGES,
            *REPORT_ROUTERS,
            *REPORT_PAGES,
            *IMPACT_PAGES,
            *MAIL_ROUTERS,
            *MAIL_PAGES,
            *RECOVERY_ROUTERS,
            *RECOVERY_PAGES,
            *PAPER_ROUTERS,
            *PAPER_PAGES,
            *INVITATION_PAGES,
            *COMMUNITY_SETTINGS_PAGES,
            *BLOCK_ROUTERS,
            *BLOCK_PAGES,
            *MESSAGE_ROUTERS,
            *MESSAGE_PAGES,
            *CONCERN_ROUTERS,
            *CONCERN_PAGES,
            *PAIRING_ROUTERS,
            *PAIRING_PAGES,
            *NEIGHBOUR_ROUTERS,
            *NEIGHBOUR_PAGES,
            *EVENT_ROUTERS,
            *EVENT_PAGES,
            *WELLBEING_ROUTERS,
            *WELLBEING_PAGES,
            # The layout's files, fingerprinted; the manifest, worker and offline page.
            Router(
                path="/",
                route_handlers=[static_file],
                include_in_schema=False,
                opt=access(Access.PUBLIC),
            ),
        ],
        lifespan=[
            _database_lifespan,
            exchange_expiry_lifespan,
            stripe_lifespan,
            mail_worker_lifespan,
        ],
        # Problem documents; a browser's unknown address or method gets an HTML page.
        exception_handlers=app_exception_handlers(),
        # Who may call the route and see its object first (service/http/access.py),
        # then the Idempotency-Key header, then every JSON body, app-wide: 415 unless
        # JSON, strict types (service/http/json_bodies.py).
        # The three in turn as the app's before-request hook, not as guards: Litestar
        # copies the handler for each guard (service/http/handler_costs.py, ADR 0054).
        # No layer below the app may set a before-request hook of its own.
        before_request=app_before_request,
        dependencies=SHARED_DEPENDENCIES,
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name=CSRF_COOKIE_NAME,
            header_name=CSRF_HEADER_NAME,
            cookie_secure=settings.is_https,
            cookie_samesite="lax",
            # The JSON API checks its own: bearer tokens need none, and session
            # cookies are checked in service/http/deps.py.
            # /unsubscribe/: signed links that mail programs post to without a cookie.
            exclude=["/api/", "/health", "/ready", "/schema", "/unsubscribe/"],
        ),
        request_max_body_size=REQUEST_BODY_SIZE_MAX_BYTES,
        template_config=TemplateConfig(
            directory=PACKAGE_DIR / "templates",
            engine=JinjaTemplateEngine,
            # Pages link only to what is switched on here (the donate page needs Stripe).
            engine_callback=partial(
                register_template_globals, donations_on=settings.stripe.enabled
            ),
        ),
        openapi_config=OpenAPIConfig(
            title="timebank API",
            version=VERSION,
            openapi_router=Router(
                path="/schema",
                route_handlers=[],
                include_in_schema=False,
                opt=access(Access.PUBLIC),
            ),
            render_plugins=[
                ReferenceRenderPlugin(path="/"),
                JsonRenderPlugin(path="/openapi.json"),
            ],
        ),
        debug=False,
    )
    plug_dispute_panel(dispute_panel)
    plug_dispute_statuses(dispute_statuses)
    plug_closure_step(exchanges_call_off_for_closure)
    plug_closure_step(safety_erase_for_closure)
    plug_closure_step(neighbours_erase_for_closure)
    plug_closure_step(pairs_end_for_closure)
    plug_closure_step(events_erase_for_closure)
    plug_closure_step(wellbeing_erase_for_closure)
    plug_thanks_panel(thanks_panel)
    app.state[WAITING_COUNTERS_STATE] = WAITING_COUNTERS
    app.state[UNREAD_MESSAGES_STATE] = unread_count_of
    app.state[OBJECT_CHECKERS_STATE] = object_checkers(app)
    app.state.construction_key = construction_key(settings)
    _refuse_unknown_objects(app)
    resolve_dependencies_in_turn(app)
    framework = acting_audit_middleware(app.asgi_handler)
    # What a lane declines goes on to the route, inside the lanes' front's per-request work.
    declined = body_limit_middleware(framework)
    app.state[GIFT_LANE_STATE] = gift_lane = GiftLane.around(app, declined)
    app.state[BALANCE_LANE_STATE] = balance_lane = BalanceLane.around(app, declined)
    # Wrapped outside Litestar's router so that 404s and 405s get them too. A layer
    # added here must be added to the lanes' front as well, or be one a lane's request
    # does not need (service/http/front.py, ADR 0071).
    stack = request_context_middleware(
        # The request's language, first, so every answer (a 404 too) is in it (ADR 0048).
        language_middleware(
            security_headers_middleware(
                # Outermost of Litestar: an oversized body never reaches it (http/body_limit.py).
                # Inside it, a request that changed a caller moves the principal version
                # before it answers (ADR 0043). Inside that, requests made while acting
                # for a member are audited (ADR 0031).
                body_limit_middleware(
                    principal_changes_middleware(framework, lambda: app.state.principal_cache)
                ),
                https=settings.is_https,
            )
        )
    )
    # Members' own balance reads and keyed gifts are answered without the framework's
    # per-request work (ADRs 0062, 0058), and without these layers' (ADR 0071): the
    # front does what they do for those requests inline.
    app.asgi_handler = LaneFront(
        (gift_lane, balance_lane),
        stack,
        https=settings.is_https,
        cache_of=lambda: app.state.principal_cache,
    )
    return app


# What `build_app` reads of the settings: an app built for one value of these cannot
# serve another (the CSRF secret and cookie, the security headers, the donate link).
def construction_key(settings: Settings) -> tuple[str, bool, bool]:
    return (settings.secret_key, settings.is_https, settings.stripe.enabled)


def bind_settings(app: Litestar, settings: Settings) -> None:
    """Point a built app at `settings`: its database, ledger, limiters, logging and
    password cost, caller cache. Everything here is per process or per database, nothing
    is a route."""
    if construction_key(settings) != app.state.construction_key:
        raise ValueError("this app was built for other settings: build another")
    configure_logging(settings.log_level)
    clock.use_time_zone(settings.time_zone)
    passwords.configure(
        time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib
    )
    engine = database.engine_from_url(settings.database_url)
    database.activate(engine)
    app.state.settings = settings
    app.state.engine = engine
    app.state.ledger = Ledger(engine)
    # The flows reports' read replica, when there is one (ADR 0047).
    app.state[REPORT_READER_STATE] = ReportReader(
        engine,
        replica_engine_from_url(settings.database_replica_url),
        lag_seconds_max=settings.replica_lag_seconds_max,
    )
    app.state.rate_limiter = rate_limiter_for(settings.redis_url)
    app.state.sign_in_failures = failure_counter_for(settings.redis_url)
    # The caller cache is shared with Redis when there is one (ADR 0043).
    app.state.principal_cache = cache = principal_cache_for(settings.redis_url)
    app.state[PRINCIPAL_RESOLVER_STATE] = MemberPrincipalResolver(cache)


def object_checkers(app: Litestar) -> dict[str, ObjectChecker]:
    """Who may see which object, by the kind a route names with `on_object` (ADR 0025).

    Each raises the feature's own 404, the same one its service raises later. The
    ledger is the app's at the time of asking (`bind_settings` may change it).
    """

    async def transfer(principal: Principal, transfer_id: uuid.UUID) -> None:
        await transfer_visible_to(
            ledger=app.state.ledger, principal=principal, transfer_id=transfer_id
        )

    async def account(principal: Principal, account_id: uuid.UUID) -> None:
        await account_in_reach(ledger=app.state.ledger, actor=principal, account_id=account_id)

    return {
        "exchange": visible_view,
        "dispute": dispute_visible,
        "listing": listing_visible,
        "member": member_in_reach,
        "community": community_coordinated,
        "transfer": transfer,
        "account": account,
        "conversation": conversation_visible,
        "concern": concern_visible,
        "pair": pair_visible,
        "pair_visit": pair_visit_visible,
        "event": event_visible,
    }


def _refuse_unknown_objects(app: Litestar) -> None:
    handlers = [
        handler
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
    ]
    unknown = unknown_object_declarations(handlers, app.state[OBJECT_CHECKERS_STATE])
    if unknown:
        raise RuntimeError(f"routes name objects nobody checks: {', '.join(unknown)}")


async def _exchanges_waiting(principal: Principal) -> int:
    return await notice_count_of(actor=principal)


async def _disputes_waiting(principal: Principal) -> int:
    return await disputes_awaiting_count(actor=principal)


# What the navigation counts as waiting for the viewer ("Exchanges (2)").
WAITING_COUNTERS = (_exchanges_waiting, _disputes_waiting)


def create_app_from_env() -> Litestar:
    """Factory for `timebank serve`'s workers (uvicorn's `factory`): reads the environment
    once.

    Everything made so far (modules, routes, templates: most of a worker's objects, kept
    for its life) is frozen out of the garbage collector's view: a full collection then
    scans only what requests made, instead of pausing every request in flight for the
    whole heap (ADR 0055). Only a serving worker does this; tests build apps by the
    hundred and must not keep each one's garbage for good.

    The youngest generation is then collected only after `SERVING_GC_YOUNG_THRESHOLD`
    more container objects live than did (ADR 0069): a request's objects are freed by
    their reference counts long before that, so the collector stops walking the
    requests in flight about a hundred times a second.
    """
    app = create_app(Settings.from_env())
    gc.collect()
    gc.freeze()
    _middle, _oldest = gc.get_threshold()[1:]
    gc.set_threshold(SERVING_GC_YOUNG_THRESHOLD, _middle, _oldest)
    return app
