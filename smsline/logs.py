"""Structured logs (structlog over the standard library's logging): every line carries the time,
the level, the logger and, inside a web request, a request id (Twilio's idempotency token when the
request comes from Twilio, otherwise a fresh one), so one webhook's lines can be followed.

What goes into a log line is decided where it is written: ids, counts, routes and error codes,
never a phone number, a message body or a check-in answer (tests/test_no_personal_data.py scans for
them). SQLAlchemy hides statement parameters (`db.make_engine`)."""

from __future__ import annotations

import logging
import os
import uuid

import structlog

SHARED = (
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
)


def formatter(json: bool = False) -> logging.Formatter:
    """A logging formatter writing each record as key=value pairs (or one JSON object)."""
    renderer = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.processors.KeyValueRenderer(
            key_order=["timestamp", "level", "logger", "request_id", "event"], drop_missing=True
        )
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=list(SHARED),
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )


def configure(level: str | None = None) -> None:
    """Send the process's logs to standard error, structured (SMSLINE_LOG_FORMAT=json for JSON),
    unless logging is set up already (as `logging.basicConfig` would leave it)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(json=os.environ.get("SMSLINE_LOG_FORMAT") == "json"))
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get("SMSLINE_LOG_LEVEL", "INFO"))
    structlog.configure(
        processors=[*SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )


def start_request(twilio_token: str | None) -> str:
    """A request begins: its id, bound to every log line until the next request."""
    request_id = (twilio_token or "")[:64] or uuid.uuid4().hex
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    return request_id
