"""The deployable release: Dockerfile, .dockerignore, compose.yaml and deploy/ say what
docs/operations.md promises (slim, non-root, health-checked image; PostgreSQL, one migrate
step, serve replicas behind one port, one scheduler), and replicas that migrate at once on
PostgreSQL take turns.

Docker itself may be missing where the tests run, so the files are read and checked here;
nginx and promtool are used when installed.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.persistence import migrate
from adapters.persistence.engine import create_engine
from bot.metrics import Metrics
from bot.settings import Settings

from .conftest import PG_URL, drop_pg_schema, pg_schema_engine
from .test_serve import serve

ROOT = Path(__file__).resolve().parents[1]


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments out."""
    joined = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    found = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def stages(text: str) -> list[list[tuple[str, str]]]:
    split: list[list[tuple[str, str]]] = []
    for instruction in instructions(text):
        if instruction[0] == "FROM":
            split.append([])
        if split:
            split[-1].append(instruction)
    return split


DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def arg(name: str) -> str:
    for word, rest in instructions(DOCKERFILE):
        if word == "ARG" and rest.startswith(f"{name}="):
            return rest.split("=", 1)[1]
    raise AssertionError(f"no ARG {name}")


def test_the_image_is_multi_stage_on_slim_python_311() -> None:
    built = stages(DOCKERFILE)
    assert len(built) >= 2
    assert arg("PYTHON_IMAGE").startswith("python:3.11-slim")
    for stage in built:
        assert stage[0][1].split()[0] == "${PYTHON_IMAGE}"
    build_stage = " ".join(rest for _, rest in built[0])
    assert "pip wheel" in build_stage  # the wheels are built in the builder stage


def test_the_final_stage_runs_laurel_as_a_user_without_privileges() -> None:
    final = stages(DOCKERFILE)[-1]
    words = [word for word, _ in final]
    users = [rest for word, rest in final if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert words.index("USER") > max(i for i, w in enumerate(words) if w == "RUN")
    runs = " ".join(rest for word, rest in final if word == "RUN")
    for tool in ("apt-get install", "gcc", "build-essential", "curl", "wget", "pip install"):
        assert tool not in runs, f"{tool} in the final image"
    assert any(word == "COPY" and "--from=build" in rest for word, rest in final)
    assert ("EXPOSE", "3000") in final
    env = " ".join(rest for word, rest in final if word == "ENV")
    assert "LAUREL_LOG_FORMAT=json" in env
    assert ("ENTRYPOINT", '["laurel"]') in final
    assert ("CMD", '["serve", "--no-scheduler"]') in final


def healthcheck_command() -> list[str]:
    final = stages(DOCKERFILE)[-1]
    [check] = [rest for word, rest in final if word == "HEALTHCHECK"]
    options, _, command = check.partition(" CMD ")
    assert "--interval" in options and "--timeout" in options
    argv = json.loads(command)
    assert isinstance(argv, list)
    return argv


async def test_the_healthcheck_asks_healthz_with_python_alone(tmp_path: Path) -> None:
    argv = healthcheck_command()
    assert argv[:2] == ["python", "-c"] and "/healthz" in argv[2] and "urllib" in argv[2]
    async with serve(tmp_path) as base:
        port = base.rsplit(":", 1)[1]
        healthy = await asyncio.to_thread(
            subprocess.run, [sys.executable, *argv[1:]], env={**os.environ, "PORT": port}
        )
    assert healthy.returncode == 0
    gone = await asyncio.to_thread(
        subprocess.run, [sys.executable, *argv[1:]], env={**os.environ, "PORT": port}
    )
    assert gone.returncode != 0  # nobody answers: unhealthy


def test_dockerignore_keeps_secrets_databases_and_caches_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for pattern in (".git", ".venv", "**/.env", "**/*.db", ".pytest_cache", ".mypy_cache"):
        assert pattern in ignored
    for word, rest in instructions(DOCKERFILE):
        if word == "COPY" and "--from" not in rest:
            for source in shlex.split(rest)[:-1]:
                assert (ROOT / source).exists(), source
                assert source.rstrip("/") not in ignored, f"{source} is copied yet ignored"


COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]


def command(service: str) -> list[str]:
    return list(SERVICES[service]["command"])


