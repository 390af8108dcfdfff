"""A real PostgreSQL primary and streaming replica on loopback, for the reports' replica tests.

Made once a session with Debian's PostgreSQL 15 binaries, apart from the shared test
server: `initdb` (as the postgres OS user: initdb refuses root), a primary with
wal_level=replica that lets 127.0.0.1 replicate, `pg_basebackup -R` for the replica,
both started with `pg_ctl` and waited for with `pg_isready`. The app's schema is
migrated into a template database on the primary; each test copies it (CREATE
DATABASE ... TEMPLATE), and the copy streams to the replica like any other write.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from service import database

PG_BIN = Path("/usr/lib/postgresql/15/bin")
OS_USER = "postgres"
TEMPLATE_DATABASE = "timebank_template"
READY_SECONDS_MAX = 30  # pg_isready's own bound for a server to accept connections
CATCH_UP_SECONDS_MAX = 15.0  # how long a test waits for the replica to replay a write
POLL_SECONDS = 0.05
SERVER_SETTINGS = (
    "listen_addresses = '127.0.0.1'",
    "wal_level = replica",
    "max_wal_senders = 4",
    # A throwaway cluster: durability buys nothing here and costs seconds.
    "fsync = off",
    "synchronous_commit = off",
    "full_page_writes = off",
    "shared_buffers = 32MB",
    "max_connections = 60",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _as_postgres(*command: str | Path) -> None:
    subprocess.run(
        ["runuser", "-u", OS_USER, "--", *map(str, command)],
        check=True,
        capture_output=True,
        timeout=READY_SECONDS_MAX * 2,
    )


@dataclass
class Server:
    data_dir: Path
    port: int
    socket_dir: Path

    def url(self, database_name: str) -> str:
        return f"postgresql://{OS_USER}@127.0.0.1:{self.port}/{database_name}"

    def start(self) -> None:
        _as_postgres(
            PG_BIN / "pg_ctl", "-D", self.data_dir, "-l", self.data_dir / "server.log", "start"
        )
        _as_postgres(
            PG_BIN / "pg_isready",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-t",
            str(READY_SECONDS_MAX),
        )

    def stop(self, mode: str = "fast") -> None:
        _as_postgres(PG_BIN / "pg_ctl", "-D", self.data_dir, "-m", mode, "-w", "stop")

    def promote(self) -> None:
        """A standby becomes a primary; -w waits until it accepts writes."""
        _as_postgres(PG_BIN / "pg_ctl", "-D", self.data_dir, "-w", "promote")

    def running(self) -> bool:
        return (self.data_dir / "postmaster.pid").exists()

    def configure(self, extra: tuple[str, ...] = ()) -> None:
        lines = [
            *SERVER_SETTINGS,
            *extra,
            f"port = {self.port}",
            f"unix_socket_directories = '{self.socket_dir}'",
        ]
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n".join(lines) + "\n")


@dataclass
class ReplicaPair:
    primary: Server
    replica: Server

    async def new_database(self) -> str:
        """A copy of the migrated template on the primary, replayed on the replica."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        await primary_execute(self, f'CREATE DATABASE "{name}" TEMPLATE {TEMPLATE_DATABASE}')
        await self.caught_up()
        return name

    async def caught_up(self) -> None:
        """Wait (bounded) until the replica has replayed everything the primary wrote."""
        target = await _fetchval(self.primary.url("postgres"), "SELECT pg_current_wal_lsn()")
        await self.replica_until("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", target)

    async def replica_until(self, sql: str, *args: object) -> None:
        """Poll the replica until `sql` answers true, for at most CATCH_UP_SECONDS_MAX."""
        deadline = time.monotonic() + CATCH_UP_SECONDS_MAX
        connection = await asyncpg.connect(self.replica.url("postgres"))
        try:
            while not await connection.fetchval(sql, *args):
                if time.monotonic() > deadline:
                    raise AssertionError(f"the replica never answered true to {sql!r}")
                await asyncio.sleep(POLL_SECONDS)
        finally:
            await connection.close()

    @contextlib.asynccontextmanager
    async def replica_stopped(self) -> AsyncIterator[None]:
        """The replica down for the block, once it has replayed everything so far;
        started again afterwards, whatever the block did."""
        await self.caught_up()
        self.replica.stop()
        try:
            yield
        finally:
            self.replica.start()

    @contextlib.asynccontextmanager
    async def replay_paused(self) -> AsyncIterator[None]:
        """Nothing the primary writes in the block reaches the replica's tables;
        replay resumes afterwards, whatever the block did."""
        await self.replica_execute("SELECT pg_wal_replay_pause()")
        try:
            yield
        finally:
            await self.replica_execute("SELECT pg_wal_replay_resume()")

    async def replica_execute(self, sql: str) -> None:
        connection = await asyncpg.connect(self.replica.url("postgres"))
        try:
            await connection.execute(sql)
        finally:
            await connection.close()


async def _fetchval(url: str, sql: str) -> object:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(sql)
    finally:
        await connection.close()


async def primary_execute(pair: ReplicaPair, sql: str, *, database_name: str = "postgres") -> None:
    connection = await asyncpg.connect(pair.primary.url(database_name))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _migrate_template(pair: ReplicaPair) -> None:
    await primary_execute(pair, f"CREATE DATABASE {TEMPLATE_DATABASE}")
    engine = database.engine_from_url(pair.primary.url(TEMPLATE_DATABASE))
    await database.prepare(engine)
    try:
        await database.migrate(engine)
    finally:
        await database.release(engine)


def start_pair(
    primary: Server, replica: Server, started: list[Server], settings: tuple[str, ...] = ()
) -> None:
    """initdb the primary, start it, pg_basebackup the replica from it, start that;
    both with SERVER_SETTINGS and `settings` (the later line wins).

    Each server is appended to `started` once running, for the caller to stop."""
    _as_postgres(
        PG_BIN / "initdb", "-D", primary.data_dir, "-U", OS_USER, "-A", "trust", "--no-sync"
    )
    primary.configure(settings)
    with (primary.data_dir / "pg_hba.conf").open("a", encoding="utf-8") as hba:
        hba.write(f"host replication {OS_USER} 127.0.0.1/32 trust\n")
    primary.start()
    started.append(primary)
    _as_postgres(
        PG_BIN / "pg_basebackup",
        "-h",
        "127.0.0.1",
        "-p",
        str(primary.port),
        "-U",
        OS_USER,
        "-D",
        replica.data_dir,
        "-R",
        "-X",
        "stream",
        "--no-sync",
    )
    # The copy brings the primary's settings; the last line wins, so its own port.
    replica.configure(settings)
    replica.start()
    started.append(replica)


@contextlib.contextmanager
def replica_pair() -> Iterator[ReplicaPair]:
    """A primary and its streaming replica, stopped and removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix="timebank-replica-"))
    shutil.chown(base, user=OS_USER)
    primary = Server(base / "primary", free_port(), base)
    replica = Server(base / "replica", free_port(), base)
    started: list[Server] = []
    try:
        start_pair(primary, replica, started)
        pair = ReplicaPair(primary, replica)
        # A thread of its own: the fixture may be set up while a test's loop runs.
        with ThreadPoolExecutor(max_workers=1) as thread:
            thread.submit(asyncio.run, _migrate_template(pair)).result()
        yield pair
    finally:
        for server in reversed(started):
            with contextlib.suppress(subprocess.CalledProcessError):
                server.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)
