"""Database engines, table binding and migrations, for SQLite and PostgreSQL.

Piccolo finds its engine through a `piccolo_conf` module. We keep that module
(`service.piccolo_conf`) but make it answer with the engine chosen here at
start-up, so the engine comes from `Settings` rather than from import-time
globals, and tests can run the same code against a fresh database each time.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import os
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, Final, cast
from urllib.parse import parse_qs, unquote, urlsplit

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.apps.migrations.tables import Migration
from piccolo.conf.apps import AppConfig, AppRegistry
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.table import Table

from ledger.sql import Connection, Dialect
from ledger.transactions import read_connection
from service.sqlite_connections import (
    SYNCHRONOUS_DEFAULT,
    InlineReader,
    KeptConnection,
    SQLiteConnections,
    Synchronous,
)

MIGRATIONS_ROOT = Path(__file__).resolve().parent.parent / "migrations"
SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
POSTGRES_POOL_SIZE_MIN = 2
POSTGRES_POOL_SIZE_MAX = 20
SQLITE_VERSION_MIN = (3, 35, 0)  # RETURNING and DROP COLUMN
SQLITE_SYNCHRONOUS_CHOICES = ("full", "normal")


@dataclass(frozen=True)
class AppSpec:
    """One Piccolo app: its migrations folder and the modules holding its tables."""

    name: str
    table_modules: tuple[str, ...]

    @property
    def migrations_path(self) -> Path:
        return MIGRATIONS_ROOT / self.name


# Migrations run app by app in this order; later apps may refer to earlier ones.
APPS: tuple[AppSpec, ...] = (
    AppSpec(name="ledger", table_modules=()),
    AppSpec(name="members", table_modules=("service.members.tables",)),
    AppSpec(
        name="market",
        table_modules=(
            "service.listings.tables",
            "service.exchanges.tables",
            "service.http.idempotency_tables",
        ),
    ),
    AppSpec(name="disputes", table_modules=("service.disputes.tables",)),
    AppSpec(name="donations", table_modules=("service.donations.tables",)),
    AppSpec(name="reports", table_modules=()),
    AppSpec(name="mail", table_modules=("service.mail.tables",)),
    AppSpec(name="recovery", table_modules=("service.recovery.tables",)),
    AppSpec(
        name="safety",
        table_modules=(
            "service.blocks.tables",
            "service.messages.tables",
            "service.concerns.tables",
        ),
    ),
    AppSpec(
        name="neighbours",
        table_modules=(
            "service.checks.tables",
            "service.neighbours.tables",
            "service.pairing.tables",
        ),
    ),
    AppSpec(name="nodes", table_modules=("service.nodes.tables",)),
    AppSpec(name="events", table_modules=("service.events.tables",)),
    AppSpec(name="wellbeing", table_modules=("service.wellbeing.tables",)),
)


class UnsupportedDatabaseURLError(ValueError):
    """DATABASE_URL names an engine we do not run on."""


class TimebankPostgresEngine(PostgresEngine):
    """PostgreSQL engine that does no I/O when constructed.

    Piccolo's engines connect from their constructor to check the server
    version and create extensions. We build engines before the event loop
    runs and in tests by the hundred, and need no extensions, so both checks
    move to `prepare()`.
    """

    async def check_version(self) -> None:
        return None

    async def prep_database(self) -> None:
        return None


class TimebankSQLiteEngine(SQLiteEngine):
    """SQLite engine that does no I/O when constructed, and keeps its connections.

    After `prepare()` (on the event loop that called it) transactions and
    single writes use one kept writer connection and single reads a small
    pool of kept readers (service/sqlite_connections.py, ADR 0024). Before
    it, or on another loop, it behaves like Piccolo's engine: a connection
    per query.
    """

    def __init__(self, *, path: str, synchronous: Synchronous, **connection_kwargs: Any) -> None:
        super().__init__(path=path, **connection_kwargs)
        self.synchronous: Synchronous = synchronous
        self.kept: SQLiteConnections | None = None

    async def check_version(self) -> None:
        return None

    async def prep_database(self) -> None:
        return None

    def _kept_here(self) -> SQLiteConnections | None:
        kept = self.kept
        return kept if kept is not None and kept.usable_here() else None

    async def get_connection(self) -> Any:
        """A connection for reads (the ledger's `read_connection`, `batch`)."""
        kept = self._kept_here()
        return await kept.reader() if kept is not None else await super().get_connection()

    def inline_reader(self) -> InlineReader | None:
        """The loop-thread reader for point reads, once kept connections are set up here."""
        kept = self._kept_here()
        return kept.inline_reader() if kept is not None else None

    async def write_connection(self) -> Any:
        kept = self._kept_here()
        return await kept.writer() if kept is not None else await super().get_connection()

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> SQLiteTransaction:
        # Every transaction may write, so every one runs on the writer.
        return _WriterTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: type[Table] | None = None,
    ) -> Any:
        kept = self._kept_here()
        if kept is None:
            return await super()._run_in_new_connection(query, args, query_type, table)
        connection = await (kept.reader() if _is_read_only(query) else kept.writer())
        try:
            # Kept connections run in autocommit mode (isolation_level=None):
            # a single write is committed when it completes.
            async with connection.raw.execute(query, args or []) as cursor:
                return await cursor.fetchall()
        finally:
            await connection.close()

    async def _run_in_existing_connection(
        self,
        connection: Any,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: type[Table] | None = None,
    ) -> Any:
        if not isinstance(connection, KeptConnection):
            return await super()._run_in_existing_connection(
                connection, query, args, query_type, table
            )
        # A kept connection has foreign_keys on already; Piccolo would send
        # the PRAGMA again before every statement (one more thread hop).
        connection.row_factory = dict_factory
        async with connection.raw.execute(query, args or []) as cursor:
            return await cursor.fetchall()


