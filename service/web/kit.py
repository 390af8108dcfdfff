"""Shared machinery of the HTML pages: who is looking, forms and their errors, error pages.

Pages never answer with a JSON problem. A service `Problem` about what was typed
is shown on the form, next to the field it concerns; any other becomes an HTML
error page in the site's layout with the same status, and "not signed in"
becomes a redirect to the sign-in page that comes back afterwards.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypedDict
from urllib.parse import urlencode, urlsplit

import msgspec
from litestar import Controller, Request, Response
from litestar.di import NamedDependency, Provide
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.types import ExceptionHandlersMap

from ledger import LedgerError
from service.errors import (
    Conflict,
    DomainError,
    Invalid,
    NotSignedIn,
    TooManyAttempts,
)
from service.formatting import (
    clock_words,
    date_words,
    day_month_words,
    history_note_words,
    iso_day,
    minutes_text,
    moment_words,
    money_text,
    signed_minutes_text,
)
from service.i18n import N_, _, install_in, set_language
from service.principal import Principal, remembered_principal
from service.problems import (
    PROBLEM_MEDIA_TYPE,
    Problem,
    exception_handlers,
    headers_of,
    http_problem,
    status_of,
    status_title,
)
from service.text import UNSAFE_TEXT_MESSAGE, is_unsafe_text
from service.web.assets import asset_url

logger = logging.getLogger("timebank.pages")

# Features that have things waiting for the viewer (exchanges to accept, disputes to
# answer) register a counter in the app's state; the kit sums them for the navigation
# without importing any feature.
WAITING_COUNTERS_STATE = "waiting_counters"
WaitingCounter = Callable[[Principal], Awaitable[int]]
# The messages feature registers its unread counter here too ("Messages (2 unread)").
UNREAD_MESSAGES_STATE = "unread_messages_counter"

SIGN_IN_PATH = "/sign-in"
AFTER_SIGN_IN_PATH = "/dashboard"
NEXT_CHARS_MAX = 500

# A domain error of one of these kinds (or codes) is about the input: the form
# shows it. Any other (Forbidden for a wrong role, NotFound out of scope) is an
# error page.
FORM_ERROR_KINDS: tuple[type[DomainError], ...] = (
    NotSignedIn,
    Conflict,
    Invalid,
    TooManyAttempts,
)
FORM_PROBLEM_CODES = frozenset({"account_suspended", "blocked"})
FORM_INVALID_STATUS = 422
# Addresses for programs: their errors stay problem documents whatever Accept says.
MACHINE_PATHS = ("/api", "/schema", "/health", "/ready")
HTML_MEDIA_TYPE = "text/html"


# Who is looking ---------------------------------------------------------------------


class SignInRequiredError(Exception):
    """Raised by `provide_viewer` for an anonymous caller; answered with a redirect."""

    def __init__(self, next_path: str | None) -> None:
        super().__init__("sign-in required")
        self.next_path = next_path


def _request_path(request: Request[Any, Any, Any]) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def provide_viewer(
    request: Request[Any, Any, Any], principal: NamedDependency[Principal | None]
) -> Principal:
    """The signed-in member looking at a page; anonymous callers are sent to sign in."""
    if principal is None:
        # Only a GET can be repeated after signing in; a form post starts again.
        raise SignInRequiredError(_request_path(request) if request.method == "GET" else None)
    request.state.viewer = principal  # error pages keep the signed-in navigation
    # The navigation shows how many exchanges wait for the viewer ("Exchanges (2)").
    counters: Sequence[WaitingCounter] = request.app.state.get(WAITING_COUNTERS_STATE, ())
    request.state.notice_count = sum([await count(principal) for count in counters])
    unread: WaitingCounter | None = request.app.state.get(UNREAD_MESSAGES_STATE)
    request.state.unread_messages = await unread(principal) if unread else 0
    return principal


PAGE_DEPENDENCIES = {"viewer": Provide(provide_viewer)}
Viewer = NamedDependency[Principal]


def safe_next(value: str | None) -> str:
    """A local path to return to after signing in; anything else goes to the dashboard."""
    if not value or len(value) > NEXT_CHARS_MAX or not value.startswith("/"):
        return AFTER_SIGN_IN_PATH
    if value.startswith("//") or "\\" in value or any(ord(char) < 0x20 for char in value):  # noqa: PLR2004
        return AFTER_SIGN_IN_PATH
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return AFTER_SIGN_IN_PATH
    return value


def sign_in_url(next_path: str | None) -> str:
    return SIGN_IN_PATH + (f"?{urlencode({'next': next_path})}" if next_path else "")


# Rendering ---------------------------------------------------------------------------


def render(
    template_name: str,
    *,
    viewer: Principal | None,
    title: str,
    status: int = 200,
    current: str | None = None,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> Template:
    """A page in the site's layout. `current` marks the navigation link of this page."""
    if viewer is not None and viewer.language is not None:
        # On public pages the caller may be resolved in a dependency, whose language
        # does not reach the handler; the template is still in the viewer's (ADR 0048).
        set_language(viewer.language)
    return Template(
        template_name=template_name,
        status_code=status,
        headers=dict(headers or {}),
        # `_` again: a title may be a constant marked with N_ (ADR 0048).
        context={"page_title": _(title), "viewer": viewer, "current": current, **context},
    )


