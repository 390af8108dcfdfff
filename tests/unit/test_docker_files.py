"""The Dockerfile and compose file are checked offline: no Docker engine is needed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import compose

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_BINARY = Path(compose.__file__).parent / "docker-compose"
HADOLINT = Path(sys.executable).parent / "hadolint"


def _compose_config(env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("SECRET_KEY", "POSTGRES_PASSWORD")
    }
    env.update(env_extra)
    return subprocess.run(
        [str(COMPOSE_BINARY), "-f", str(ROOT / "docker" / "compose.yaml"), "config", "-q"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_compose_file_is_valid() -> None:
    result = _compose_config({"SECRET_KEY": "s" * 40, "POSTGRES_PASSWORD": "pw"})
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_run_without_secrets() -> None:
    result = _compose_config({})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr or "POSTGRES_PASSWORD" in result.stderr


def test_compose_has_healthchecked_postgres_and_redis() -> None:
    text = (ROOT / "docker" / "compose.yaml").read_text()
    assert "pg_isready" in text
    assert "condition: service_healthy" in text
    assert "redis:" in text


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [str(HADOLINT), str(ROOT / "docker" / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_as_non_root_and_migrates_first() -> None:
    lines = (ROOT / "docker" / "Dockerfile").read_text().splitlines()
    users = [line for line in lines if line.startswith("USER ")]
    assert users
    assert users[-1] not in ("USER root", "USER 0")
    assert any(line.startswith("CMD") and "--migrate" in line for line in lines)
    assert sum(line.startswith("FROM ") for line in lines) >= 2
