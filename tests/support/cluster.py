"""The whole topology on one machine, without Docker (ADR 0049): `scripts/cluster`.

    scripts/cluster start [--nodes N] [--dir DIR] [--smtp-url URL]
    scripts/cluster status | failover | stop [--dir DIR]

* a private PostgreSQL primary and a streaming replica made with pg_basebackup, each on
  a port of its own (tests/support/replica.py makes the pair);
* a private redis-server on a port of its own (never the machine's shared 6379);
* N `timebank serve` nodes, one worker each, with DATABASE_URL (the primary),
  DATABASE_REPLICA_URL (the replica, for the reports) and REDIS_URL;
* HAProxy in front, balancing round robin over the nodes that answer `GET /ready`.

`failover` is the operator's step when the primary is lost: stop the primary (if it
still runs), `pg_ctl promote` the replica, and restart the nodes one by one with
DATABASE_URL pointing at it (and no replica URL: there is no replica left).

Everything lives under one directory (default /tmp/timebank-cluster), described by
its cluster.json, so that each command finds what `start` made. Needs root (the
PostgreSQL binaries run as the postgres user through runuser) and Debian's
postgresql-15, redis-server and haproxy packages (scripts/provision installs them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import asyncpg
import httpx

from bench.loadclient import PASSWORD
from tests.support.replica import OS_USER, Server, free_port, start_pair

ROOT = Path(__file__).resolve().parents[2]
DIR_DEFAULT = Path("/tmp/timebank-cluster")
STATE_FILE = "cluster.json"
DATABASE = "timebank"
NODES_DEFAULT = 3
NODE_READY_SECONDS_MAX = 60
NODE_STOP_SECONDS_MAX = 20
REDIS_READY_SECONDS_MAX = 10
POLL_SECONDS = 0.1
HAPROXY = "/usr/sbin/haproxy"
# No persistence: a restart loses everything, which is what the fault test wants.
REDIS_ARGS = ("/usr/bin/redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
# One worker a node: the nodes, not the workers, are what is being multiplied.
SERVE = (sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--workers", "1")
NODES_MAX = 16  # one machine's worth
ADMIN_EMAIL = "admin@cluster.example"
# The password bench/loadclient.py signs the admin in with, to provision members.
ADMIN_PASSWORD = PASSWORD
# Cheap password hashes: a cluster for tests and trying things out, not for members.
FAST_HASHING = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "1024"}
# HAProxy asks every node for /ready this often; two failures take it out of the
# rotation, one success puts it back.
HAPROXY_CHECK_MILLISECONDS = 300
# Each node's pool may open POSTGRES_POOL_SIZE_MAX (20) connections; room for 16 nodes'
# worth of busy pools would be too much for one machine, 8 is plenty.
POSTGRES_SETTINGS = ("max_connections = 200",)
DECIDED_HERE = frozenset(
    {"DATABASE_REPLICA_URL", "SMTP_URL", "SWEEPS_INTERVAL_SECONDS", "TIMEBANK_ENV"}
)


class ClusterError(RuntimeError):
    pass


# The processes this Python process started, kept until they have exited and been
# waited for (a Popen dropped while its process runs is a ResourceWarning); a later
# `scripts/cluster` command only has their pids.
_STARTED: dict[int, subprocess.Popen[bytes]] = {}


def _spawn(
    args: list[str], log_path: Path, *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> int:
    """Start `args` in its own session, output appended to `log_path`; its pid (kept in
    _STARTED so it is waited for)."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    _STARTED[process.pid] = process
    return process.pid


@dataclass
class Node:
    number: int
    port: int
    pid: int | None = None


