"""The `timebank` command: serve, migrate, ledger verify, version, create-admin, demo, ..."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ledger import CheckpointInvalid, CheckpointKeyInvalid, Ledger
from ledger.checkpoint import checkpoint_key, load_checkpoint, save_checkpoint
from service import database
from service.app import VERSION
from service.demo import commands as members_cli
from service.reports import cli as reports_cli
from service.settings import Settings

SERVE_HOST_DEFAULT = "127.0.0.1"
SERVE_PORT_DEFAULT = 8000
# Without REDIS_URL rate-limit counts live in each worker's memory, so only
# one worker may run; with it, one worker per core (ADR 0024).
SERVE_WORKERS_WITHOUT_REDIS = 1
SERVE_WORKERS_MAX = 64
# A request still running this long after SIGTERM is cut off, so a stop always ends.
SERVE_GRACEFUL_STOP_SECONDS = 30
# A worker that has not answered its supervisor's ping this long is killed and replaced.
# uvicorn's 5 s default killed workers still importing the app on a busy two-core
# machine (a restart under load), before they had served anything (ADR 0066).
SERVE_WORKER_HEALTHCHECK_SECONDS = 30
# Printed once the options are settled; tests and scripts wait for it, then for the port.
SERVE_LISTENING_LINE = "timebank serve: listening at"
# What uvicorn exits with when one worker cannot bind its address (its STARTUP_FAILURE).
SERVE_ADDRESS_UNAVAILABLE_EXIT = 3
LEDGER_VERIFY_FAILED_EXIT = 3  # distinct from 1 (crash) and 2 (usage error)
T = TypeVar("T")


def cores_available() -> int:
    """Cores this process may run on (the affinity mask, not the whole machine)."""
    return max(1, len(os.sched_getaffinity(0)))


def serve_workers(requested: int | None, settings: Settings) -> int:
    """How many worker processes `timebank serve` starts; `ServeError` if not allowed.

    Sign-in and registration limits must count across every worker
    (quality.md); only Redis shares counts between processes here.
    """
    if requested is not None and not 1 <= requested <= SERVE_WORKERS_MAX:
        raise ServeError(f"--workers must be from 1 to {SERVE_WORKERS_MAX}, not {requested}")
    if settings.redis_url is None:
        if requested is not None and requested > SERVE_WORKERS_WITHOUT_REDIS:
            raise ServeError(
                "several workers need REDIS_URL: rate limits must be counted across workers"
            )
        return SERVE_WORKERS_WITHOUT_REDIS
    return requested if requested is not None else cores_available()


class ServeError(ValueError):
    """`timebank serve` was asked for something it must not start."""


def server_options(host: str, port: int, workers: int) -> dict[str, Any]:
    """What `timebank serve` asks uvicorn for (ADR 0065)."""
    return {
        "app": "service.app:create_app_from_env",
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        # uvloop and httptools: the C event loop and parser, the least CPU a request
        # (ADRs 0063, 0065).
        "loop": "uvloop",
        "http": "httptools",
        "lifespan": "on",
        # The peer is the client: X-Forwarded-For, which a client can write itself, must
        # not move the address that rate limits count by.
        "proxy_headers": False,
        "server_header": False,
        # The app writes its own access log (service/observability.py).
        "access_log": False,
        "log_level": "warning",
        "timeout_graceful_shutdown": SERVE_GRACEFUL_STOP_SECONDS,
        "timeout_worker_healthcheck": SERVE_WORKER_HEALTHCHECK_SECONDS,
    }


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    try:
        workers = serve_workers(args.workers, settings)
    except ServeError as error:
        print(f"timebank serve: {error}", file=sys.stderr)
        return 2
    if settings.redis_url is None and args.workers is None and cores_available() > 1:
        print(
            "timebank serve: one worker (set REDIS_URL to run one per core)",
            file=sys.stderr,
        )
    if args.migrate:
        _migrate(args, settings)
    return _run_server(args.host, args.port, workers)


def _run_server(host: str, port: int, workers: int) -> int:
    import uvicorn  # noqa: PLC0415 - only the server needs uvicorn

    from service.serving import (  # noqa: PLC0415 - nor its workers
        AddressUnavailableError,
        refuse_if_listened_on,
        run_workers,
    )

    options = server_options(host, port, workers)
    if workers > 1:
        # Each worker listens on a socket of its own (SO_REUSEPORT), which would let a
        # second server share the port unnoticed: refuse one first (ADR 0066).
        try:
            refuse_if_listened_on(host, port)
        except AddressUnavailableError as error:
            print(f"timebank serve: {error.strerror}", file=sys.stderr)
            return SERVE_ADDRESS_UNAVAILABLE_EXIT
    print(f"{SERVE_LISTENING_LINE} http://{host}:{port}", flush=True)
    if workers == 1:
        uvicorn.run(**options)
    else:
        run_workers(uvicorn.Config(**options))
    return 0


async def _run_migrations(settings: Settings) -> list[str]:
    engine = database.engine_from_url(settings.database_url)
    await database.prepare(engine)
    try:
        return await database.migrate(engine)
    finally:
        await database.release(engine)


def _migrate(_args: argparse.Namespace, settings: Settings) -> int:
    applied = asyncio.run(_run_migrations(settings))
    if applied:
        for name in applied:
            print(f"applied {name}")
    else:
        print("database is up to date")
    return 0


async def _with_ledger(settings: Settings, use: Callable[[Ledger], Awaitable[T]]) -> T:
    engine = database.engine_from_url(settings.database_url)
    await database.prepare(engine)
    try:
        return await use(Ledger(engine))
    finally:
        await database.release(engine)


def _ledger_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Recompute every hash chain, running balance, account row and zero sum."""
    try:
        key = checkpoint_key(os.environ) if args.checkpoint else b""
        signed = load_checkpoint(Path(args.checkpoint), key) if args.checkpoint else None
    except (CheckpointKeyInvalid, CheckpointInvalid) as error:
        print(error, file=sys.stderr)
        return 2 if isinstance(error, CheckpointKeyInvalid) else LEDGER_VERIFY_FAILED_EXIT
    report = asyncio.run(_with_ledger(settings, lambda ledger: ledger.verify(checkpoint=signed)))
    print(report.summary(), file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else LEDGER_VERIFY_FAILED_EXIT


def _ledger_checkpoint(args: argparse.Namespace, settings: Settings) -> int:
    """Verify, then sign every chain head into a file kept outside the database."""
    try:
        key = checkpoint_key(os.environ)
    except CheckpointKeyInvalid as error:
        print(error, file=sys.stderr)
        return 2
    report, checkpoint = asyncio.run(_with_ledger(settings, lambda ledger: ledger.checkpoint()))
    if checkpoint is None:
        print(report.summary(), file=sys.stderr)
        return LEDGER_VERIFY_FAILED_EXIT
    save_checkpoint(Path(args.out), checkpoint, key)
    print(f"checkpoint of {checkpoint.entries} entries written to {args.out}")
    return 0


def _version(_args: argparse.Namespace, _settings: Settings) -> int:
    print(f"timebank {VERSION}")
    return 0


Command = Callable[[argparse.Namespace, Settings], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="timebank", description="Community time bank service.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the web service")
    serve.add_argument("--host", default=SERVE_HOST_DEFAULT)
    serve.add_argument("--port", type=int, default=SERVE_PORT_DEFAULT)
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (default: one per core with REDIS_URL, else 1)",
    )
    serve.add_argument(
        "--migrate", action="store_true", help="apply pending migrations before serving"
    )
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser("migrate", help="apply pending database migrations")
    migrate.set_defaults(handler=_migrate)

    ledger = commands.add_parser("ledger", help="ledger maintenance")
    ledger_commands = ledger.add_subparsers(dest="ledger_command", required=True)
    verify = ledger_commands.add_parser(
        "verify", help="recompute every hash chain and balance; exit 3 on a discrepancy"
    )
    verify.add_argument(
        "--checkpoint", help="also prove nothing this signed checkpoint saw changed"
    )
    verify.set_defaults(handler=_ledger_verify)
    checkpoint = ledger_commands.add_parser(
        "checkpoint", help="verify, then sign every chain head (key: TIMEBANK_CHECKPOINT_KEY)"
    )
    checkpoint.add_argument("--out", required=True, help="file to write, kept outside the database")
    checkpoint.set_defaults(handler=_ledger_checkpoint)

    version = commands.add_parser("version", help="print the version")
    version.set_defaults(handler=_version)
    for register in EXTRA_COMMANDS:
        register(commands)
    return parser


# Feature packages append a function here that adds their sub-commands.
EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = []
EXTRA_COMMANDS.append(members_cli.register_commands)  # create-admin, demo
EXTRA_COMMANDS.append(reports_cli.register_commands)  # reports rebuild


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    handler: Command = args.handler
    return handler(args, settings)


if __name__ == "__main__":
    sys.exit(main())
