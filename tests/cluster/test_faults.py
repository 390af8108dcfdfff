"""Three nodes behind HAProxy keep every acknowledged transfer through faults (ADR 0049).

The real topology of scripts/cluster on loopback (tests/support/cluster.py): a
PostgreSQL primary and its pg_basebackup replica, a private Redis, three `timebank
serve` nodes and HAProxy health-checking /ready, with mail going to an aiosmtpd on
loopback. A bank-style workload runs through HAProxy (16 clients, a fresh
Idempotency-Key per gift, the SAME key retried on connection errors and 5xx until
acknowledged) while

  (a) the node holding the sweeps lease is killed with SIGKILL, then restarted;
  (b) Redis is restarted (everything in it lost);
  (c) the operator's failover: primary stopped, replica promoted, nodes pointed at it.

Afterwards: every acknowledged gift is in the ledger exactly once and nothing else
is; every balance is its starting balance plus the acknowledged flows; `timebank
ledger verify` is clean; no outbox message was delivered twice; no two sweeps passes
overlapped. Each phase waits on events (acknowledgements counted, /ready, the lease
changing hands), never on time. PostgreSQL only: it is about replication.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import re
import shutil
import signal
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from bench.loadclient import HttpError, Member, RawConnection, World, provision
from tests.support.cluster import ADMIN_EMAIL, Cluster, Node, start
from tests.support.replica import OS_USER
from tests.support.smtp_peer import MailCatcher, SmtpPeer

pytestmark = [pytest.mark.postgres_only, pytest.mark.timeout(420)]

NODES = 3
MEMBERS = 24
CLIENTS = 16
# A pass every 2 s, so a 6 s lease (three passes): hand-overs happen while we watch.
SWEEPS_INTERVAL_SECONDS = 2
GIFT_MINUTES = 1
PROPOSAL_EVERY = 8  # one operation in eight proposes an exchange, which sends mail
ACKS_PER_PHASE = 40  # gifts acknowledged before the next fault, and after the last
ACK_SECONDS_MAX = 90  # one gift's retries (the same key) before the test gives up
PHASE_SECONDS_MAX = 90  # waiting for a phase's acknowledgements or a condition
RETRY_PAUSE_SECONDS = 0.05  # between retries of one request: not synchronisation
RETRY_STATUSES = frozenset({500, 502, 503, 504})
ACKNOWLEDGED = frozenset({200, 201})
# Messages that may be delivered and still be queued (see _check_mail): one for the
# SIGKILLed node, one for each node when the primary stops under it.
ABRUPT_STOPS_MAX = 1 + NODES
# What a dropped or refused connection looks like to the keep-alive client.
CONNECTION_FAILURES = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, HttpError)
MESSAGE_ROW_ID = re.compile(
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})@timebank\.invalid"
)


@dataclass
class Ledger:
    """What the clients were told: acknowledged gifts by key, and what was given up."""

    acknowledged: dict[str, dict[str, object]] = field(default_factory=dict)
    refused: list[tuple[int, bytes]] = field(default_factory=list)
    proposals: Counter[str] = field(default_factory=Counter)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, key: str, reply: dict[str, object]) -> None:
        assert key not in self.acknowledged
        self.acknowledged[key] = reply
        self.changed.set()


async def _until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll `condition` until true, for at most PHASE_SECONDS_MAX."""
    deadline = time.monotonic() + PHASE_SECONDS_MAX
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        await asyncio.sleep(0.1)  # polling a condition under a deadline


async def _acks_reach(book: Ledger, count: int) -> None:
    deadline = time.monotonic() + PHASE_SECONDS_MAX
    while len(book.acknowledged) < count:
        book.changed.clear()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"only {len(book.acknowledged)} of {count} gifts acknowledged")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(book.changed.wait(), remaining)


