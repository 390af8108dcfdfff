"""Database engines, table binding and migrations, for SQLite and PostgreSQL.

Piccolo finds its engine through a `piccolo_conf` module. We keep that module
(`service.piccolo_conf`) but make it answer with the engine chosen here at
start-up, so the engine comes from `Settings` rather than from import-time
globals, and tests can run the same code against a fresh database each time.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote, urlsplit

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.apps.migrations.tables import Migration
from piccolo.conf.apps import AppConfig, AppRegistry
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.table import Table

MIGRATIONS_ROOT = Path(__file__).resolve().parent.parent / "migrations"
SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
POSTGRES_POOL_SIZE_MIN = 2
POSTGRES_POOL_SIZE_MAX = 20
SQLITE_VERSION_MIN = (3, 35, 0)  # RETURNING and DROP COLUMN


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
    """SQLite engine that does no I/O when constructed (see above)."""

    async def check_version(self) -> None:
        return None

    async def prep_database(self) -> None:
        return None


def engine_from_url(url: str) -> Engine[Any]:
    """Build the Piccolo engine a DATABASE_URL describes (no I/O happens here)."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:///relative/path and sqlite:////absolute/path, as SQLAlchemy spells them.
        path = unquote(parts.path[1:]) if parts.path.startswith("/") else unquote(parts.path)
        if not path:
            raise UnsupportedDatabaseURLError("a sqlite URL needs a file path: sqlite:///data/x.db")
        return TimebankSQLiteEngine(path=path, timeout=SQLITE_BUSY_TIMEOUT_SECONDS)
    if parts.scheme in ("postgresql", "postgres"):
        return TimebankPostgresEngine(config={"dsn": url}, extensions=())
    raise UnsupportedDatabaseURLError(
        f"DATABASE_URL must start with sqlite:/// or postgresql://, not {parts.scheme}://"
    )


def is_postgres(engine: Engine[Any]) -> bool:
    return isinstance(engine, PostgresEngine)


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
    """Per-process set-up: WAL for SQLite, a connection pool for PostgreSQL."""
    if isinstance(engine, SQLiteEngine):
        Path(engine.path).parent.mkdir(parents=True, exist_ok=True)
        if sqlite3.sqlite_version_info < SQLITE_VERSION_MIN:
            raise RuntimeError(f"SQLite {SQLITE_VERSION_MIN} or newer is required")
        # WAL lets readers run beside the one writer; it is stored in the file.
        await engine.run_ddl("PRAGMA journal_mode=WAL")
    elif isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(
            min_size=POSTGRES_POOL_SIZE_MIN, max_size=POSTGRES_POOL_SIZE_MAX
        )


async def release(engine: Engine[Any]) -> None:
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()


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
