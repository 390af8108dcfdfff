"""What one exchange cycle, and a member's own statement, cost the database (issue 17;
ADR 0052), on PostgreSQL.

Statements are counted on the wire (every asyncpg call, the ledger's and Piccolo's),
so a step that starts reading rows again, commits a reservation of its own or re-reads
the exchange after its write shows here. The bounds are this change's counts: propose
20-21, accept 32, complete 40 (105 in all before ADR 0052).
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.support.exchanges import days_ago
from tests.support.people import Town
from tests.support.statements import recorded_statements

# Per step, at most: what the step does now. Raise a bound only with a reason.
STATEMENTS_MAX = {"propose": 21, "accept": 32, "complete": 40}
STATEMENTS_MIN = 10  # fewer means the recording missed the request's task
COMMITS_MAX = 1  # every step commits once: its write, with its stored reply
# A statement page with lines: the caller (uncached here), the ledger's page, the other
# sides' members and communities.
STATEMENT_PAGE_STATEMENTS_MAX = 4


def _recorded_statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the requests run (the test client runs them in the test's task), not what the
    app's background tasks (the mail worker) happen to run meanwhile."""
    return recorded_statements(monkeypatch, task=asyncio.current_task())


@pytest.mark.postgres_only
async def test_an_exchange_cycle_stays_within_its_statements(
    town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _recorded_statements(monkeypatch)
    body = {
        "provider_id": str(town.bob.id),
        "recipient_id": str(town.alice.id),
        "minutes": 1,
        "service_date": days_ago(1),
        "description": "Help with the garden",
    }
    counts: dict[str, list[str]] = {}
    log.clear()
    proposed = await town.client.post(
        "/api/v1/exchanges",
        headers={**town.alice.headers, "Idempotency-Key": str(uuid.uuid4())},
        json=body,
    )
    assert proposed.status_code == 201, proposed.text
    counts["propose"] = list(log)
    for who, step in ((town.bob, "accept"), (town.alice, "complete")):
        log.clear()
        response = await town.client.post(
            f"/api/v1/exchanges/{proposed.json()['id']}/{step}",
            headers={**who.headers, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert response.status_code == 200, response.text
        counts[step] = list(log)
    for step, statements in counts.items():
        assert STATEMENTS_MIN <= len(statements) <= STATEMENTS_MAX[step], (step, statements)
        commits = [sql for sql in statements if sql.upper().startswith("COMMIT")]
        assert len(commits) <= COMMITS_MAX, (step, statements)
        reservations = [sql for sql in statements if sql.startswith('UPDATE "market_idem')]
        assert not reservations, (step, statements)


@pytest.mark.postgres_only
async def test_a_members_own_statement_reads_no_member_row(
    town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller's hours account comes with the caller (the request's own lookup): the
    statement reads the ledger and the other sides' names, not the member again."""
    given = await town.client.post(
        "/api/v1/transfers",
        headers={**town.alice.headers, "Idempotency-Key": str(uuid.uuid4())},
        json={"to_member_id": str(town.bob.id), "minutes": 5, "memo": "for the hedge"},
    )
    assert given.status_code == 201, given.text
    log = _recorded_statements(monkeypatch)
    response = await town.client.get("/api/v1/accounts/me/statement", headers=town.bob.headers)
    assert response.status_code == 200, response.text
    assert response.json()["items"][0]["memo"] == "for the hedge"
    member_reads = [sql for sql in log if "FROM member_member WHERE id" in sql]
    assert not member_reads, log
    assert len(log) <= STATEMENT_PAGE_STATEMENTS_MAX, log
