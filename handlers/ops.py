"""Operations endpoints: liveness, readiness and Prometheus metrics. Unauthenticated, cheap,
and free of secrets and phone numbers (restrict /metrics at the proxy if it must stay private).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from handlers.services import services
from handlers.web import limiter
from selfserve.ops import assess, metrics

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
    """Can this instance take texts? `ready` or `degraded` (200) or `not ready` (503), with
    each dependency's state (`ok`, `down`, `behind`, …) and facts such as a queue's depth."""
    readiness = assess(services().readiness)
    response = jsonify(status=readiness.status, checks=readiness.checks, **readiness.facts)
    response.headers["Cache-Control"] = "no-store"
    return response, readiness.http_status


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    """Every metric in Prometheus' text format, summed over the server's workers."""
    body, content_type = metrics.render(services().shared_gauges)
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})
