"""Who is at the other end of the connection, as far as the HTTP layer can tell."""

from __future__ import annotations

from typing import Any

from litestar import Request


def client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"
