"""Litestar's per-request work that buys nothing here is taken off (ADR 0054)."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from service.app import create_app_from_env
from service.http.handler_costs import app_before_request
from service.limits import SERVING_GC_YOUNG_THRESHOLD


def test_the_app_wide_checks_run_as_one_hook_on_every_route(app: Litestar) -> None:
    # Litestar copies the route handler once per guard, on every request: no guards.
    assert app.guards == []
    hooks = {
        (route.path, method): handler.resolve_before_request()
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for method, (handler, _kwargs_model) in route.route_handler_map.items()
    }
    assert hooks[("/api/v1/transfers", "POST")] is app_before_request
    # A hook set lower down would replace the app's, and with it the access check.
    assert {key: hook for key, hook in hooks.items() if hook is not app_before_request} == {}
    assert not any(
        handler.resolve_guards()
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler, _kwargs_model in route.route_handler_map.values()
    )


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


def test_a_serving_worker_freezes_what_it_made_at_start_up(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # ADR 0055: the app's own objects are out of the collector's view in a worker, so a
    # full collection no longer pauses every request in flight for the whole heap.
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'worker.sqlite3'}")
    monkeypatch.setenv("SECRET_KEY", "worker-start-up-" + "x" * 40)
    monkeypatch.setenv("TIMEBANK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert gc.get_freeze_count() == 0
    thresholds = gc.get_threshold()
    try:
        create_app_from_env()
        assert gc.get_freeze_count() > 0
        # ADR 0069: the youngest generation waits for many more objects; the others keep
        # their thresholds.
        assert gc.get_threshold() == (SERVING_GC_YOUNG_THRESHOLD, *thresholds[1:])
    finally:
        gc.unfreeze()  # this is a test process: let the collector see it all again
        gc.set_threshold(*thresholds)
