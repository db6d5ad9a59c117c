"""gunicorn.conf.py's defaults that are not gunicorn settings of their own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
READ_RESOLVER = (
    "import os, runpy; runpy.run_path('gunicorn.conf.py'); "
    "print(os.environ.get('GEVENT_RESOLVER', ''))"
)


def resolver_after_loading(metrics: Path, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "GEVENT_RESOLVER"}
    environment |= {"PROMETHEUS_MULTIPROC_DIR": str(metrics), **env}
    finished = subprocess.run(
        [sys.executable, "-c", READ_RESOLVER],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return finished.stdout.strip()


def test_gevent_workers_look_names_up_with_c_ares(tmp_path):
    assert resolver_after_loading(tmp_path) == "ares"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"GEVENT_RESOLVER": "thread"}, "thread"),  # an explicit choice is kept
        ({"GUNICORN_WORKER_CLASS": "gthread"}, ""),  # threads: gevent is not there
    ],
)
def test_an_explicit_resolver_or_threads_are_left_alone(env, expected, tmp_path):
    assert resolver_after_loading(tmp_path, **env) == expected


def test_each_worker_freezes_what_the_app_loaded(tmp_path):
    """Full garbage collections walked everything the app loads once (p99 268 -> 70 ms with
    the freeze, bench scenario 4): a worker's post_worker_init hook freezes it."""
    check = (
        "import gc, runpy; hooks = runpy.run_path('gunicorn.conf.py'); "
        "import app; before = gc.get_freeze_count(); hooks['post_worker_init'](None); "
        "print(before, gc.get_freeze_count())"
    )
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    finished = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert finished.returncode == 0, finished.stderr
    before, after = (int(n) for n in finished.stdout.split())
    assert before == 0
    assert after > 10_000  # the app's modules and their objects
