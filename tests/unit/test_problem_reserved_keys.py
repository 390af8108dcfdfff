"""A problem's `extra` can add members but never replace RFC 9457's (or our code and id)."""

from __future__ import annotations

import pytest

from service.errors import RESERVED_DATA_KEYS, Conflict
from service.problems import Problem


@pytest.mark.parametrize("key", sorted(RESERVED_DATA_KEYS))
def test_extra_may_not_replace_a_reserved_member(key: str) -> None:
    with pytest.raises(ValueError, match=key):
        Problem(status=409, code="exchange_state", detail="No.", extra={key: "proposed"})


@pytest.mark.parametrize("key", sorted(RESERVED_DATA_KEYS))
def test_a_domain_error_may_not_replace_a_reserved_member(key: str) -> None:
    with pytest.raises(ValueError, match=key):
        Conflict(code="exchange_state", detail="No.", extra={key: "proposed"})


def test_other_members_are_kept() -> None:
    problem = Problem(
        status=409, code="exchange_state", detail="No.", extra={"exchange_status": "proposed"}
    )
    assert problem.extra_fields == {"exchange_status": "proposed"}
    assert problem.status_code == 409
    error = Conflict(code="exchange_state", detail="No.", extra={"exchange_status": "proposed"})
    assert error.extra_fields == {"exchange_status": "proposed"}