async def _send_until_answered(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[int, bytes]:
    """The same request (same Idempotency-Key) until it gets an answer that is not a
    connection error or a 5xx, for at most ACK_SECONDS_MAX."""
    deadline = time.monotonic() + ACK_SECONDS_MAX
    connection = RawConnection(port)
    try:
        while True:
            with contextlib.suppress(
                OSError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                HttpError,
                ValueError,
            ):
                status, payload = await connection.request(method, path, headers, body)
                if status not in RETRY_STATUSES:
                    return status, payload
            await connection.close()
            if time.monotonic() > deadline:
                raise AssertionError(f"{method} {path} never answered in {ACK_SECONDS_MAX} s")
            await asyncio.sleep(RETRY_PAUSE_SECONDS)
    finally:
        await connection.close()


async def _gift(port: int, book: Ledger, giver: Member, receiver: Member) -> None:
    key = str(uuid.uuid4())
    body = json.dumps({"to_member_id": receiver.id, "minutes": GIFT_MINUTES}).encode()
    headers = {**giver.headers, "Idempotency-Key": key}
    status, payload = await _send_until_answered(port, "POST", "/api/v1/transfers", headers, body)
    if status in ACKNOWLEDGED:
        book.record(key, {**json.loads(payload), "giver": giver.id, "receiver": receiver.id})
    else:
        book.refused.append((status, payload))


async def _propose(port: int, book: Ledger, recipient: Member, provider: Member) -> None:
    body = json.dumps(
        {
            "provider_id": provider.id,
            "recipient_id": recipient.id,
            "minutes": 30,
            "service_date": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
            "description": "Help with the shopping",
        }
    ).encode()
    headers = {**recipient.headers, "Idempotency-Key": str(uuid.uuid4())}
    status, _ = await _send_until_answered(port, "POST", "/api/v1/exchanges", headers, body)
    book.proposals[str(status)] += 1


async def _client(port: int, world: World, book: Ledger, number: int, stop: asyncio.Event) -> None:
    chooser = random.Random(number)  # noqa: S311 - picking members, not secrets
    operation = 0
    while not stop.is_set():
        giver, receiver = chooser.sample(world.members, 2)
        operation += 1
        if operation % PROPOSAL_EVERY == 0:
            await _propose(port, book, giver, receiver)
        else:
            await _gift(port, book, giver, receiver)


@contextlib.asynccontextmanager
async def _cluster(smtp_url: str) -> AsyncIterator[Cluster]:
    # Under /tmp, not pytest's tmp_path: PostgreSQL runs as its own user, who cannot
    # enter root's private pytest folders.
    base = Path(tempfile.mkdtemp(prefix="timebank-cluster-"))
    shutil.chown(base, user=OS_USER)
    cluster = await asyncio.to_thread(
        start,
        base,
        nodes=NODES,
        smtp_url=smtp_url,
        sweeps_interval_seconds=SWEEPS_INTERVAL_SECONDS,
    )
    try:
        yield cluster
    finally:
        await asyncio.to_thread(cluster.stop)


async def _fetch(cluster: Cluster, sql: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(cluster.database_url)
    try:
        return list(await connection.fetch(sql, *args))
    finally:
        await connection.close()


async def _lease_holder_node(cluster: Cluster) -> tuple[Node, str]:
    """The node whose worker holds the sweeps lease (its NODE_ID names its pid)."""
    holder = ""

    async def held() -> bool:
        nonlocal holder
        rows = await _fetch(
            cluster,
            "SELECT holder FROM node_lease WHERE name = 'sweeps' AND expires_at > now()",
        )
        holder = rows[0]["holder"] if rows else ""
        return bool(holder)

    await _until(held, "a node holds the sweeps lease")
    pid = int(holder.split(":")[-2])
    group = os.getpgid(pid)
    return next(node for node in cluster.nodes if node.pid == group), holder


async def _balances(port: int, world: World) -> dict[str, int]:
    balances = {}
    for member in world.members:
        status, payload = await _send_until_answered(
            port, "GET", "/api/v1/accounts/me", member.headers, b""
        )
        assert status == 200, payload
        balances[member.id] = int(json.loads(payload)["balance_minutes"])
    return balances


async def _faults(cluster: Cluster, book: Ledger) -> None:
    """(a) SIGKILL the lease holder and restart it, (b) restart Redis, (c) fail over;
    each after ACKS_PER_PHASE more acknowledged gifts."""
    await _acks_reach(book, ACKS_PER_PHASE)
    node, holder = await _lease_holder_node(cluster)
    await asyncio.to_thread(cluster.kill_node, node, signal.SIGKILL)
    killed_at = datetime.now(UTC)
    # Another node takes the lease once it runs out: the hand-over happens here.
    await _until(
        lambda: _pass_by_other_since(cluster, holder, killed_at),
        "another node took the sweeps lease",
    )
    await _acks_reach(book, len(book.acknowledged) + ACKS_PER_PHASE)
    await asyncio.to_thread(cluster.start_node, node)

    await _acks_reach(book, len(book.acknowledged) + ACKS_PER_PHASE)
    await asyncio.to_thread(cluster.restart_redis)

    await _acks_reach(book, len(book.acknowledged) + ACKS_PER_PHASE)
    await asyncio.to_thread(cluster.failover)
    await _acks_reach(book, len(book.acknowledged) + ACKS_PER_PHASE)


async def _pass_by_other_since(cluster: Cluster, holder: str, since: datetime) -> bool:
    rows = await _fetch(
        cluster,
        "SELECT holder FROM sweep_pass WHERE holder <> $1 AND started_at > $2",
        holder,
        since,
    )
    return bool(rows)


async def test_acknowledged_transfers_survive_node_redis_and_primary_faults(
    db_kind: str, smtp_peer: SmtpPeer
) -> None:
    assert db_kind == "postgres"
    async with _cluster(smtp_peer.url) as cluster:
        node_port = cluster.nodes[0].port
        world = await provision(node_port, ADMIN_EMAIL, members_count=MEMBERS, listings=False)
        started_at = datetime.now(UTC)
        before = await _balances(cluster.haproxy_port, world)
        book = Ledger()
        stop = asyncio.Event()
        clients = [
            asyncio.create_task(_client(cluster.haproxy_port, world, book, number, stop))
            for number in range(CLIENTS)
        ]
        try:
            await _faults(cluster, book)
        finally:
            stop.set()
            await asyncio.gather(*clients)

        assert not book.refused, book.refused[:5]
        assert sum(book.proposals.values()) > 0
        await _check_ledger(cluster, world, book, before, started_at)
        # A graceful stop lets each mail worker finish its pass: then what is still
        # queued is what would be sent again, and nothing is in between.
        await asyncio.to_thread(cluster.stop_nodes, cluster.nodes)
        await _check_mail(cluster, smtp_peer.catcher)
        await _check_sweeps(cluster)


async def _check_ledger(
    cluster: Cluster,
    world: World,
    book: Ledger,
    before: dict[str, int],
    started_at: datetime,
) -> None:
    # Exactly the acknowledged gifts were written since the workload started: none
    # lost in a fault, none written twice by a retried key.
    acknowledged_ids = {str(reply["id"]) for reply in book.acknowledged.values()}
    assert len(acknowledged_ids) == len(book.acknowledged)
    rows = await _fetch(
        cluster,
        "SELECT id::text AS id FROM ledger_transfer WHERE recorded_at >= $1",
        started_at,
    )
    assert sorted(row["id"] for row in rows) == sorted(acknowledged_ids)

    expected = dict(before)
    for reply in book.acknowledged.values():
        expected[str(reply["giver"])] -= GIFT_MINUTES
        expected[str(reply["receiver"])] += GIFT_MINUTES
    assert await _balances(cluster.haproxy_port, world) == expected

    verify = await asyncio.to_thread(cluster.timebank, "ledger", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr


async def _check_mail(cluster: Cluster, catcher: MailCatcher) -> None:
    """Every message the outbox marked sent arrived, and none arrived twice.

    Delivery is at least once (ADR 0022): a message whose node stopped between the SMTP
    server's 250 and recording it sent stays queued and goes again once its claim lease
    (MAIL_CLAIM_LEASE_SECONDS) has run out, after this test. Each worker sends and
    records one message at a time, so an abrupt stop leaves at most one such message
    per node: the SIGKILL, and the primary stopping under every node at failover.
    """
    sent_rows = await _fetch(
        cluster, "SELECT id::text AS id FROM mail_message WHERE status = 'sent'"
    )
    sent = {row["id"] for row in sent_rows}
    assert sent, "the workload sent no mail: the check would prove nothing"
    delivered = Counter(
        match.group(1)
        for received in list(catcher.received)
        if (match := MESSAGE_ROW_ID.search(str(received.message["Message-ID"])))
    )
    twice = {row_id: count for row_id, count in delivered.items() if count > 1}
    assert not twice, f"mail delivered more than once: {twice}"
    assert sent <= set(delivered)
    queued_rows = await _fetch(
        cluster, "SELECT id::text AS id FROM mail_message WHERE status = 'queued'"
    )
    again = [row["id"] for row in queued_rows if row["id"] in delivered]
    assert len(again) <= ABRUPT_STOPS_MAX, f"{len(again)} delivered messages would go again"


async def _check_sweeps(cluster: Cluster) -> None:
    """No pass started while another node's pass was running or its lease held."""
    passes = await _fetch(
        cluster,
        "SELECT holder, started_at, lease_expires_at, finished_at FROM sweep_pass "
        "ORDER BY started_at",
    )
    assert len({row["holder"] for row in passes}) >= 2, "the lease never changed hands"
    for earlier, later in itertools.pairwise(passes):
        if earlier["finished_at"] is not None:
            assert later["started_at"] >= earlier["finished_at"], (earlier, later)
        elif later["holder"] != earlier["holder"]:
            assert later["started_at"] >= earlier["lease_expires_at"], (earlier, later)
