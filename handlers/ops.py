"""Operations endpoints: liveness, readiness and Prometheus metrics. Unauthenticated, cheap,
and free of secrets and phone numbers (restrict /metrics at the proxy if it must stay private).
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify, request

from handlers.services import services
from handlers.web import limiter
from selfserve.ops import metrics, readiness_status, run_checks

bp = Blueprint("ops", __name__)


@limiter.request_filter
def machine_to_machine() -> bool:
    """Never throttle probes per IP (they come from the load balancer's few addresses), and
    skip the limiter's work for them. Twilio's webhooks are an app of their own, unthrottled."""
    return request.blueprint == "ops"


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up and serving requests (no dependency is touched)."""
    response = jsonify(status="ok")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """200 when every dependency this deployment uses answers; 503 naming the failing ones.

    With only the database failing and the spool writable, 200 and `degraded` with the
    spool's depth: the host still answers every text (texts/spooled.py)."""
    errors: dict[str, BaseException] = {}
    results = run_checks(services().readiness, errors)
    status, code = readiness_status(results, errors)
    depth, oldest = services().spool.depth()
    response = jsonify(
        status=status,
        checks={name: "ok" if passed else "failing" for name, passed in results.items()},
        spool={
            "depth": depth,
            "oldest_age_seconds": round(time.time() - oldest, 1) if oldest else 0,
        },
    )
    response.headers["Cache-Control"] = "no-store"
    return response, code


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    """Every metric in Prometheus' text format, summed over the server's workers."""
    body, content_type = metrics.render(services().shared_gauges)
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})