def translated_options(options: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """(value, text) choices whose texts are constants marked with N_, in the current language."""
    return [(value, _(text)) for value, text in options]


def see_other(path: str, **query: str) -> Redirect:
    """POST-redirect-GET: 303 so the browser follows with a GET."""
    return Redirect(path + (f"?{urlencode(query)}" if query else ""), status_code=303)


# Forms ------------------------------------------------------------------------------


@dataclass
class Form:
    """What was typed, and what is wrong with it, for re-showing a form.

    `errors` maps a field name to its message (shown next to the field and
    linked from the summary); `general` holds messages about the form as a
    whole. `prefix` keeps element ids unique when a page has several forms.
    """

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    prefix: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.general)

    @classmethod
    def of(cls, data: msgspec.Struct, *, prefix: str = "", secret: tuple[str, ...] = ()) -> Form:
        """The typed values of a posted form; `secret` fields (passwords) are never echoed."""
        typed = {
            name: value
            for name, value in msgspec.structs.asdict(data).items()
            if isinstance(value, str)
        }
        # Control characters never reach a service (service/text.py); nor are they echoed.
        errors = {
            name: _(UNSAFE_TEXT_MESSAGE) for name, value in typed.items() if is_unsafe_text(value)
        }
        values = {
            name: value
            for name, value in typed.items()
            if name not in secret and name not in errors
        }
        return cls(values=values, errors=errors, prefix=prefix)


@dataclass(frozen=True, slots=True)
class Rule:
    """How one form field becomes a service value: the schema's type, and what to say if not."""

    kind: Any  # an annotated type from a schemas module, so limits live in one place
    # Marked with N_ and translated when shown; %(name)s placeholders filled from `values`
    # ("in %(chars)s characters or fewer", values={"chars": LISTING_TITLE_CHARS_MAX}).
    message: str
    optional: bool = False  # blank means "not given" (None)
    strip: bool = True
    values: Mapping[str, Any] | None = None

    def text(self) -> str:
        """The message in the current language."""
        return _(self.message) % self.values if self.values else _(self.message)


def schema_type(struct: type[msgspec.Struct], name: str) -> Any:
    """The declared type of a schema field, with its limits (`Meta`), for a form `Rule`."""
    for info in msgspec.structs.fields(struct):
        if info.name == name:
            return info.type
    raise KeyError(f"{struct.__name__} has no field {name!r}")


def validate(form: Form, raw: msgspec.Struct, rules: Mapping[str, Rule]) -> dict[str, Any]:
    """Check every field (not just the first bad one); errors go on `form`."""
    typed = msgspec.structs.asdict(raw)
    cleaned: dict[str, Any] = {}
    for name, rule in rules.items():
        value = str(typed.get(name, ""))
        value = value.strip() if rule.strip else value
        if rule.optional and not value:
            cleaned[name] = None
            continue
        try:
            cleaned[name] = msgspec.convert(value, rule.kind, strict=False)
        except msgspec.ValidationError:
            form.errors.setdefault(name, rule.text())
    return cleaned


