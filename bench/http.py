"""The service as a client sees it: `timebank serve` measured through HTTP.

One command starts `timebank serve` on a fresh PostgreSQL database and a fresh
SQLite file, provisions an admin, a community and members with bearer tokens
through the public API, and measures at 1, 8 and 32 keep-alive clients:

* gift: `POST /api/v1/transfers` (1 minute to the next member, fresh Idempotency-Key)
* balance: `GET /api/v1/accounts/me`
* statement: `GET /api/v1/accounts/me/statement` (first page)
* search: `GET /api/v1/listings?q=garden`
* exchange: propose, accept, complete (one cycle = three requests; cycles/s)
* health: `GET /health` (the framework's and server's own ceiling)

and, in the same run, pgbench's TPC-B-like transaction (`-s 10`, `-c N -j 2`)
on a scratch database at the same client counts: every figure gets its ratio
to pgbench. Each PostgreSQL gift case is bracketed by pgbench at its client count,
run at once before it and at once after it (the latter "pgbench beside"), since
the machine's speed moves within a run: its ratios to the start's reference, to the
one after it and to the mean of the two are all reported (ADR 0073). Then 60 s of
gifts at 32 clients while the server's resident memory (every process of it) is
sampled.

The load generator is Debian's `wrk` with a generated Lua script when it is
installed (bench/wrk.py: C, a small fraction of a core at these rates), and
otherwise, and always for exchange cycles, a small HTTP/1.1 keep-alive client
on asyncio streams (`--load-client python`; httpx costs several times more CPU
per request). Client, server, PostgreSQL and pgbench all run on this machine:
the figures include that contention, which is why ratios matter.

    .venv/bin/python bench/http.py [--quick] [--engine postgres|sqlite|both]
        [--seconds 10] [--clients 1,8,32] [--workers N] [--server-tree DIR]
        [--profile] [--json results.json] [--nodes 1,2,3]

`--nodes 1,2,3` measures the same workloads through HAProxy in front of that many
`timebank serve` nodes (one worker each) made by scripts/cluster (ADR 0049): a
PostgreSQL primary and replica, a private Redis; pgbench is the reference as above
(docs/scaling.md). Needs root, like scripts/cluster.

`--server-tree DIR` serves another checkout (e.g. `git archive main`
unpacked) with this checkout's virtualenv: the "before" column.
`--profile` records the server under 32 gift clients (or, without gifts in
`--workloads`, of the first workload named) with py-spy (`--py-spy`
path, or on PATH) and prints the heaviest functions.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/http.py`, this folder comes first on sys.path, and this
# file would shadow the standard library's `http` package for every import.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
# The project root instead: the shared client is imported as `bench.loadclient`.
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import collections  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Awaitable, Callable, Iterator  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import parse_qs, urlsplit, urlunsplit  # noqa: E402

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from bench import wrk  # noqa: E402
from bench.loadclient import (  # noqa: E402
    MEMBERS,
    PASSWORD,
    RawConnection,
    World,
    free_port,
    provision,
)

PROJECT_ROOT = _HERE.parent
ADMIN_URL_TCP = "postgresql://postgres@127.0.0.1:5432/postgres"
# PostgreSQL's Unix socket on Debian. pgbench reaches the server through it when no host
# is given, and so does this bench when it is there: the server and pgbench then use the
# same transport, the cheaper one for a database on the same machine (docs/performance.md).
POSTGRES_SOCKET_DIRECTORY = Path("/var/run/postgresql")
POSTGRES_SOCKET_NAME = ".s.PGSQL.5432"
REDIS_URL_DEFAULT = "redis://127.0.0.1:6379/14"
PGBENCH_SCALE = 10
CLIENTS_DEFAULT = (1, 8, 32)
SECONDS_DEFAULT = 10
SECONDS_QUICK = 2
MEMORY_SECONDS = 60
MEMORY_SECONDS_QUICK = 6
MEMORY_SAMPLE_SECONDS = 5
MEMORY_CLIENTS = 32
PROFILE_SECONDS = 20
PROFILE_TOP = 30
SERVER_START_TIMEOUT_SECONDS = 60
TPS_PATTERN = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")
WORKLOADS = ("health", "balance", "statement", "search", "gift", "exchange")


# Server processes ------------------------------------------------------------------


@dataclass
class Target:
    engine: str  # "postgres" or "sqlite"
    database_url: str
    port: int
    env: dict[str, str]
    tree: Path
    workers: int | None
    process: subprocess.Popen[bytes] | None = None


def server_env(
    database_url: str, data_dir: Path, tree: Path, redis_url: str | None
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY="bench-secret-key-" + "x" * 40,
        TIMEBANK_DATA_DIR=str(data_dir),
        LOG_LEVEL="WARNING",
        # Sign-in is not what is measured; cheap hashes keep provisioning short.
        ARGON2_TIME_COST="1",
        ARGON2_MEMORY_KIB="1024",
        PYTHONPATH=str(tree),
        TIMEBANK_ADMIN_PASSWORD=PASSWORD,
    )
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def cli(target: Target, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        cwd=target.tree,
        env=target.env,
        check=True,
        capture_output=True,
    )


def start_server(target: Target) -> None:
    args = ["serve", "--port", str(target.port)]
    if target.workers is not None:
        args += ["--workers", str(target.workers)]
    target.process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", *args],
        cwd=target.tree,
        env=target.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{target.port}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.2)  # a benchmark polling a server it started, not a test
    raise RuntimeError(f"timebank serve did not answer on port {target.port}")


def stop_server(target: Target) -> None:
    process = target.process
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def stat_fields(pid: int | str) -> list[str]:
    """/proc/<pid>/stat after the command name (which may hold spaces): state, ppid, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = collections.defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                children[int(stat_fields(entry.name)[1])].append(int(entry.name))
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue += children.get(pid, [])
    return found


