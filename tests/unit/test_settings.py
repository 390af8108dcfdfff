from __future__ import annotations

from pathlib import Path

import pytest
from piccolo.engine.postgres import PostgresEngine

from service.database import UnsupportedDatabaseURLError, engine_from_url
from service.limits import (
    EXCHANGE_HOLD_DAYS_DEFAULT,
    EXCHANGE_HOLD_DAYS_MAX,
    EXCHANGE_HOLD_DAYS_MIN,
)
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


def test_exchange_hold_days_come_from_the_environment(tmp_path: Path) -> None:
    base = {"SECRET_KEY": "k" * 40, "TIMEBANK_DATA_DIR": str(tmp_path)}
    default = Settings.from_env(base)
    assert default.exchange_hold_days == EXCHANGE_HOLD_DAYS_DEFAULT == 14
    assert default.exchange_hold_seconds == 14 * 24 * 3600
    assert Settings.from_env({**base, "EXCHANGE_HOLD_DAYS": ""}).exchange_hold_days == 14
    for raw, days in (("1", 1), (" 30 ", 30), ("90", 90)):
        settings = Settings.from_env({**base, "EXCHANGE_HOLD_DAYS": raw})
        assert settings.exchange_hold_days == days
        assert settings.exchange_hold_seconds == days * 86_400


@pytest.mark.parametrize("raw", ["0", "91", "-3", "7.5", "two weeks", "١٤", "²", "9" * 5000])
def test_exchange_hold_days_out_of_bounds_or_not_a_number_are_refused(
    tmp_path: Path, raw: str
) -> None:
    env = {"SECRET_KEY": "k" * 40, "TIMEBANK_DATA_DIR": str(tmp_path), "EXCHANGE_HOLD_DAYS": raw}
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(env)
    message = str(refused.value)
    assert message.startswith(
        f"EXCHANGE_HOLD_DAYS must be a whole number from {EXCHANGE_HOLD_DAYS_MIN} "
        f"to {EXCHANGE_HOLD_DAYS_MAX}"
    )


def test_settings_made_in_code_keep_the_hold_bounds() -> None:
    with pytest.raises(SettingsError, match="exchange_hold_days"):
        Settings(database_url="sqlite:///x.db", exchange_hold_days=0)
    with pytest.raises(SettingsError, match="exchange_hold_days"):
        Settings(database_url="sqlite:///x.db", exchange_hold_days=EXCHANGE_HOLD_DAYS_MAX + 1)


def test_sweeps_interval_comes_from_the_environment_within_bounds(tmp_path: Path) -> None:
    base = {"SECRET_KEY": "k" * 40, "TIMEBANK_DATA_DIR": str(tmp_path)}
    assert Settings.from_env(base).sweeps_interval_seconds == 60
    settings = Settings.from_env({**base, "SWEEPS_INTERVAL_SECONDS": "2"})
    assert settings.sweeps_interval_seconds == 2
    for raw in ("0", "3601", "fast"):
        with pytest.raises(SettingsError, match="SWEEPS_INTERVAL_SECONDS must be"):
            Settings.from_env({**base, "SWEEPS_INTERVAL_SECONDS": raw})
    with pytest.raises(SettingsError, match="sweeps_interval_seconds"):
        Settings(database_url="sqlite:///x.db", sweeps_interval_seconds=0)
