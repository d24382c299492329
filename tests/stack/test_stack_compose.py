"""docker/compose.yaml: rendered by a compose binary where one is installed (make
test-stack installs Debian's docker-compose when it can), and its structure checked here
in every case, since this machine has no Docker engine to run it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.stack

DOCKER = Path(__file__).resolve().parents[2] / "docker"
COMPOSE = DOCKER / "compose.yaml"
ENV_EXAMPLE = DOCKER / ".env.example"
SERVICES = {
    "postgres",
    "prefect",
    "mlflow",
    "dask-scheduler",
    "dask-worker-1",
    "dask-worker-2",
    "nnflow-worker",
}
NNFLOW_SERVICES = SERVICES - {"postgres"}


def env_example() -> dict[str, str]:
    lines = ENV_EXAMPLE.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}, enough for this file."""

    def value(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if name in env and env[name] != "":
            return env[name]
        if op == ":?":
            raise AssertionError(f"compose needs {name}: {arg}")
        return arg or ""

    text = text.replace("$$", "\0")
    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", value, text).replace("\0", "$")


@pytest.fixture(scope="module")
def rendered() -> dict:
    return yaml.safe_load(interpolate(COMPOSE.read_text(), env_example()))


def compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_config_renders(tmp_path, rendered):
    command = compose_command()
    if command is None:
        # No binary: the structural tests below are the whole check (and say so here).
        print("no compose binary; docker/compose.yaml checked structurally only")
        return
    result = subprocess.run(
        [*command, "-f", str(COMPOSE), "--env-file", str(ENV_EXAMPLE), "config"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert set(yaml.safe_load(result.stdout)["services"]) == SERVICES


def test_compose_refuses_to_start_without_secrets():
    text = COMPOSE.read_text()
    for secret in ("POSTGRES_PASSWORD", "PREFECT_DB_PASSWORD", "MLFLOW_DB_PASSWORD"):
        assert re.search(r"\$\{" + secret + r":\?", text), f"{secret} must be required"
    with pytest.raises(AssertionError, match="POSTGRES_PASSWORD"):
        interpolate(text, {})


def test_every_service_has_a_healthcheck_and_waits_for_healthy(rendered):
    services = rendered["services"]
    assert set(services) == SERVICES
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name}: no healthcheck"
        for dependency, how in service.get("depends_on", {}).items():
            assert dependency in services
            assert how == {"condition": "service_healthy"}, (name, dependency, how)
    assert set(services["prefect"]["depends_on"]) == {"postgres"}
    assert set(services["mlflow"]["depends_on"]) == {"postgres"}
    assert {"prefect", "mlflow"} <= set(services["nnflow-worker"]["depends_on"])
    for worker in ("dask-worker-1", "dask-worker-2"):
        assert "dask-scheduler" in services[worker]["depends_on"]


def test_ports_are_published_on_localhost_only(rendered):
    published = [
        (name, port)
        for name, service in rendered["services"].items()
        for port in service.get("ports", [])
    ]
    assert {name for name, _ in published} == {"postgres", "prefect", "mlflow", "dask-scheduler"}
    for name, port in published:
        assert str(port).startswith("127.0.0.1:"), (name, port)


def test_state_lives_in_named_volumes(rendered):
    assert {"pgdata", "mlflow-artifacts"} <= set(rendered["volumes"])
    services = rendered["services"]
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "mlflow-artifacts:/mlartifacts" in services["mlflow"]["volumes"]


def test_servers_use_postgres_and_serve_artifacts(rendered):
    services = rendered["services"]
    env = env_example()
    prefect_url = services["prefect"]["environment"]["PREFECT_SERVER_DATABASE_CONNECTION_URL"]
    assert prefect_url.startswith("postgresql+asyncpg://")
    assert prefect_url.endswith(f"@postgres:5432/{env['PREFECT_DB']}")

    mlflow = services["mlflow"]["command"]

    def flag(name: str) -> str:
        return mlflow[mlflow.index(name) + 1]

    assert flag("--backend-store-uri").startswith("postgresql")
    assert flag("--backend-store-uri").endswith(f"@postgres:5432/{env['MLFLOW_DB']}")
    assert env["PREFECT_DB"] != env["MLFLOW_DB"]
    assert "--serve-artifacts" in mlflow and flag("--artifacts-destination") == "/mlartifacts"
    assert "mlflow:*" in flag("--allowed-hosts").split(",")

    init = (DOCKER / "postgres" / "init-databases.sh").read_text()
    assert "/docker-entrypoint-initdb.d/" in " ".join(services["postgres"]["volumes"])
    assert 'CREATE DATABASE :"prefect_db"' in init and 'CREATE DATABASE :"mlflow_db"' in init


def test_nnflow_services_share_the_image_and_the_client_env(rendered):
    services = rendered["services"]
    for name in NNFLOW_SERVICES:
        assert services[name]["build"]["dockerfile"] == "docker/Dockerfile", name
        assert services[name]["image"] == services["prefect"]["image"], name
    for name in ("dask-worker-1", "dask-worker-2", "nnflow-worker"):
        env = services[name]["environment"]
        assert env["PREFECT_API_URL"] == "http://prefect:4200/api", name
        assert env["MLFLOW_TRACKING_URI"] == "http://mlflow:5000", name
        assert env["OMP_NUM_THREADS"] == "1", name
    assert services["nnflow-worker"]["command"][0] == "serve"
    for worker in ("dask-worker-1", "dask-worker-2"):
        command = services[worker]["command"]
        assert command[:2] == ["worker", "tcp://dask-scheduler:8786"]
        assert command[command.index("--nthreads") + 1] == "1"


def test_dockerfile_is_slim_locked_and_unprivileged():
    text = (DOCKER / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    assert "requirements.lock" in text
    user = re.findall(r"^USER (\S+)$", text, re.M)
    assert user and user[-1] not in {"root", "0"}
    assert re.search(r'^ENTRYPOINT \["nnflow"\]$', text, re.M)