class _WriterTransaction(SQLiteTransaction):
    engine: TimebankSQLiteEngine

    async def get_connection(self) -> Any:
        return await self.engine.write_connection()


def _is_read_only(sql: str) -> bool:
    # A statement that starts with SELECT cannot write in SQLite (WITH ...
    # may end in INSERT, so it counts as a write).
    return sql.lstrip()[:6].upper() == "SELECT"


async def _reset_postgres_connection(connection: Any) -> None:
    """Pool reset without asyncpg's default RESET ALL / UNLISTEN / CLOSE ALL round trip.

    Nothing here sets session state, listens or keeps cursors, so only an
    open transaction needs undoing (transactions normally end before release).
    """
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


# Set on every PostgreSQL connection the service opens (pool, ledger, replica).
POSTGRES_SESSION_SETTINGS: Final = {"jit": "off"}


def engine_from_url(url: str, *, connect_timeout_seconds: float | None = None) -> Engine[Any]:
    """Build the Piccolo engine a DATABASE_URL describes (no I/O happens here).

    `connect_timeout_seconds` bounds a PostgreSQL connect (asyncpg waits 60 s otherwise):
    the read replica's engine sets it, so a replica gone quiet costs seconds.
    """
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:///relative/path and sqlite:////absolute/path, as SQLAlchemy spells them.
        path = unquote(parts.path[1:]) if parts.path.startswith("/") else unquote(parts.path)
        if not path:
            raise UnsupportedDatabaseURLError("a sqlite URL needs a file path: sqlite:///data/x.db")
        return TimebankSQLiteEngine(
            path=path,
            synchronous=_sqlite_synchronous(parts.query),
            timeout=SQLITE_BUSY_TIMEOUT_SECONDS,
        )
    if parts.scheme in ("postgresql", "postgres"):
        # JIT off: the planner's cost estimates for the reports' queries cross
        # jit_above_cost, and compiling took longer than the query (ADR 0050).
        config: dict[str, Any] = {"dsn": url, "server_settings": POSTGRES_SESSION_SETTINGS}
        if connect_timeout_seconds is not None:
            config["timeout"] = connect_timeout_seconds
        return TimebankPostgresEngine(config=config, extensions=())
    raise UnsupportedDatabaseURLError(
        f"DATABASE_URL must start with sqlite:/// or postgresql://, not {parts.scheme}://"
    )


