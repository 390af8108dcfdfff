"""Strict JSON request bodies, for every JSON handler of the app at once.

`json_bodies_only` is the last of the app-wide checks (service/http/handler_costs.py). It
acts on handlers whose `data` parameter is a JSON body; form pages (their
`data` is URL-encoded) and handlers without a body pass untouched.

Left to itself Litestar reads any content type as JSON, coerces "60" into 60,
and answers 500 when deeply nested arrays overflow its untyped decoder. This
guard answers 415 unless the body is sent as application/json, then decodes it
strictly against the handler's own type: msgspec stops at the first wrong
token, so a wrong type is a 400 problem naming the field and nesting never
gets deep enough to matter. Nothing reaches the handler, so nothing is written.

A handler that must read its raw body with another content type (Stripe's
signed webhook: the signature covers the exact bytes) opts out with
`opt={RAW_BODY_OPT_KEY: True}` on the handler or its controller.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar, cast

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.handlers.base import BaseRouteHandler

from service.i18n import _
from service.problems import Problem
from service.text import UNSAFE_TEXT_MESSAGE, unsafe_text_path

JSON_MEDIA_TYPE = "application/json"
# Handler (or controller) opt key: True means "this handler reads its own raw body".
RAW_BODY_OPT_KEY = "raw_body"
# Set in the request's scope state once the body was checked: the guard may be
# listed on a controller too, and then runs twice; the second time is free.
_CHECKED_STATE_KEY = "json_body_checked"
T = TypeVar("T")
_NAMED_FIELD = re.compile(r"(?:unknown|missing required) field `([^`]+)`")


def _json_body_type(handler: BaseRouteHandler) -> Any | None:
    """The type a handler's JSON body decodes to, or None if it takes no JSON body."""
    if handler.opt.get(RAW_BODY_OPT_KEY):
        return None
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return None
    media_type = getattr(data.kwarg_definition, "media_type", RequestEncodingType.JSON)
    if media_type != RequestEncodingType.JSON:
        return None
    return data.annotation


async def json_bodies_only(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard: a JSON handler's body must be JSON, and is decoded strictly against its type.

    The body is cached on the request, so Litestar does not read it twice.
    """
    body_type = _json_body_type(handler)
    if body_type is None or connection.scope.get("state", {}).get(_CHECKED_STATE_KEY):
        return
    media_type = connection.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != JSON_MEDIA_TYPE:
        raise Problem(
            status=415,
            code="unsupported_media_type",
            detail=_("Send the body as JSON, with the header Content-Type: application/json."),
        )
    body = await cast("Request[Any, Any, Any]", connection).body()
    strict_json_body(body, body_type)
    connection.scope.setdefault("state", {})[_CHECKED_STATE_KEY] = True


def strict_json_body(body: bytes, body_type: type[T]) -> T:
    """`body` decoded strictly as `body_type`, with no unsafe text anywhere in it; else the
    400 Problem the app-wide check answers (the gift lane declines on it, ADR 0058)."""
    try:
        _refuse_unsafe_text(msgspec.json.decode(body))
        return msgspec.json.decode(body, type=body_type)
    except msgspec.ValidationError as error:
        raise Problem(
            status=400,
            code="validation_failed",
            detail=_("Some fields are missing or not valid."),
            extra={"errors": [_body_error(str(error))]},
        ) from None
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        raise Problem(
            status=400, code="malformed_body", detail=_("The request body is not valid JSON.")
        ) from None


def _refuse_unsafe_text(decoded: object) -> None:
    field = unsafe_text_path(decoded)
    if field is not None:
        raise Problem(
            status=400,
            code="validation_failed",
            detail=_("Some fields are missing or not valid."),
            extra={
                "errors": [{"field": field, "source": "body", "message": _(UNSAFE_TEXT_MESSAGE)}]
            },
        )


def _body_error(message: str) -> dict[str, str]:
    """msgspec's "Expected `int`, got `str` - at `$.birth_year`" as {field, source, message}."""
    text, _sep, where = message.partition(" - at `$")
    field = where.rstrip("`").lstrip(".")
    named = _NAMED_FIELD.search(text)
    if named:
        field = f"{field}.{named.group(1)}" if field else named.group(1)
    return {"field": field or "body", "source": "body", "message": text}


__all__ = ["RAW_BODY_OPT_KEY", "json_bodies_only", "strict_json_body"]
