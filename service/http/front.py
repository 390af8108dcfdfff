"""The lanes' front: the app's per-request layers done once, inline, for the requests a
lane may answer (ADR 0071).

Every request passes through six layers of the app's own before Litestar sees it
(service/app.py): the request id and its log line, the language, the security headers,
the body limit, caller changes and the acting audit. Each is an ASGI call and most wrap
`send` in a closure of their own. A lane's request needs only part of what they do, and
what it needs is done here in one call and one `send` wrapper, with the same functions
the layers use, so the answer is the same (docs/performance.md: most of the layers' cost
is that work itself, the access log line above all, so this saves little CPU, but all of
it on the two requests sent most):

- the request id (the caller's when sane), on the answer and on every log line, and the
  access log line at the end (service/observability.py);
- the language negotiated from the cookie and Accept-Language (the member's stored
  choice then wins, as in the route: service/http/lanes.py);
- the security headers (service/http/security.py);
- the caller-change bump before the answer starts (service/http/principal_cache.py).

The other two are not needed: a lane takes a request only when its body is within the
limit as declared (service/http/lanes.py), and never one made while acting for a member,
the only requests the audit records. What a lane declines it hands to those two layers
and Litestar, still inside this front's work. A request no lane may take (another
method or path, or its lane switched off) goes to the full stack of six untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from service.http.lanes import Lane
from service.http.language import request_language
from service.http.principal_cache import (
    PrincipalCache,
    settle_principal_changes,
    stop_watching_principal_changes,
    watch_principal_changes,
)
from service.http.security import secure_start, security_header_pairs
from service.i18n import use_language
from service.observability import begin_request, end_request, stamp_request_id

# The status logged when no answer started (the client went away, or a crash).
_NO_ANSWER_STATUS = 500


class LaneFront:
    """An ASGI app: each lane's requests answered through it with the per-request work
    done inline, everything else through `stack` (the app's six layers around Litestar)."""

    __slots__ = ("_cache_of", "_lanes", "_security_headers", "_stack")

    def __init__(
        self,
        lanes: Iterable[Lane],
        stack: ASGIApp,
        *,
        https: bool,
        cache_of: Callable[[], PrincipalCache[Any]],
    ) -> None:
        self._lanes = {(lane.method, lane.path): lane for lane in lanes}
        self._stack = stack
        self._security_headers = security_header_pairs(https=https)
        self._cache_of = cache_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = None
        if scope["type"] == ScopeType.HTTP:
            lane = self._lanes.get((scope["method"], scope["path"]))
        if lane is None or not lane.taking:
            await self._stack(scope, receive, send)
            return
        await self._through(lane, scope, receive, send)

    async def _through(self, lane: Lane, scope: Scope, receive: Receive, send: Send) -> None:
        """What the six layers do for a request, in their order, around `lane`."""
        request_id, request_token, started = begin_request(scope)
        changes, changes_token = watch_principal_changes()
        status = _NO_ANSWER_STATUS
        security_headers = self._security_headers
        cache_of = self._cache_of

        async def send_answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if changes.changed:
                    await settle_principal_changes(changes, cache_of())
                secure_start(message, security_headers)
                stamp_request_id(message, request_id)
            await send(message)

        try:
            with use_language(request_language(scope)):
                await lane(scope, receive, send_answer)
        finally:
            stop_watching_principal_changes(changes_token)
            end_request(scope, status=status, started=started, token=request_token)


__all__ = ["LaneFront"]