@dataclass
class Cluster:
    base: Path
    primary_port: int
    replica_port: int
    redis_port: int
    haproxy_port: int
    secret_key: str
    nodes: list[Node]
    smtp_url: str | None = None
    sweeps_interval_seconds: int | None = None
    failed_over: bool = False
    redis_pid: int | None = None
    haproxy_pid: int | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    # Where things are ------------------------------------------------------------

    @property
    def primary(self) -> Server:
        return Server(self.base / "primary", self.primary_port, self.base)

    @property
    def replica(self) -> Server:
        return Server(self.base / "replica", self.replica_port, self.base)

    @property
    def database_url(self) -> str:
        """The database the nodes write to: the replica once it has been promoted."""
        server = self.replica if self.failed_over else self.primary
        return server.url(DATABASE)

    @property
    def replica_url(self) -> str | None:
        return None if self.failed_over else self.replica.url(DATABASE)

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def url(self) -> str:
        """HAProxy: where clients go."""
        return f"http://127.0.0.1:{self.haproxy_port}"

    def env(self, node: Node | None = None) -> dict[str, str]:
        # A developer's shell may set these; the cluster decides them.
        env = {name: value for name, value in os.environ.items() if name not in DECIDED_HERE}
        env |= {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": self.secret_key,
            "PUBLIC_BASE_URL": self.url,
            "LOG_LEVEL": "WARNING",
            "TIMEBANK_ADMIN_PASSWORD": ADMIN_PASSWORD,
            **FAST_HASHING,
        }
        if self.replica_url:
            env["DATABASE_REPLICA_URL"] = self.replica_url
        if self.smtp_url:
            env["SMTP_URL"] = self.smtp_url
        if self.sweeps_interval_seconds:
            env["SWEEPS_INTERVAL_SECONDS"] = str(self.sweeps_interval_seconds)
        name = f"node-{node.number}" if node else "commands"
        env["TIMEBANK_DATA_DIR"] = str(self.base / name)
        return env | self.extra_env

    def save(self) -> None:
        state = asdict(self)
        state["base"] = str(self.base)
        (self.base / STATE_FILE).write_text(json.dumps(state, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, base: Path) -> Cluster:
        path = base / STATE_FILE
        if not path.exists():
            raise ClusterError(f"no cluster in {base} (run `scripts/cluster start`)")
        state = json.loads(path.read_text(encoding="utf-8"))
        state["base"] = Path(state["base"])
        state["nodes"] = [Node(**node) for node in state["nodes"]]
        return cls(**state)

    # Commands --------------------------------------------------------------------

    def timebank(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `timebank <args>` against the cluster's current primary (never raises)."""
        return subprocess.run(
            [sys.executable, "-m", "service.cli", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            check=False,
            timeout=NODE_READY_SECONDS_MAX * 2,
        )

    def timebank_ok(self, *args: str) -> None:
        result = self.timebank(*args)
        if result.returncode != 0:
            raise ClusterError(f"timebank {' '.join(args)} failed: {result.stderr}")

    # Nodes -----------------------------------------------------------------------

    def start_node(self, node: Node) -> None:
        self.start_nodes([node])

    def start_nodes(self, nodes: list[Node]) -> None:
        """Start the nodes side by side (each takes seconds to import), then wait until
        every one answers /ready."""
        for node in nodes:
            self._spawn_node(node)
        for node in nodes:
            wait_until_ready(f"http://127.0.0.1:{node.port}/ready", NODE_READY_SECONDS_MAX)

    def _spawn_node(self, node: Node) -> None:
        data_dir = self.base / f"node-{node.number}"
        data_dir.mkdir(exist_ok=True)
        node.pid = _spawn(
            [*SERVE, "--port", str(node.port)],
            self.base / f"node-{node.number}.log",
            cwd=ROOT,
            env=self.env(node),
        )
        self.save()

    def kill_node(self, node: Node, sig: signal.Signals = signal.SIGKILL) -> None:
        """Signal the node's whole process group (the server and its worker) and wait."""
        if node.pid is not None:
            _stop_group(node.pid, sig)
        node.pid = None
        self.save()

    def stop_nodes(self, nodes: list[Node]) -> None:
        """SIGTERM every node at once, then wait for each (they shut down side by side)."""
        for node in nodes:
            if node.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(node.pid, signal.SIGTERM)
        for node in nodes:
            self.kill_node(node, signal.SIGTERM)

    # Redis -----------------------------------------------------------------------

    def start_redis(self) -> None:
        self.redis_pid = _spawn(
            [*REDIS_ARGS, "--port", str(self.redis_port), "--dir", str(self.base)],
            self.base / "redis.log",
        )
        self.save()
        _wait_for_redis(self.redis_port)

    def restart_redis(self) -> None:
        """Stop the private Redis (everything in it is lost) and start it again."""
        if self.redis_pid is not None:
            _stop_group(self.redis_pid, signal.SIGTERM)
        self.start_redis()

    # HAProxy ---------------------------------------------------------------------

    def start_haproxy(self) -> None:
        config = self.base / "haproxy.cfg"
        config.write_text(haproxy_config(self.haproxy_port, self.nodes), encoding="utf-8")
        self.haproxy_pid = _spawn([HAPROXY, "-db", "-f", str(config)], self.base / "haproxy.log")
        self.save()
        wait_until_ready(f"{self.url}/ready", NODE_READY_SECONDS_MAX)

    # The operator's step ---------------------------------------------------------

    def failover(self) -> None:
        """Stop the primary, promote the replica, point every node at it."""
        if self.failed_over:
            raise ClusterError("the cluster has failed over already: there is no replica left")
        if self.primary.running():
            # A clean stop sends the replica every WAL record the primary wrote.
            self.primary.stop("fast")
        self.replica.promote()
        self.failed_over = True
        self.save()
        # All at once: with the primary gone no node can serve anyway.
        self.stop_nodes(self.nodes)
        self.start_nodes(self.nodes)

    def stop(self) -> None:
        self.stop_nodes(self.nodes)
        for pid in (self.haproxy_pid, self.redis_pid):
            if pid is not None:
                _stop_group(pid, signal.SIGTERM)
        for server in (self.replica, self.primary):
            if server.running():
                with contextlib.suppress(subprocess.CalledProcessError):
                    server.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)

    def describe(self) -> str:
        def alive(pid: int | None) -> str:
            return "running" if pid is not None and _alive(pid) else "stopped"

        primary_role = "stopped (failed over)" if self.failed_over else "primary"
        replica_role = "primary (promoted)" if self.failed_over else "streaming replica"
        primary_state = "running" if self.primary.running() else "stopped"
        replica_state = "running" if self.replica.running() else "stopped"
        lines = [
            f"cluster in {self.base}",
            f"  HAProxy     {self.url}  ({alive(self.haproxy_pid)})",
            *(
                f"  node {node.number}      http://127.0.0.1:{node.port}  ({alive(node.pid)})"
                for node in self.nodes
            ),
            f"  PostgreSQL  {self.primary.url(DATABASE)}  {primary_role} ({primary_state})",
            f"  PostgreSQL  {self.replica.url(DATABASE)}  {replica_role} ({replica_state})",
            f"  Redis       {self.redis_url}  ({alive(self.redis_pid)})",
            f"  admin       {ADMIN_EMAIL} / {ADMIN_PASSWORD}",
        ]
        return "\n".join(lines)


def haproxy_config(port: int, nodes: list[Node]) -> str:
    """HTTP load balancing over the nodes that answer /ready with 200."""
    servers = "\n".join(
        f"    server node{node.number} 127.0.0.1:{node.port} check" for node in nodes
    )
    return f"""global
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    # A connection a node refused (killed, restarting) is tried on another node.
    retries 3
    option redispatch

frontend timebank
    bind 127.0.0.1:{port}
    default_backend nodes

backend nodes
    balance roundrobin
    option httpchk GET /ready
    http-check expect status 200
    default-server inter {HAPROXY_CHECK_MILLISECONDS}ms fall 2 rise 1
{servers}
"""


def start(
    base: Path,
    *,
    nodes: int = NODES_DEFAULT,
    smtp_url: str | None = None,
    sweeps_interval_seconds: int | None = None,
    extra_env: dict[str, str] | None = None,
) -> Cluster:
    """Make and start everything; on any failure, stop what was started."""
    if (base / STATE_FILE).exists():
        raise ClusterError(f"a cluster already lives in {base}: `scripts/cluster stop` first")
    base.mkdir(parents=True, exist_ok=True)
    shutil.chown(base, user=OS_USER)
    cluster = Cluster(
        base=base,
        primary_port=free_port(),
        replica_port=free_port(),
        redis_port=free_port(),
        haproxy_port=free_port(),
        secret_key=secrets.token_urlsafe(48),
        nodes=[Node(number, free_port()) for number in range(1, nodes + 1)],
        smtp_url=smtp_url,
        sweeps_interval_seconds=sweeps_interval_seconds,
        extra_env=extra_env or {},
    )
    cluster.save()
    try:
        start_pair(cluster.primary, cluster.replica, [], POSTGRES_SETTINGS)
        asyncio.run(_create_database(cluster.primary.url("postgres")))
        cluster.timebank_ok("migrate")
        cluster.timebank_ok("create-admin", "--email", ADMIN_EMAIL, "--name", "Cluster Admin")
        cluster.start_redis()
        cluster.start_nodes(cluster.nodes)
        cluster.start_haproxy()
    except BaseException:
        cluster.stop()
        raise
    return cluster


async def _create_database(admin_url: str) -> None:
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await connection.close()


def wait_until_ready(url: str, seconds_max: float) -> None:
    """Poll `url` until it answers 200, for at most `seconds_max`."""
    deadline = time.monotonic() + seconds_max
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(POLL_SECONDS)  # polling a server for readiness, bounded by the deadline
    raise ClusterError(f"{url} did not answer 200 within {seconds_max} s")


def _wait_for_redis(port: int) -> None:
    deadline = time.monotonic() + REDIS_READY_SECONDS_MAX
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=2) as sock,
        ):
            sock.sendall(b"PING\r\n")
            if sock.recv(16).startswith(b"+PONG"):
                return
        time.sleep(POLL_SECONDS)  # polling a server for readiness, bounded by the deadline
    raise ClusterError(f"redis-server did not answer on port {port}")


