from __future__ import annotations

from pathlib import Path

import pytest
from piccolo.engine.postgres import PostgresEngine

from service.database import UnsupportedDatabaseURLError, engine_from_url
from service.settings import Settings, SettingsError


def test_defaults_to_sqlite_in_data_dir(tmp_path: Path) -> None:
    settings = Settings.from_env({"TIMEBANK_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'timebank.sqlite3'}"
    assert settings.mode == "development"
    assert not settings.is_postgres


def test_development_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = Settings.from_env({"TIMEBANK_DATA_DIR": str(tmp_path)})
    second = Settings.from_env({"TIMEBANK_DATA_DIR": str(tmp_path)})
    assert len(first.secret_key) >= 32
    assert first.secret_key == second.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_requires_secret_key(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SECRET_KEY is required"):
        Settings.from_env({"TIMEBANK_ENV": "production", "TIMEBANK_DATA_DIR": str(tmp_path)})


def test_short_secret_key_refused() -> None:
    with pytest.raises(SettingsError, match="at least"):
        Settings.from_env({"SECRET_KEY": "short"})


def test_unknown_mode_and_level_refused() -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({"TIMEBANK_ENV": "staging", "SECRET_KEY": "s" * 40})
    with pytest.raises(SettingsError):
        Settings.from_env({"LOG_LEVEL": "LOUD", "SECRET_KEY": "s" * 40})


def test_secret_and_password_never_in_repr() -> None:
    settings = Settings.from_env(
        {"SECRET_KEY": "s" * 40, "DATABASE_URL": "postgresql://app:hunter2@db:5432/timebank"}
    )
    assert settings.is_postgres
    assert "hunter2" not in repr(settings)
    assert "s" * 40 not in repr(settings)


def test_engine_from_url() -> None:
    assert engine_from_url("sqlite:///data/x.db").path == "data/x.db"  # type: ignore[attr-defined]
    assert engine_from_url("sqlite:////tmp/x.db").path == "/tmp/x.db"  # type: ignore[attr-defined]
    assert isinstance(engine_from_url("postgresql://u@h/db"), PostgresEngine)
    with pytest.raises(UnsupportedDatabaseURLError):
        engine_from_url("mysql://u@h/db")


def test_password_hashing_cost_comes_from_the_environment(tmp_path: Path) -> None:
    base = {"SECRET_KEY": "k" * 40, "TIMEBANK_DATA_DIR": str(tmp_path)}
    defaults = Settings.from_env(base)
    assert (defaults.password_time_cost, defaults.password_memory_kib) == (3, 65_536)
    cheap = Settings.from_env({**base, "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "1024"})
    assert (cheap.password_time_cost, cheap.password_memory_kib) == (1, 1024)
    with pytest.raises(SettingsError, match="ARGON2_TIME_COST"):
        Settings.from_env({**base, "ARGON2_TIME_COST": "0"})
