"""Litestar's per-request work that buys nothing here is taken off (ADR 0054)."""

from __future__ import annotations

from litestar import Litestar
from litestar.routes import HTTPRoute

from service.http.handler_costs import app_guards


def test_the_app_wide_guards_run_as_one(app: Litestar) -> None:
    # Litestar copies the route handler once per guard, on every request.
    assert app.guards == [app_guards]


def test_every_route_resolves_its_dependencies_one_at_a_time(app: Litestar) -> None:
    batch_sizes = {
        (route.path, method): [len(batch) for batch in kwargs_model.dependency_batches]
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for method, (_handler, kwargs_model) in route.route_handler_map.items()
    }
    # The gift route takes the caller and the ledger: two at one level, which
    # Litestar would resolve in a task group of their own.
    assert batch_sizes[("/api/v1/transfers", "POST")] == [1, 1, 1]
    crowded = {key: sizes for key, sizes in batch_sizes.items() if any(n > 1 for n in sizes)}
    assert crowded == {}
