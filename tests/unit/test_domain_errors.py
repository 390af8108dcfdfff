"""Services say which kind of no; one table turns each kind into an HTTP status."""

from __future__ import annotations

import ast
import inspect
import pathlib

import pytest

from service import errors
from service.problems import STATUS_BY_ERROR, headers_of, status_of

SERVICE_ROOT = pathlib.Path(__file__).resolve().parents[2] / "service"
# The HTTP edge may speak HTTP; everything else says what kind of no it is.
HTTP_EDGE = ("http", "problems.py", "web")


def _kinds() -> list[type[errors.DomainError]]:
    found: list[type[errors.DomainError]] = []
    todo = [errors.DomainError]
    while todo:
        kind = todo.pop()
        found.extend(kind.__subclasses__())
        todo.extend(kind.__subclasses__())
    return found


@pytest.mark.parametrize("kind", _kinds(), ids=lambda kind: kind.__name__)
def test_every_kind_has_a_status(kind: type[errors.DomainError]) -> None:
    if not inspect.signature(kind.__init__).parameters.keys() - {"self"}:
        error = kind()  # a kind that names its own code and detail (e.g. KeyTaken)
    else:
        arguments = {"retry_after_seconds": 30} if kind is errors.TooManyAttempts else {}
        error = kind(code="some_code", detail="No.", **arguments)
    assert 400 <= status_of(error) <= 599


def test_statuses_are_the_ones_clients_rely_on() -> None:
    assert status_of(errors.NotFound(code="not_found", detail="No.")) == 404
    assert status_of(errors.Conflict(code="exchange_state", detail="No.")) == 409
    assert status_of(errors.invalid_field("amount_minutes", "too many")) == 422
    assert status_of(errors.unreadable_field("from", "not a date")) == 400
    assert len(set(STATUS_BY_ERROR.values())) == len(STATUS_BY_ERROR)


def test_too_many_attempts_says_when_to_come_back() -> None:
    error = errors.TooManyAttempts(code="sign_in_locked", detail="Wait.", retry_after_seconds=90)
    assert status_of(error) == 429
    assert headers_of(error) == {"Retry-After": "90"}
    assert headers_of(errors.Forbidden(code="forbidden", detail="No.")) == {}


def _modules_outside_the_http_edge() -> list[pathlib.Path]:
    return [
        path
        for path in SERVICE_ROOT.rglob("*.py")
        if path.relative_to(SERVICE_ROOT).parts[0] not in HTTP_EDGE
    ]


def test_services_raise_no_http_problem() -> None:
    """No module outside the HTTP edge builds a `Problem` with an HTTP status."""
    offenders = []
    for path in _modules_outside_the_http_edge():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            called = isinstance(node, ast.Call) and getattr(node.func, "id", None)
            if called in {"Problem", "field_problem"}:
                offenders.append(f"{path.relative_to(SERVICE_ROOT)}:{node.lineno}")
    assert offenders == []