def test_compose_runs_postgres_then_migrate_then_replicas_and_one_scheduler() -> None:
    postgres = SERVICES["postgres"]
    assert postgres["image"].startswith("postgres:16")
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])

    assert command("migrate") == ["db", "upgrade"]
    assert SERVICES["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert SERVICES["migrate"]["restart"] == "no"

    laurel = SERVICES["laurel"]
    assert command("laurel") == ["serve", "--no-scheduler"]
    assert laurel["deploy"]["replicas"] >= 2
    assert "ports" not in laurel  # reached through the proxy only
    for name in ("laurel", "scheduler"):
        service = SERVICES[name]
        assert service["environment"]["LAUREL_AUTO_MIGRATE"] == "0"
        assert service["environment"]["DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert service["env_file"] == ".env"
        assert service["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}

    scheduler = SERVICES["scheduler"]
    assert command("scheduler")[0] == "scheduler"
    assert scheduler.get("deploy", {}).get("replicas", 1) == 1
    port = command("scheduler")[command("scheduler").index("--metrics-port") + 1]
    assert f"127.0.0.1:{port}/healthz" in " ".join(scheduler["healthcheck"]["test"])


def test_compose_has_one_port_in_front_of_the_replicas() -> None:
    published = {name: s["ports"] for name, s in SERVICES.items() if s.get("ports")}
    public = {
        name
        for name, ports in published.items()
        if any(not str(p).startswith("127.0.0.1:") for p in ports)
    }
    assert public == {"proxy"}
    assert published["proxy"] == ["${LAUREL_PORT:-3000}:3000"]
    mounted = [v.split(":")[0] for v in SERVICES["proxy"]["volumes"]]
    assert "./deploy/nginx.conf" in mounted
    conf = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    assert "listen 3000;" in conf and "http://laurel:3000" in conf
    assert "resolver 127.0.0.11" in conf  # Docker's DNS: every replica, scaled or not
    for service in SERVICES.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).is_file(), source


def test_env_example_names_every_setting_compose_does_not_set() -> None:
    text = (ROOT / "deploy" / "env.example").read_text(encoding="utf-8")
    named = {line.split("=", 1)[0] for line in text.splitlines() if re.match(r"^\w+=", line)}
    settings = {field.alias for field in Settings.model_fields.values() if field.alias}
    set_by_compose = set(SERVICES["laurel"]["environment"])
    for_tests_only = {"SLACK_API_URL", "LAUREL_TEAMS_INSECURE_DEV", "HOST", "PORT"}
    compose_variables = set(re.findall(r"\$\{(\w+)", (ROOT / "compose.yaml").read_text()))
    assert settings - set_by_compose - for_tests_only <= named
    assert named <= settings | compose_variables


def test_operations_doc_names_every_metric() -> None:
    doc = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    families = {
        family.name for family in Metrics().registry.collect() if family.name.startswith("laurel_")
    }
    assert families
    for name in families:
        suffix = "_total" if name not in doc and f"{name}_total" in doc else ""
        assert f"{name}{suffix}" in doc, name


def test_nginx_accepts_the_proxy_config(tmp_path: Path) -> None:
    nginx = shutil.which("nginx")
    if nginx is None:
        pytest.skip("nginx is not installed")
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ include {ROOT}/deploy/nginx.conf; }}\n",
        encoding="utf-8",
    )
    checked = subprocess.run([nginx, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_prometheus_accepts_the_scrape_config_and_the_alerts(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed")
    rules = subprocess.run(
        [promtool, "check", "rules", str(ROOT / "deploy" / "alerts.yml")],
        capture_output=True,
        text=True,
    )
    assert rules.returncode == 0, rules.stdout + rules.stderr
    config = tmp_path / "prometheus.yml"
    config.write_text(
        (ROOT / "deploy" / "prometheus.yml")
        .read_text(encoding="utf-8")
        .replace("/etc/prometheus/alerts.yml", str(ROOT / "deploy" / "alerts.yml")),
        encoding="utf-8",
    )
    checked = subprocess.run(
        [promtool, "check", "config", str(config)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    exposition = Metrics().exposition()
    lint = subprocess.run([promtool, "check", "metrics"], input=exposition, capture_output=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


@pytest.mark.skipif(not PG_URL, reason="LAUREL_TEST_PG_URL is not set")
async def test_replicas_that_migrate_at_once_take_turns() -> None:
    """Three processes' worth of engines upgrade one empty schema at the same moment: one
    migrates, the others wait for it and find nothing left to do."""
    first, schema = await pg_schema_engine()
    assert PG_URL
    engines = [first] + [
        create_engine(PG_URL, connect_args={"server_settings": {"search_path": schema}})
        for _ in range(2)
    ]
    try:
        together = asyncio.gather(*(migrate.upgrade(engine) for engine in engines))
        await asyncio.wait_for(together, 120)  # without the lock they would deadlock
        assert await migrate.current_revision(first) == migrate.head_revision()
    finally:
        for engine in engines:
            await engine.dispose()
        await drop_pg_schema(schema)