def _alive(pid: int) -> bool:
    process = _STARTED.get(pid)
    if process is not None:
        if process.poll() is None:
            return True
        del _STARTED[pid]  # exited and waited for
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop_group(pid: int, sig: signal.Signals) -> None:
    """Signal the process group `pid` leads (we started it in a session of its own)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
    deadline = time.monotonic() + NODE_STOP_SECONDS_MAX
    while _alive(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            deadline = time.monotonic() + NODE_STOP_SECONDS_MAX
        time.sleep(POLL_SECONDS)  # waiting for a process to exit, bounded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/cluster", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("start", "stop", "status", "failover"))
    parser.add_argument("--dir", type=Path, default=DIR_DEFAULT)
    parser.add_argument("--nodes", type=int, default=NODES_DEFAULT)
    parser.add_argument("--smtp-url", default=None, help="SMTP_URL for the nodes' mail")
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            if not 1 <= args.nodes <= NODES_MAX:
                parser.error(f"--nodes must be from 1 to {NODES_MAX}")
            cluster = start(args.dir, nodes=args.nodes, smtp_url=args.smtp_url)
        else:
            cluster = Cluster.load(args.dir)
            if args.command == "stop":
                cluster.stop()
                sys.stdout.write(f"cluster in {args.dir} stopped and removed\n")
                return 0
            if args.command == "failover":
                cluster.failover()
    except ClusterError as error:
        sys.stderr.write(f"scripts/cluster: {error}\n")
        return 1
    sys.stdout.write(cluster.describe() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
