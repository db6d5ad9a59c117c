"""Production defaults for `gunicorn -c gunicorn.conf.py "app:create_app()"`.

Every default here was chosen by measurement (bench/README.md has the figures); each can be
overridden from the environment without editing this file:

| variable | meaning | default |
|---|---|---|
| `PORT` | port to listen on (all interfaces) | `8000` |
| `GUNICORN_BIND` | the whole bind address instead, e.g. `unix:/run/selfserve.sock` | |
| `GUNICORN_WORKER_CLASS` | `gevent`, or `gthread` (threads) | `gevent` |
| `WEB_CONCURRENCY` | worker processes | one per CPU core (gthread: two) |
| `GUNICORN_WORKER_CONNECTIONS` | texts in flight per gevent worker | `1000` |
| `GUNICORN_THREADS` | threads per gthread worker | `32` |
| `PYTHON_SWITCH_INTERVAL` | seconds a thread may hold the GIL before handing it over | `0.005` |
| `PROMETHEUS_MULTIPROC_DIR` | where workers keep /metrics values | a fresh temporary folder |
| `GUNICORN_ACCESS_LOG` | `-` for access lines on stdout, or a file | off |
| `GUNICORN_GRACEFUL_TIMEOUT` | seconds a stopping worker may finish (image: `8`) | `25` |
| `GEVENT_RESOLVER` | how gevent workers look host names up (`ares`, `thread`, `block`) | `ares` |

Why gevent, one worker per core: a new customer's text waits ~300 ms for Talon.One, while a
returning customer's text needs a fraction of a millisecond of CPU. With threads, 128 texts in
flight need 128 threads, and their GIL hand-overs cost more CPU than the texts (5.5 ms per new
customer under load against 2 ms alone). gevent waits for Talon.One in cheap greenlets
of one thread per process: on 2 cores, 128 connections of new customers went from 260 to
330 answered per second with p99 under 600 ms, and returning customers from 0.64 to 0.81 of
bare Flask under the same settings (bench/README.md). A database statement or a flock
blocks its worker for that moment (SQLite's are microseconds; PostgreSQL's one round trip),
so workers = cores keeps every core busy. After each request a gevent worker hands the loop to
its other connections (`post_request`): without that, a keep-alive connection with its next
request already waiting was served again and again, and others waited over a second.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


def _int_from_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise SystemExit(f"{name} must be at least 1")
    return value


bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gevent").strip() or "gevent"
if worker_class not in ("gevent", "gthread"):
    raise SystemExit(f"GUNICORN_WORKER_CLASS must be gevent or gthread, not {worker_class!r}")
_per_core = 1 if worker_class == "gevent" else 2


def _gevent_resolver() -> None:
    """gevent workers look host names up with c-ares (`GEVENT_RESOLVER=ares`), unless
    GEVENT_RESOLVER says otherwise or this gevent was built without it.

    gevent's default resolver hands every lookup to a native thread, which then waits for
    the GIL behind the worker's texts: when Talon.One's connections are not kept alive (a
    burst's first calls, or a server that closes them) each new connection's lookup queued
    there. Bench scenario 2 against a Talon.One stand-in that closes every connection, 128
    connections: 289-303 /s with p50 418 ms on the default resolver, 389 /s with p50 314 ms
    on c-ares (bench/README.md)."""
    if worker_class != "gevent" or os.environ.get("GEVENT_RESOLVER", "").strip():
        return
    from importlib.util import find_spec

    if find_spec("gevent.resolver.cares") is not None:  # read by each worker's first lookup
        os.environ["GEVENT_RESOLVER"] = "ares"


_gevent_resolver()
workers = _int_from_env("WEB_CONCURRENCY", _per_core * (os.cpu_count() or 1))
threads = _int_from_env("GUNICORN_THREADS", 32)  # gthread only
# Connections a worker serves at once (gevent: greenlets; gthread: idle keep-alive ones wait
# in its poller, not a thread).
worker_connections = _int_from_env("GUNICORN_WORKER_CONNECTIONS", 1000)
backlog = 2048
keepalive = 5  # seconds; keeps a TLS proxy's pooled upstream connections reusable
# Twilio gives a webhook 15 s; the app answers within WEBHOOK_DEADLINE_SECONDS (8 s).
timeout = 30
# A worker finishes its texts (and flushes its message-log batch) on SIGTERM. The container
# image sets 8: its stop timeout is 10 s, and a text is answered within 8 s anyway.
graceful_timeout = _int_from_env("GUNICORN_GRACEFUL_TIMEOUT", 25)
# Large request lines/headers are not ours to accept.
limit_request_line = 8190
limit_request_fields = 100
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "selfserve"
# gunicorn 27's control socket is not used, and two instances on one host would share its path.
control_socket_disable = True
# Load the app in each worker after fork: every worker gets its own database pool, HTTP client
# and writer thread (none of them survive a fork).
preload_app = False

# /metrics across workers: prometheus-client's multiprocess mode keeps each worker's values in
# files under PROMETHEUS_MULTIPROC_DIR. It must be set before any worker imports
# prometheus_client, so it is set here, when gunicorn reads this file.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
_made_metrics_dir = False
if not _metrics_dir:
    _metrics_dir = tempfile.mkdtemp(prefix="selfserve-metrics-")
    _made_metrics_dir = True
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir  # workers inherit it


def on_starting(server: Any) -> None:
    """Before the first worker: start /metrics from zero (old workers' files would count)."""
    folder = Path(_metrics_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    """A worker is gone: drop its live gauges so /metrics stops counting them."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, _metrics_dir)


def worker_exit(server: Any, worker: Any) -> None:
    """A worker stops cleanly: write what it still holds (message-log batch) before exiting."""
    application = getattr(worker, "wsgi", None)
    extensions = getattr(application, "extensions", None) or {}
    services = extensions.get("selfserve")
    if services is not None:
        services.close()


def on_exit(server: Any) -> None:
    """gunicorn stops: remove the metrics folder it made for itself."""
    if _made_metrics_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)


def post_fork(server: Any, worker: Any) -> None:
    """Each worker: Python's GIL switch interval, when PYTHON_SWITCH_INTERVAL asks for one."""
    import sys

    interval = os.environ.get("PYTHON_SWITCH_INTERVAL", "").strip()
    if interval:
        sys.setswitchinterval(float(interval))


def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    """gevent: hand the loop to the worker's other connections after each request.

    A keep-alive connection whose next request is already in its buffer is otherwise served
    again at once, and connections behind it wait (bench scenario 6: p99 1.5 s -> 92 ms)."""
    if worker_class == "gevent":
        import gevent

        gevent.sleep(0)


def post_worker_init(worker: Any) -> None:
    """Each worker, once the app is loaded: move everything loaded so far out of the garbage
    collector's sight (`gc.freeze`).

    The app loads ~150 MiB of long-lived objects (phone metadata, translations, templates,
    SQLAlchemy's mappers); every full collection walked all of them, pausing the worker's
    texts. Bench scenario 4, side by side: p99 268 -> 70 ms, and 0.59 -> 0.69 of bare Flask."""
    import gc

    gc.collect()
    gc.freeze()