def show_problem(
    form: Form,
    problem: DomainError,
    labels: Mapping[str, str],
    *,
    code_fields: Mapping[str, str] | None = None,
) -> None:
    """Put a service error about the input on the form; any other error is raised again.

    Field errors the service names go next to their field ("Birth year: cannot
    be in the future"); an error whose code belongs to one field (`email_taken`)
    goes next to that field; the rest goes in the summary.
    """
    code_fields = code_fields or {}
    about_input = (
        isinstance(problem, FORM_ERROR_KINDS)
        or problem.code in FORM_PROBLEM_CODES
        or problem.code in code_fields
    )
    if not about_input:
        raise problem
    placed = False
    for error in problem.extra_fields.get("errors") or []:
        name = str(error.get("field", ""))
        if name in labels:
            message = _(str(error.get("message") or N_("is not valid")))
            form.errors.setdefault(name, f"{_(labels[name])}: {message}")
            placed = True
    # A conflict about one value names it (`field`), as a code may (`email_taken`).
    target = code_fields.get(problem.code) or str(problem.extra_fields.get("field") or "")
    if not placed and target in labels:
        form.errors.setdefault(str(target), problem.detail)
        placed = True
    if not placed:
        form.general.append(problem.detail)


def move_errors(form: Form, fields: Mapping[str, str]) -> None:
    """Show the errors of service field names by the form fields in `fields`."""
    for source, target in fields.items():
        if source in form.errors:
            message = form.errors.pop(source)
            form.errors.setdefault(target, message)


def problem_status(problem: DomainError) -> tuple[int, dict[str, str]]:
    """Status and headers for a form shown again after a service error."""
    if isinstance(problem, TooManyAttempts):
        return status_of(problem), headers_of(problem)
    return FORM_INVALID_STATUS, {}


class Reshow(TypedDict):
    """Status and headers for showing a form again: `**reshow` into the page function."""

    status: int
    headers: dict[str, str]


def form_refused(
    form: Form,
    problem: DomainError,
    labels: Mapping[str, str],
    *,
    code_fields: Mapping[str, str] | None = None,
    moves: Mapping[str, str] | None = None,
) -> Reshow:
    """The usual `except DomainError` of a form post: `show_problem`, then `problem_status`.

    `moves` maps a service field name to the form field that shows its error
    (`minutes` -> `hours`), where the form asks differently than the service.

    `return await _page(viewer, form, **form_refused(form, problem, LABELS))`
    """
    show_problem(form, problem, labels, code_fields=code_fields)
    move_errors(form, moves or {})
    status, headers = problem_status(problem)
    return Reshow(status=status, headers=headers)


async def form_post(
    form: Form,
    data: msgspec.Struct,
    rules: Mapping[str, Rule],
    labels: Mapping[str, str],
    *,
    write: Callable[[dict[str, Any]], Awaitable[Response[Any]]],
    reshow: Callable[[Form, Reshow], Awaitable[Response[Any]]],
    check: Callable[[Form, dict[str, Any]], None] | None = None,
    code_fields: Mapping[str, str] | None = None,
    moves: Mapping[str, str] | None = None,
) -> Response[Any]:
    """The usual form post, once: check the fields (422 and the form again with their
    messages), then `write` the cleaned values and answer with what it answers (a
    redirect); a refused write shows the form again with the service's reason.

    `reshow(form, status_and_headers)` draws the page; `write` raises domain errors;
    `check(form, cleaned)` adds what needs more than one field (a confirmation box,
    hours and minutes read together) by putting errors on the form.
    `code_fields` and `moves` are as for `form_refused`.
    """
    cleaned = validate(form, data, rules)
    if check is not None:
        check(form, cleaned)
    if form.failed:
        return await reshow(form, Reshow(status=FORM_INVALID_STATUS, headers={}))
    try:
        return await write(cleaned)
    except DomainError as problem:
        refused = form_refused(form, problem, labels, code_fields=code_fields, moves=moves)
        return await reshow(form, refused)