def _sqlite_synchronous(query: str) -> Synchronous:
    """`?synchronous=normal` on a sqlite URL opts into NORMAL (ADR 0024); FULL otherwise."""
    options = parse_qs(query, keep_blank_values=True)
    unknown = set(options) - {"synchronous"}
    if unknown:
        raise UnsupportedDatabaseURLError(
            f"a sqlite URL takes only ?synchronous=full|normal, not {sorted(unknown)}"
        )
    values = options.get("synchronous", [SYNCHRONOUS_DEFAULT])
    value = values[-1].lower()
    if len(values) != 1 or value not in SQLITE_SYNCHRONOUS_CHOICES:
        raise UnsupportedDatabaseURLError(
            f"sqlite ?synchronous= must be full or normal, not {values[-1]!r}"
        )
    return cast("Synchronous", value)


def is_postgres(engine: Engine[Any]) -> bool:
    return isinstance(engine, PostgresEngine)


def stored_instant(connection: Connection, instant: datetime) -> datetime | str:
    """`instant` as a parameter for SQL on `connection` that compares it with a column
    Piccolo wrote. On SQLite Piccolo stores `str()` of the UTC datetime
    ("2026-03-01 00:00:00+00:00"), which the ledger's own text form does not sort
    with at whole seconds: a service date at midnight on the 1st would fall in the
    previous month. PostgreSQL takes the datetime.
    """
    return instant if connection.is_postgres else str(instant.astimezone(UTC))


_active: dict[str, Engine[Any]] = {}


def activate(engine: Engine[Any]) -> None:
    """Make `engine` the one every table and Piccolo itself use from now on."""
    _active["engine"] = engine
    os.environ["PICCOLO_CONF"] = "service.piccolo_conf"
    for table in all_tables():
        table._meta.db = engine  # noqa: SLF001 - Piccolo's documented way to bind a table


def active_engine() -> Engine[Any]:
    try:
        return _active["engine"]
    except KeyError:
        raise RuntimeError(
            "no database engine is active: call service.database.activate()"
        ) from None


@contextlib.asynccontextmanager
async def point_read() -> AsyncIterator[Connection]:
    """A connection for one short indexed read on the hot path (the caller, a balance).

    On SQLite with kept connections and no transaction open, the read runs on the
    loop's own thread (`InlineReader`, ADR 0053): no thread hand-offs. Anywhere else
    it is the ledger's `read_connection` (the transaction's connection, a pooled
    PostgreSQL one, or a kept aiosqlite reader).
    """
    engine = active_engine()
    inline = _inline_reader_of(engine)
    if inline is not None:
        yield Connection(inline, Dialect.SQLITE)
        return
    async with read_connection(engine) as connection:
        yield connection


def point_reads_shared() -> bool:
    """True when concurrent point reads may share a statement (service/shared_reads.py):
    on PostgreSQL, outside any transaction (a transaction reads on its own connection)."""
    engine = active_engine()
    return isinstance(engine, PostgresEngine) and engine.current_transaction.get() is None


def point_reads_inline() -> bool:
    """True when `point_read` costs a SQLite read and nothing more here (no round trip)."""
    return _inline_reader_of(active_engine()) is not None


def _inline_reader_of(engine: Engine[Any]) -> InlineReader | None:
    if not isinstance(engine, TimebankSQLiteEngine):
        return None
    if engine.current_transaction.get() is not None:
        return None  # inside a transaction, its own connection reads what it wrote
    return engine.inline_reader()


def all_tables() -> Iterator[type[Table]]:
    yield Migration
    for app in APPS:
        yield from _tables_of(app)


