"""The container files agree with the code: .env.example lists every setting with its default,
compose.yaml declares the five services with health checks, the image keeps Babel's data for
exactly the languages the app speaks, and the entrypoint starts what its first argument names.
(scripts/image-check builds and runs the image itself.)"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from selfserve.ops import SUPPORTED_LANGUAGES, Settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_LINE = re.compile(r"^# ([A-Z][A-Z0-9_]*)=(.*)$")


def example_settings() -> dict[str, str]:
    """{NAME: value} of every `# NAME=value` line of .env.example."""
    found = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = EXAMPLE_LINE.match(line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def test_env_example_names_every_setting_and_nothing_else():
    assert sorted(example_settings()) == sorted(spec.name.upper() for spec in fields(Settings))


def test_env_example_gives_each_setting_its_default(tmp_path):
    values = {**example_settings(), "INSTANCE_PATH": str(tmp_path)}
    from_example = Settings.from_environment(values)
    defaults = Settings(instance_path=str(tmp_path)).completed()
    assert from_example == defaults


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_declares_the_five_services_each_with_a_health_check():
    services = compose()["services"]
    assert set(services) == {"migrate", "web", "worker", "postgres", "redis"}
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"


def test_web_and_worker_wait_for_migrate_and_share_the_instance_volume():
    services, volumes = compose()["services"], compose()["volumes"]
    for name in ("web", "worker"):
        waits = services[name]["depends_on"]
        assert waits["migrate"]["condition"] == "service_completed_successfully", name
        assert "instance:/app/instance" in services[name]["volumes"], name
    assert services["migrate"]["command"] == ["migrate"]
    assert {"postgres", "redis", "instance"} <= set(volumes)


def test_the_image_keeps_babel_data_for_exactly_the_languages_the_app_speaks():
    declared = re.search(r'^ARG LANGUAGES="(.*)"$', (ROOT / "Dockerfile").read_text(), re.M)
    assert declared is not None
    assert declared.group(1).split("\\|") == list(SUPPORTED_LANGUAGES)


@pytest.mark.parametrize(
    "kept_out", [".venv", "instance", "**/*.db", "posters", ".env", ".git", "**/*.mo"]
)
def test_the_build_context_leaves_out_local_state_and_secrets(kept_out):
    assert kept_out in (ROOT / ".dockerignore").read_text().splitlines()


@pytest.fixture
def stub_path(tmp_path):
    """A PATH whose gunicorn and flask print how they were called."""
    for program in ("gunicorn", "flask"):
        stub = tmp_path / program
        stub.write_text(f'#!/bin/sh\necho {program} "$@"\n')
        stub.chmod(0o755)
    return f"{tmp_path}:/usr/bin:/bin"


@pytest.mark.parametrize(
    ("arguments", "runs"),
    [
        ([], "gunicorn -c gunicorn.conf.py app:create_app()"),
        (["web"], "gunicorn -c gunicorn.conf.py app:create_app()"),
        (["worker"], "flask --app app worker"),
        (["worker", "--threads", "8"], "flask --app app worker --threads 8"),
        (["migrate"], "flask --app app db upgrade"),
        (["users", "list"], "flask --app app users list"),
        (["flask", "--version"], "flask --version"),
        (["sh", "-c", "echo hello"], "hello"),
    ],
)
def test_the_entrypoint_runs_what_its_first_argument_names(stub_path, arguments, runs):
    done = subprocess.run(
        ["/bin/sh", str(ROOT / "deploy" / "entrypoint.sh"), *arguments],
        env={**os.environ, "PATH": stub_path},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == runs