# Error pages ------------------------------------------------------------------------

_TITLES: Mapping[int, str] = {
    400: N_("The form could not be read"),
    403: N_("You cannot open this page"),
    404: N_("Page not found"),
    409: N_("That could not be done"),
    413: N_("Too much was sent"),
    429: N_("Too many attempts"),
}
_DETAILS: Mapping[int, str] = {
    404: N_(
        "There is nothing at this address. Please check it, or start again from the home page."
    ),
    405: N_("This address does not accept that kind of request."),
    413: N_("The form held more than this site accepts."),
}


def error_page(
    request: Request[Any, Any, Any],
    *,
    status: int,
    detail: str,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Template:
    # A guard that refused the page (service/http/access.py) resolved the viewer already.
    viewer: Principal | None = getattr(request.state, "viewer", None) or remembered_principal(
        request.scope
    )
    return render(
        "error.html",
        viewer=viewer,
        # The navigation cannot tell who is looking when the handler never ran.
        viewer_unknown=viewer is None,
        title=title or _TITLES.get(status) or status_title(status),
        status=status,
        headers=headers,
        detail=_(detail),
    )


def _sign_in_redirect(_request: Request[Any, Any, Any], exc: SignInRequiredError) -> Response[Any]:
    return Redirect(sign_in_url(exc.next_path), status_code=303)


def _problem_page(request: Request[Any, Any, Any], exc: Problem) -> Response[Any]:
    if exc.status_code == HTTPStatus.UNAUTHORIZED and request.url.path != SIGN_IN_PATH:
        # Raised by the access guard (service/http/access.py) before the page ran:
        # like `provide_viewer`, only a GET is worth coming back to.
        next_path = _request_path(request) if request.method == "GET" else None
        return Redirect(sign_in_url(next_path), status_code=303)
    return error_page(request, status=exc.status_code, detail=exc.detail, headers=exc.headers)


def _domain_page(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    if isinstance(exc, NotSignedIn) and request.url.path != SIGN_IN_PATH:
        next_path = _request_path(request) if request.method == "GET" else None
        return Redirect(sign_in_url(next_path), status_code=303)
    return error_page(request, status=status_of(exc), detail=exc.detail, headers=headers_of(exc))


def _ledger_page(request: Request[Any, Any, Any], exc: LedgerError) -> Response[Any]:
    sentence = exc.message[:1].upper() + exc.message[1:] + "."
    detail = f"{sentence} {_('Nothing was changed.')}"
    return error_page(request, status=409, detail=detail)


def _bad_form_page(request: Request[Any, Any, Any], _exc: ValidationException) -> Response[Any]:
    return error_page(
        request,
        status=400,
        detail=_("Something in the form could not be read. Please go back and try again."),
    )


def _http_page(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, PermissionDeniedException):
        # On a page, only the CSRF check raises this one (roles raise a Problem).
        return error_page(
            request,
            status=403,
            title=_("This form has expired"),
            detail=_(
                "For your safety the form could not be sent. Please go back, "
                "reload the page and try again."
            ),
        )
    status = exc.status_code
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return _unexpected_page(request, exc)
    detail = _(_DETAILS.get(status) or N_("That request could not be handled."))
    return error_page(request, status=status, detail=detail, headers=exc.headers)


def _unexpected_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    logger.error("unhandled error on a page", exc_info=exc)
    return error_page(
        request,
        status=500,
        title=_("Something went wrong"),
        detail=_("Something went wrong on our side. Nothing was changed. Please try again later."),
    )


def prefers_html(request: Request[Any, Any, Any]) -> bool:
    """A browser asking for a page: not a machine address, and HTML before JSON in Accept."""
    path = request.url.path
    if any(path == prefix or path.startswith(prefix + "/") for prefix in MACHINE_PATHS):
        return False
    offered = ["application/json", PROBLEM_MEDIA_TYPE, HTML_MEDIA_TYPE]
    return request.accept.best_match(offered) == HTML_MEDIA_TYPE


def _unrouted_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    # An unknown address or method never reaches a page controller, so the
    # page handlers below cannot answer it: the Accept header decides instead.
    if prefers_html(request):
        return _http_page(request, exc)
    return http_problem(request, exc)


def app_exception_handlers() -> ExceptionHandlersMap:
    """The application-wide map: problem documents, but an HTML page for a browser's 404 or 405."""
    return {
        **exception_handlers(),
        NotFoundException: _unrouted_error,
        MethodNotAllowedException: _unrouted_error,
    }


def page_exception_handlers() -> ExceptionHandlersMap:
    """Exception handlers for page controllers: HTML, never a JSON problem.

    Every class the app-level map names is named again here: Litestar picks the
    closest class in the merged map, so a generic HTTPException entry alone
    would lose to the app's JSON handler for, say, PermissionDeniedException.
    """
    return {
        SignInRequiredError: _sign_in_redirect,
        Problem: _problem_page,
        DomainError: _domain_page,
        LedgerError: _ledger_page,
        ValidationException: _bad_form_page,
        NotFoundException: _http_page,
        MethodNotAllowedException: _http_page,
        NotAuthorizedException: _http_page,
        PermissionDeniedException: _http_page,
        TooManyRequestsException: _http_page,
        HTTPException: _http_page,
        Exception: _unexpected_page,
    }


class PageController(Controller):
    """The base of every HTML page controller: out of the OpenAPI schema, with the
    viewer dependency and HTML error pages (subclasses add `opt`, `path` and routes)."""

    include_in_schema = False
    dependencies = PAGE_DEPENDENCIES
    exception_handlers = page_exception_handlers()


def done_message(messages: Mapping[str, str], flag: str | None) -> str | None:
    """The fixed message a page shows after a POST-redirect-GET with `?done=<flag>`.

    The messages are constants marked with N_; shown here in the current language.
    """
    message = messages.get(flag or "")
    return None if message is None else _(message)


# One-time form tokens ----------------------------------------------------------------
# A form that moves hours carries a token issued when the page was rendered; the page
# hands it to the service as its idempotency key, so a double submit (two clicks, a
# reload after POST) moves the hours once and shows the same result (ADR 0019). Every
# render issues a new token: after a refusal the ledger remembers the failed id, so a
# corrected form must not reuse it.

_FORM_TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
FORM_TOKEN_BYTES = 18
STALE_FORM_MESSAGE = N_(
    "This form could not be read as one we sent. Please check the details and send it again."
)


def new_form_token() -> str:
    return secrets.token_urlsafe(FORM_TOKEN_BYTES)


def form_idempotency_key(form: Form, token: str) -> str | None:
    """The service's idempotency key for this posted form, or None (with a message) if the
    token is missing or malformed."""
    if _FORM_TOKEN_PATTERN.match(token) is None:
        form.general.append(_(STALE_FORM_MESSAGE))
        return None
    return f"form:{token}"


def register_template_globals(engine: JinjaTemplateEngine, *, donations_on: bool = False) -> None:
    """Template helpers every page may use (see _forms.html's `once()`)."""
    install_in(engine.engine)  # {{ _("...") }} and {% trans %} in the request's language
    engine.engine.globals["new_form_token"] = new_form_token
    engine.engine.globals["donations_on"] = donations_on
    engine.engine.globals["asset_url"] = asset_url  # fingerprinted files (ADR 0044)
    # One formatter per quantity (service/formatting.py), the same on pages as in mail.
    engine.engine.filters["hours"] = minutes_text
    engine.engine.filters["money"] = money_text
    engine.engine.filters["day"] = date_words
    engine.engine.filters["day_month"] = day_month_words
    engine.engine.filters["moment"] = moment_words
    # Times and days of instants on the time bank's clock (ADR 0064), never UTC's.
    engine.engine.filters["clock"] = clock_words
    engine.engine.filters["iso_day"] = iso_day
    engine.engine.filters["signed_hours"] = signed_minutes_text
    engine.engine.filters["history_note"] = history_note_words
