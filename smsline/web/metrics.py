"""GET /metrics: Prometheus text (smsline/metrics.py). With SMSLINE_METRICS_TOKEN set, only a
request carrying it as a bearer token gets an answer; keep the endpoint off the public internet
either way (it tells how busy the line is, nothing about anyone)."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, abort, current_app, request

from smsline import metrics
from smsline.models import utcnow

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def scrape() -> Response:
    line = current_app.extensions["smsline"]
    token = line.config.metrics_token
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            abort(401, "GET /metrics wants SMSLINE_METRICS_TOKEN as a bearer token")
    return Response(metrics.render(line, utcnow()), content_type=metrics.CONTENT_TYPE)
