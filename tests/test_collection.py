"""A fresh clone's `make test` skips nothing: what needs PostgreSQL or Redis is not collected
without its URL, and is collected (and required) on CI. See tests/backends.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ONLY = "test_postgresql_plans_the_grouped_read_once_per_connection"


def pytest_run(tmp_path: Path, *arguments: str, **environment: str) -> str:
    """Output of a pytest run in a subprocess, without this run's server URLs or CI flag."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"TEST_DATABASE_URL", "TEST_REDIS_URL", "CI", "PYTEST_XDIST_WORKER"}
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0", *arguments],
        cwd=ROOT,
        env={**env, **environment},
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout + done.stderr


def test_without_servers_the_postgresql_only_test_is_left_out_not_skipped(tmp_path):
    output = pytest_run(tmp_path, "tests/test_grouped_reads.py", "-rs")
    assert POSTGRES_ONLY not in output
    assert "skipped" not in output
    assert "passed" in output
    assert "not collected: the PostgreSQL/Redis variants" in output


def test_on_ci_the_postgresql_only_test_is_collected(tmp_path):
    output = pytest_run(tmp_path, "tests/test_grouped_reads.py", "--collect-only", "-q", CI="true")
    assert f"{POSTGRES_ONLY}[postgresql]" in output


def test_an_empty_parameter_set_is_left_out_not_skipped(tmp_path):
    probe = tmp_path / "test_empty_parameters.py"
    probe.write_text(
        "import pytest\n\n\n"
        "@pytest.mark.parametrize('value', [])\n"
        "def test_nothing(value):\n    assert value\n\n\n"
        "def test_something():\n    assert True\n"
    )
    config = ("-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path))
    output = pytest_run(tmp_path, *config, "-p", "tests.backends", str(probe), "-rs")
    assert "1 passed" in output
    assert "skipped" not in output
    plain = pytest_run(tmp_path, *config, str(probe), "-rs")  # the probe: pytest alone skips
    assert "1 skipped" in plain
