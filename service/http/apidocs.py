"""A readable API reference at /schema, rendered on the server.

The usual viewers (Swagger UI, Redoc, Scalar) load scripts from a CDN and
need inline script, which our Content-Security-Policy forbids and offline
installations cannot fetch. This page needs neither: it lists every operation
with its parameters, body and responses, and links to the OpenAPI document.
"""

from __future__ import annotations

import html
from typing import Any

from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


class ReferenceRenderPlugin(OpenAPIRenderPlugin):
    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema.get("info", {}).get("title", "API")))
        json_url = html.escape(self.get_openapi_json_route(request))
        sections = [
            _operation_html(path, method, operation)
            for path, item in sorted(openapi_schema.get("paths", {}).items())
            for method, operation in item.items()
            if method in HTTP_METHODS
        ]
        page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} reference</title>
<link rel="stylesheet" href="/static/css/site.css"></head>
<body><a class="skip-link" href="#main">Skip to content</a>
<header class="site-header"><p class="brand"><a href="/">timebank</a></p></header>
<main id="main" class="container"><h1>{title} reference</h1>
<p>The machine-readable description is at <a href="{json_url}">{json_url}</a>.</p>
{"".join(sections)}</main></body></html>"""
        return page.encode()


def _operation_html(path: str, method: str, operation: dict[str, Any]) -> str:
    summary = html.escape(str(operation.get("summary") or ""))
    params = "".join(
        f"<li><code>{html.escape(str(p.get('name')))}</code> in {html.escape(str(p.get('in')))}"
        f"{' (required)' if p.get('required') else ''}</li>"
        for p in operation.get("parameters", [])
    )
    responses = ", ".join(html.escape(str(code)) for code in operation.get("responses", {}))
    has_body = "requestBody" in operation
    return (
        f'<section class="card"><h2><code>{method.upper()} {html.escape(path)}</code></h2>'
        f"<p>{summary}</p>"
        + (f"<h3>Parameters</h3><ul>{params}</ul>" if params else "")
        + ("<p>Takes a JSON body.</p>" if has_body else "")
        + f"<p>Responses: {responses}</p></section>"
    )