def rss_mib(pids: list[int]) -> float:
    total_kib = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
    return total_kib / 1024


@dataclass(frozen=True)
class CpuUse:
    """Where a case's CPU went, per request: steadier than requests/s when the machine's
    speed moves between runs (it did, by a factor of two within hours, on 2026-12-06)."""

    server_ms: float  # the `timebank serve` processes
    database_ms: float  # PostgreSQL's processes (0 on SQLite: it runs in the server)
    idle_cores: float  # cores left idle on average


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User and system CPU time of each of these processes so far (those still running)."""
    found: dict[int, float] = {}
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat_fields(pid)
            found[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU spent between two readings by the processes running at the second: one that
    started in between counts whole; one that ended in between is lost (not negative)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def idle_seconds() -> float:
    """Idle time of all cores so far (/proc/stat's idle and iowait)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return (int(fields[4]) + int(fields[5])) / os.sysconf("SC_CLK_TCK")


def database_pids() -> list[int]:
    """PostgreSQL's server processes on this machine (the bench runs nothing else on it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    found.append(int(entry.name))
    return found


@dataclass(frozen=True)
class CpuReading:
    """CPU seconds so far of the server's processes and PostgreSQL's, and idle time."""

    at: float
    idle: float
    server: dict[int, float]
    database: dict[int, float]


def cpu_reading(target: Target) -> CpuReading:
    assert target.process is not None  # noqa: S101 - started by `served`
    database = database_pids() if target.engine == "postgres" else []
    return CpuReading(
        at=time.monotonic(),
        idle=idle_seconds(),
        server=cpu_seconds(process_tree(target.process.pid)),
        database=cpu_seconds(database),
    )


def cpu_use_since(before: CpuReading, target: Target, requests: int) -> CpuUse:
    """Where the CPU went since `before`, per request."""
    after = cpu_reading(target)
    return CpuUse(
        server_ms=cpu_spent(before.server, after.server) * 1000 / max(requests, 1),
        database_ms=cpu_spent(before.database, after.database) * 1000 / max(requests, 1),
        idle_cores=(after.idle - before.idle) / (after.at - before.at),
    )


# Workloads -------------------------------------------------------------------------


Operation = Callable[[RawConnection, int], Awaitable[list[int]]]


def _gift(world: World) -> Operation:
    async def gift(connection: RawConnection, index: int) -> list[int]:
        giver = world.members[index % MEMBERS]
        receiver = world.members[(index + 1) % MEMBERS]
        body = json.dumps({"to_member_id": receiver.id, "minutes": 1}).encode()
        headers = {**giver.headers, "Idempotency-Key": str(uuid.uuid4())}
        status, _ = await connection.request("POST", "/api/v1/transfers", headers, body)
        return [status]

    return gift


def _get(world: World, path: str, *, authorised: bool = True) -> Operation:
    async def read(connection: RawConnection, index: int) -> list[int]:
        headers = world.members[index % MEMBERS].headers if authorised else {}
        status, _ = await connection.request("GET", path, headers)
        return [status]

    return read


def _exchange(world: World) -> Operation:
    service_date = (datetime.now(UTC) - timedelta(days=1)).isoformat()

    async def cycle(connection: RawConnection, index: int) -> list[int]:
        recipient = world.members[index % MEMBERS]
        provider = world.members[(index + MEMBERS // 2) % MEMBERS]
        body = json.dumps(
            {
                "provider_id": provider.id,
                "recipient_id": recipient.id,
                "minutes": 1,
                "service_date": service_date,
                "description": "Help with the garden",
            }
        ).encode()
        headers = {**recipient.headers, "Idempotency-Key": str(uuid.uuid4())}
        status, payload = await connection.request("POST", "/api/v1/exchanges", headers, body)
        if status != 201:
            return [status]
        exchange_id = json.loads(payload)["id"]
        statuses = [status]
        for who, action in ((provider, "accept"), (recipient, "complete")):
            headers = {**who.headers, "Idempotency-Key": str(uuid.uuid4())}
            path = f"/api/v1/exchanges/{exchange_id}/{action}"
            status, _ = await connection.request("POST", path, headers, b"")
            statuses.append(status)
        return statuses

    return cycle


def operations(world: World) -> dict[str, Operation]:
    return {
        "health": _get(world, wrk.READ_PATHS["health"], authorised=False),
        "balance": _get(world, wrk.READ_PATHS["balance"]),
        "statement": _get(world, wrk.READ_PATHS["statement"]),
        "search": _get(world, wrk.READ_PATHS["search"]),
        "gift": _gift(world),
        "exchange": _exchange(world),
    }


@dataclass
class Measurement:
    workload: str
    clients: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: collections.Counter[int] = field(default_factory=collections.Counter)
    cpu: CpuUse | None = None
    # pgbench's tps at the same client count measured right after this case (PostgreSQL
    # gifts): the machine's speed moves within a run, so the start's reference may not
    # be the same time as the case.
    pgbench_beside: float | None = None
    # The same, measured right before the case: with `pgbench_beside` it brackets the case.
    pgbench_before: float | None = None

    @property
    def pgbench_bracket(self) -> float | None:
        """The mean of the references right before and right after the case, if both."""
        if self.pgbench_before is None or self.pgbench_beside is None:
            return None
        return (self.pgbench_before + self.pgbench_beside) / 2

    @property
    def per_second(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def percentile(self, fraction: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class ToolMeasurement(Measurement):
    """A measurement made by `wrk` (bench/wrk.py): its counts and percentiles."""

    requests_ok: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0

    @property
    def per_second(self) -> float:
        return self.requests_ok / self.seconds

    def percentile(self, fraction: float) -> float:
        known = {0.5: self.p50_ms, 0.99: self.p99_ms}
        return known[fraction]


def measure_case(  # noqa: PLR0917 - one call site per purpose, all positional
    args: argparse.Namespace,
    port: int,
    name: str,
    world: World,
    clients: int,
    offset: int,
    scratch: Path,
) -> Measurement:
    """One workload at one client count: with wrk where it can, else the asyncio client."""
    if args.load_client == "wrk" and name in wrk.WRK_WORKLOADS:
        found = wrk.run(args.wrk, port, name, world, clients, args.seconds, offset, scratch)
        errors: collections.Counter[int] = collections.Counter()
        if found.errors:
            errors[0] = found.errors  # wrk counts failed answers, not their statuses
        return ToolMeasurement(
            workload=name,
            clients=clients,
            seconds=found.seconds,
            errors=errors,
            requests_ok=found.requests_ok,
            p50_ms=found.p50_ms,
            p99_ms=found.p99_ms,
        )
    operation = operations(world)[name]
    return asyncio.run(measure(port, name, operation, clients, args.seconds, offset))


async def measure(  # noqa: PLR0917 - one call site per purpose, all positional
    port: int, name: str, operation: Operation, clients: int, seconds: float, offset: int
) -> Measurement:
    result = Measurement(workload=name, clients=clients, seconds=seconds)
    started = time.perf_counter()
    deadline = started + seconds

    async def client(number: int) -> None:
        connection = RawConnection(port)
        try:
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                statuses = await operation(connection, number + offset)
                bad = [status for status in statuses if status >= 400]
                if bad:
                    result.errors.update(bad)
                else:
                    result.latencies_ms.append((time.perf_counter() - began) * 1000)
        finally:
            await connection.close()

    await asyncio.gather(*(client(number) for number in range(clients)))
    result.seconds = time.perf_counter() - started
    return result


async def memory_run(target: Target, world: World, seconds: int) -> list[tuple[float, float]]:
    assert target.process is not None  # noqa: S101
    samples: list[tuple[float, float]] = []
    started = time.perf_counter()

    async def sample() -> None:
        while time.perf_counter() - started < seconds:
            pids = process_tree(target.process.pid)  # type: ignore[union-attr]
            samples.append((time.perf_counter() - started, rss_mib(pids)))
            await asyncio.sleep(min(MEMORY_SAMPLE_SECONDS, seconds / 4))
        samples.append((time.perf_counter() - started, rss_mib(process_tree(target.process.pid))))  # type: ignore[union-attr]

    await asyncio.gather(
        measure(target.port, "gift", _gift(world), MEMORY_CLIENTS, seconds, 0), sample()
    )
    return samples


# pgbench ---------------------------------------------------------------------------


def default_admin_url() -> str:
    """The Unix socket when PostgreSQL runs on this machine (pgbench's own default), else TCP."""
    if (POSTGRES_SOCKET_DIRECTORY / POSTGRES_SOCKET_NAME).exists():
        return f"postgresql://postgres@/postgres?host={POSTGRES_SOCKET_DIRECTORY}"
    return ADMIN_URL_TCP


def postgres_host(url: str) -> str:
    """Where a URL reaches PostgreSQL: a socket directory (`?host=/dir`) or a host name."""
    parts = urlsplit(url)
    return parse_qs(parts.query).get("host", [parts.hostname or "127.0.0.1"])[-1]


def _pg_args(admin_url: str, database: str) -> list[str]:
    parts = urlsplit(admin_url)
    args = ["-h", postgres_host(admin_url), "-p", str(parts.port or 5432)]
    if parts.username:
        args += ["-U", parts.username]
    return [*args, database]


def pgbench(admin_url: str, database: str, clients: int, seconds: int) -> float:
    binary = shutil.which("pgbench")
    if binary is None:
        raise RuntimeError("pgbench not found: install PostgreSQL's client tools")
    jobs = str(min(2, clients))
    out = subprocess.run(
        [
            binary,
            "-c",
            str(clients),
            "-j",
            jobs,
            "-T",
            str(seconds),
            *_pg_args(admin_url, database),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found = TPS_PATTERN.search(out)
    if found is None:
        raise RuntimeError(f"no tps in pgbench output:\n{out}")
    return float(found.group(1))


def pgbench_initialise(admin_url: str, database: str) -> None:
    binary = shutil.which("pgbench") or "pgbench"
    subprocess.run(
        [binary, "-i", "-q", "-s", str(PGBENCH_SCALE), *_pg_args(admin_url, database)],
        check=True,
        capture_output=True,
    )


async def admin_execute(admin_url: str, sql: str) -> None:
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def with_database(admin_url: str, database: str) -> str:
    return urlunsplit(urlsplit(admin_url)._replace(path=f"/{database}"))


# Profile ---------------------------------------------------------------------------


def profile_server(
    target: Target, world: World, py_spy: str, out_dir: Path, workload: str = "gift"
) -> str:
    """py-spy a worker under 32 clients of `workload`; return the heaviest functions as text."""
    assert target.process is not None  # noqa: S101
    pids = process_tree(target.process.pid)
    # The server's workers are the parent's children; the app makes them the largest.
    worker = max(pids[1:] or pids, key=lambda pid: rss_mib([pid]))
    raw = out_dir / f"profile-{target.engine}.txt"
    spy = subprocess.Popen(
        [
            py_spy,
            "record",
            "--format",
            "raw",
            "-o",
            str(raw),
            "-r",
            "200",
            "-d",
            str(PROFILE_SECONDS),
            "--nonblocking",
            "--full-filenames",
            "-p",
            str(worker),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    operation = operations(world)[workload]
    asyncio.run(measure(target.port, workload, operation, 32, PROFILE_SECONDS + 1, 0))
    spy.wait()
    return summarise_profile(raw)


def summarise_profile(raw: Path) -> str:
    """Own time of the heaviest functions, and inclusive time of the project's own ones."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = [_frame_name(frame) for frame in stack.split(";")]
        total += count
        for frame in set(frames):
            if "(service/" in frame or "(ledger/" in frame:
                inclusive[frame] += count
        own[frames[-1]] += count
    lines = [f"{total} samples (all threads of one worker). Own time %:"]
    lines += [f"{100 * n / total:5.1f} | {frame}" for frame, n in own.most_common(PROFILE_TOP)]
    lines.append("Inclusive time % of the project's functions:")
    lines += [
        f"{100 * n / total:5.1f} | {frame}" for frame, n in inclusive.most_common(PROFILE_TOP)
    ]
    return "\n".join(lines)


def _frame_name(frame: str) -> str:
    return frame.split(" (", 1)[0] + " " + _short_file(frame)


def _short_file(frame: str) -> str:
    inside = frame.split(" (", 1)[1].rstrip(")") if " (" in frame else ""
    path = inside.split(":", 1)[0]
    for marker in ("site-packages/", "/service/", "/ledger/"):
        if marker in path:
            return (
                "(" + path.split(marker, 1)[1] + ")"
                if marker == "site-packages/"
                else "(" + marker.strip("/") + "/" + path.split(marker, 1)[1] + ")"
            )
    return f"({Path(path).name})"


# The run ---------------------------------------------------------------------------


@dataclass
class EngineResult:
    engine: str
    measurements: list[Measurement]
    memory: list[tuple[float, float]]
    profile: str = ""


@contextlib.contextmanager
def served(engine: str, args: argparse.Namespace, scratch: Path) -> Iterator[tuple[Target, World]]:
    database_name = f"bench_http_{os.getpid()}"
    if engine == "postgres":
        asyncio.run(admin_execute(args.admin_url, f'CREATE DATABASE "{database_name}"'))
        url = with_database(args.admin_url, database_name)
    else:
        url = f"sqlite:///{scratch / 'timebank.sqlite3'}"
        if args.sqlite_synchronous:
            url += f"?synchronous={args.sqlite_synchronous}"
    target = Target(
        engine=engine,
        database_url=url,
        port=free_port(),
        env=server_env(url, scratch / f"data-{engine}", args.server_tree, args.redis_url),
        tree=args.server_tree,
        workers=args.workers,
    )
    try:
        cli(target, "migrate")
        admin_email = f"admin.{uuid.uuid4().hex[:8]}@bench.example"
        cli(target, "create-admin", "--email", admin_email, "--name", "Bench Admin")
        start_server(target)
        world = asyncio.run(provision(target.port, admin_email))
        yield target, world
    finally:
        stop_server(target)
        if engine == "postgres":
            asyncio.run(
                admin_execute(
                    args.admin_url, f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)'
                )
            )


def run_engine(
    engine: str, args: argparse.Namespace, scratch: Path, pgbench_database: str
) -> EngineResult:
    with served(engine, args, scratch) as (target, world):
        measurements: list[Measurement] = []

        def reference(clients: int) -> float:
            return pgbench(args.admin_url, pgbench_database, clients, max(1, int(args.seconds)))

        for clients in args.clients:
            for offset, name in enumerate(args.workloads):
                bracketed = engine == "postgres" and name == "gift"
                reference_before = reference(clients) if bracketed else None
                before = cpu_reading(target)
                measured = measure_case(
                    args, target.port, name, world, clients, offset * 7, scratch
                )
                requests = round(measured.per_second * measured.seconds)
                measured.cpu = cpu_use_since(before, target, requests)
                if bracketed:
                    measured.pgbench_before = reference_before
                    measured.pgbench_beside = reference(clients)
                measurements.append(measured)
                _say(_row(engine, measured, None))
        memory = asyncio.run(memory_run(target, world, args.memory_seconds))
        profile = ""
        if args.profile:
            # Gifts unless the run asks for other workloads only: then the first of those.
            workload = "gift" if "gift" in args.workloads else args.workloads[0]
            profile = profile_server(target, world, args.py_spy, scratch, workload)
        return EngineResult(engine, measurements, memory, profile)


def run_nodes(nodes: int, args: argparse.Namespace) -> EngineResult:
    """The workloads through HAProxy in front of `nodes` nodes of a fresh cluster."""
    from tests.support import cluster  # noqa: PLC0415 - only this mode needs the cluster
    from tests.support.replica import OS_USER  # noqa: PLC0415

    base = Path(tempfile.mkdtemp(prefix="bench_cluster_"))
    shutil.chown(base, user=OS_USER)
    made = cluster.start(base, nodes=nodes)
    try:
        world = asyncio.run(provision(made.nodes[0].port, cluster.ADMIN_EMAIL))
        ops = operations(world)
        label = f"{nodes} node{'s' if nodes > 1 else ''}"
        measurements: list[Measurement] = []
        for clients in args.clients:
            for offset, name in enumerate(args.workloads):
                measurements.append(
                    asyncio.run(
                        measure(made.haproxy_port, name, ops[name], clients, args.seconds, offset)
                    )
                )
                _say(_row(label, measurements[-1], None))
        return EngineResult(label, measurements, [])
    finally:
        made.stop()


@contextlib.contextmanager
def pgbench_database(args: argparse.Namespace) -> Iterator[str]:
    """pgbench's scale-10 database, kept for the run: the references at the start and the
    ones measured beside the PostgreSQL gift cases share it."""
    database = f"bench_http_pgbench_{os.getpid()}"
    asyncio.run(admin_execute(args.admin_url, f'CREATE DATABASE "{database}"'))
    try:
        pgbench_initialise(args.admin_url, database)
        yield database
    finally:
        asyncio.run(
            admin_execute(args.admin_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        )


def run_pgbench(args: argparse.Namespace, database: str) -> dict[int, float]:
    return {
        clients: pgbench(args.admin_url, database, clients, max(1, int(args.seconds)))
        for clients in args.clients
    }


def _say(line: str) -> None:
    print(line, flush=True)


def _row(engine: str, m: Measurement, reference: float | None) -> str:
    unit = "cycles" if m.workload == "exchange" else "req"
    ratio = f"{m.per_second / reference:6.2f}x" if reference else "       "
    errors = f"  errors {dict(m.errors)}" if m.errors else ""
    beside = ""
    if m.pgbench_beside:
        ratio_beside = m.per_second / m.pgbench_beside
        beside = f"  pgbench beside: {m.pgbench_beside:.0f} tps ({ratio_beside:.2f}x)"
    if m.pgbench_bracket and m.pgbench_before:
        ratio_bracket = m.per_second / m.pgbench_bracket
        beside += (
            f"; before: {m.pgbench_before:.0f} tps; "
            f"bracket mean {m.pgbench_bracket:.0f} tps ({ratio_bracket:.2f}x)"
        )
    cpu = (
        f" {m.cpu.server_ms:6.3f} | {m.cpu.database_ms:6.3f} | {m.cpu.idle_cores:4.2f} |"
        if m.cpu
        else "        |        |      |"
    )
    return (
        f"| {engine:8} | {m.workload:9} | {m.clients:3} | {m.per_second:8.1f} {unit}/s | "
        f"{m.percentile(0.5):7.1f} | {m.percentile(0.99):7.1f} | {ratio} |{cpu}{errors}{beside}"
    )


def report(
    results: list[EngineResult], references: dict[int, float], args: argparse.Namespace
) -> None:
    _say("")
    _say(
        f"machine: {platform.node()}, {os.cpu_count()} cores "
        f"({len(os.sched_getaffinity(0))} usable), "
        f"Python {platform.python_version()}, load average {os.getloadavg()}"
    )
    _say(
        f"server tree: {args.server_tree}; workers: {args.workers or 'serve default'}; "
        f"REDIS_URL: {args.redis_url or 'unset'}; seconds per case: {args.seconds}; "
        f"PostgreSQL (server and pgbench) at: {postgres_host(args.admin_url)}"
    )
    _say(
        "pgbench TPC-B-like, scale 10: "
        + ", ".join(f"-c {c}: {t:.0f} tps" for c, t in references.items())
    )
    _say(
        "| engine | workload | clients | per second | p50 ms | p99 ms | / pgbench "
        "| server CPU ms/req | database CPU ms/req | idle cores |"
    )
    _say("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for result in results:
        for m in result.measurements:
            _say(_row(result.engine, m, references.get(m.clients)))
    for result in (result for result in results if result.memory):
        rss = ", ".join(f"{t:.0f}s {mib:.0f}" for t, mib in result.memory)
        _say(
            f"{result.engine}: server RSS MiB during {args.memory_seconds}s "
            f"of 32-client gifts: {rss}"
        )
        if result.profile:
            _say(f"--- profile ({result.engine}, 32 clients) ---\n{result.profile}")


def results_json(results: list[EngineResult], references: dict[int, float]) -> dict[str, Any]:
    return {
        "pgbench": references,
        "engines": {
            r.engine: {
                "cases": [
                    {
                        "workload": m.workload,
                        "clients": m.clients,
                        "per_second": m.per_second,
                        "p50_ms": m.percentile(0.5),
                        "p99_ms": m.percentile(0.99),
                        "errors": dict(m.errors),
                        "cpu": asdict(m.cpu) if m.cpu else None,
                        "pgbench_beside": m.pgbench_beside,
                        "pgbench_before": m.pgbench_before,
                        "pgbench_bracket": m.pgbench_bracket,
                    }
                    for m in r.measurements
                ],
                "rss_mib": r.memory,
                "profile": r.profile,
            }
            for r in results
        },
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--engine", choices=("postgres", "sqlite", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="a smoke run: short cases")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--clients", default=",".join(map(str, CLIENTS_DEFAULT)))
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--workers", type=int, default=None, help="passed to timebank serve")
    parser.add_argument("--server-tree", type=Path, default=PROJECT_ROOT)
    parser.add_argument("--sqlite-synchronous", choices=("full", "normal"), default=None)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", REDIS_URL_DEFAULT))
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("TIMEBANK_BENCH_POSTGRES_URL") or default_admin_url(),
        help="the server and pgbench both use it: ?host=/dir for a Unix socket",
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--load-client",
        choices=("wrk", "python"),
        default="wrk" if wrk.available() else "python",
        help="wrk (C, bench/wrk.py; the default when installed) or the asyncio client",
    )
    parser.add_argument("--wrk", default=wrk.available() or "wrk")
    parser.add_argument(
        "--nodes", default=None, help="e.g. 1,2,3: through HAProxy to that many nodes"
    )
    args = parser.parse_args()
    args.nodes = [int(n) for n in args.nodes.split(",")] if args.nodes else []
    args.clients = [int(c) for c in args.clients.split(",")]
    args.workloads = [w for w in args.workloads.split(",") if w]
    unknown = set(args.workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}; choose from {WORKLOADS}")
    if args.seconds is None:
        args.seconds = SECONDS_QUICK if args.quick else SECONDS_DEFAULT
    args.memory_seconds = MEMORY_SECONDS_QUICK if args.quick else MEMORY_SECONDS
    args.server_tree = args.server_tree.resolve()
    return args


def main() -> int:
    args = parse_args()
    engines = ["postgres", "sqlite"] if args.engine == "both" else [args.engine]
    with pgbench_database(args) as database:
        references = run_pgbench(args, database)
        _say("pgbench: " + ", ".join(f"-c {c}: {t:.0f} tps" for c, t in references.items()))
        _say(f"load client: {args.load_client} (exchange cycles always on the asyncio client)")
        if args.nodes:
            results = [run_nodes(nodes, args) for nodes in args.nodes]
        else:
            with tempfile.TemporaryDirectory(prefix="bench_http_") as scratch:
                results = [run_engine(engine, args, Path(scratch), database) for engine in engines]
    report(results, references, args)
    if args.json:
        args.json.write_text(json.dumps(results_json(results, references), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