def _tables_of(app: AppSpec) -> Iterator[type[Table]]:
    for module_name in app.table_modules:
        module = importlib.import_module(module_name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, Table) and value is not Table and value.__module__ == module_name:
                yield value


def app_registry() -> AppRegistry:
    configs = [
        AppConfig(
            app_name=app.name,
            migrations_folder_path=str(app.migrations_path),
            table_classes=list(_tables_of(app)),
        )
        for app in APPS
    ]
    return AppRegistry(apps=[], app_configs=configs)  # type: ignore[call-arg]


async def prepare(engine: Engine[Any]) -> None:
    """Per-process set-up: WAL and kept connections for SQLite, a pool for PostgreSQL."""
    if isinstance(engine, SQLiteEngine):
        Path(engine.path).parent.mkdir(parents=True, exist_ok=True)
        if sqlite3.sqlite_version_info < SQLITE_VERSION_MIN:
            raise RuntimeError(f"SQLite {SQLITE_VERSION_MIN} or newer is required")
        # WAL lets readers run beside the one writer; it is stored in the file.
        await engine.run_ddl("PRAGMA journal_mode=WAL")
        if isinstance(engine, TimebankSQLiteEngine):
            await _keep_sqlite_connections(engine)
    elif isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(
            min_size=POSTGRES_POOL_SIZE_MIN,
            max_size=POSTGRES_POOL_SIZE_MAX,
            reset=_reset_postgres_connection,
        )


async def _keep_sqlite_connections(engine: TimebankSQLiteEngine) -> None:
    if engine.kept is not None:
        await engine.kept.close()
    engine.kept = SQLiteConnections(
        engine.connection_kwargs, synchronous=engine.synchronous, row_factory=dict_factory
    )


async def release(engine: Engine[Any]) -> None:
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()
    elif isinstance(engine, TimebankSQLiteEngine) and engine.kept is not None:
        kept, engine.kept = engine.kept, None
        await kept.close()


def _migration_modules(app: AppSpec) -> dict[str, ModuleType]:
    modules: dict[str, ModuleType] = {}
    if not app.migrations_path.is_dir():
        return modules
    for path in sorted(app.migrations_path.glob("*.py")):
        if path.name == "__init__.py":
            continue
        module_name = f"timebank_migrations_{app.name}_{path.stem}"
        module = sys.modules.get(module_name) or _load_module(module_name, path)
        migration_id = getattr(module, "ID", None)
        if isinstance(migration_id, str):
            modules[migration_id] = module
    return modules


def _load_module(module_name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load migration {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


async def _ensure_migration_table() -> None:
    await Migration.create_table(if_not_exists=True).run()  # type: ignore[no-untyped-call]


async def pending_migrations(engine: Engine[Any]) -> list[str]:
    """Migration ids present in the code but not yet applied to `engine`'s database."""
    activate(engine)
    if not await Migration.table_exists().run():
        return [f"{app.name}:{mid}" for app in APPS for mid in sorted(_migration_modules(app))]
    pending: list[str] = []
    for app in APPS:
        ran = set(await Migration.get_migrations_which_ran(app_name=app.name))
        pending += [
            f"{app.name}:{mid}" for mid in sorted(_migration_modules(app)) if mid not in ran
        ]
    return pending


async def migrate(engine: Engine[Any]) -> list[str]:
    """Apply every pending migration, app by app, in id order. Returns what ran."""
    activate(engine)
    await _ensure_migration_table()
    applied: list[str] = []
    for app in APPS:
        ran = set(await Migration.get_migrations_which_ran(app_name=app.name))
        for migration_id, module in sorted(_migration_modules(app).items()):
            if migration_id in ran:
                continue
            manager = await module.forwards()
            if isinstance(manager, MigrationManager):
                await manager.run()
            await Migration.insert(Migration(name=migration_id, app_name=app.name)).run()
            applied.append(f"{app.name}:{migration_id}")
    return applied
