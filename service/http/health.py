"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get
from piccolo.engine.base import Engine

from service import database
from service.http.access import Access, access
from service.i18n import _
from service.problems import problem_response


class Health(msgspec.Struct, frozen=True):
    status: str


class Ready(msgspec.Struct, frozen=True):
    status: str
    database: str
    pending_migrations: list[str]


class HealthController(Controller):
    opt = access(Access.PUBLIC)
    tags = ["health"]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/health", summary="The process is alive", sync_to_thread=False)
    def health(self) -> Health:
        return Health(status="ok")

    @get("/ready", summary="The database is reachable and fully migrated (else 503)")
    async def ready(self, request: Request[Any, Any, Any]) -> Response[Any]:
        engine: Engine[Any] = request.app.state.engine
        try:
            await engine.run_ddl("SELECT 1")
            pending = await database.pending_migrations(engine)
        except Exception:  # noqa: BLE001 - any failure to reach the database means not ready
            return problem_response(
                request,
                status=503,
                code="database_unavailable",
                detail=_("The database cannot be reached."),
            )
        if pending:
            return problem_response(
                request,
                status=503,
                code="migrations_pending",
                detail=_("The database is not fully migrated: run `timebank migrate`."),
                extra={"pending_migrations": pending},
            )
        return Response(Ready(status="ready", database="ok", pending_migrations=[]))
