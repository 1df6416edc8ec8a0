"""GET /healthz: the database answers and, when configured, Redis does."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from smsline import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # noqa: ANN201
    line = current_app.extensions["smsline"]
    checks = {}
    try:
        db.get_session().execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:  # report, never raise: this is what monitoring reads
        checks["database"] = f"error: {type(error).__name__}"
    if line.config.redis_url:
        try:
            line.queues.ping()
            checks["redis"] = "ok"
        except Exception as error:
            checks["redis"] = f"error: {type(error).__name__}"
    else:
        checks["redis"] = "not configured"
    healthy = all(value in ("ok", "not configured") for value in checks.values())
    return jsonify(status="ok" if healthy else "unhealthy", **checks), 200 if healthy else 503
