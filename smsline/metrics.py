"""What the line is doing, for Prometheus (GET /metrics, `web/metrics.py`): webhook latency, outbox
depth and the oldest due text's age, sends and failures by Twilio error code, peer time to
acceptance, clock lag. No label or value ever carries a phone number, a body or an answer: labels
are webhook endpoints, send results and Twilio error codes.

Counters and histograms live in the process that counts (a gunicorn worker, an RQ worker); with
PROMETHEUS_MULTIPROC_DIR set (the Procfile's processes share one) prometheus-client adds them up
across processes. The outbox and the clock are read from the database and Redis at each scrape."""

from __future__ import annotations

import os
import time
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

if TYPE_CHECKING:
    from smsline.line import Line

WEBHOOK_SECONDS = Histogram(
    "smsline_webhook_seconds",
    "Time to answer a Twilio webhook, by endpoint",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
SENDS = Counter("smsline_sends_total", "Outbox sends to Twilio, by result", ["result"])
FAILURES = Counter(
    "smsline_send_failures_total",
    "Texts Twilio refused or could not deliver, by error code",
    ["code"],
)
PEER_ACCEPTANCE_SECONDS = Histogram(
    "smsline_peer_acceptance_seconds",
    "From a member's peer request to a supporter's yes",
    buckets=(30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600),
)
CONTENT_TYPE = CONTENT_TYPE_LATEST
CLOCK_KEY = "smsline:clock:last_sweep"  # Redis: when a clock process last swept (Unix time)
_last_sweep: float | None = None  # the same, for a clock in this process (jobs in-process)


def failed(code: int | None) -> None:
    FAILURES.labels(str(code) if code is not None else "none").inc()


def clock_beat(line: Line) -> None:
    """A sweep starts: remember when, where every process can read it."""
    global _last_sweep
    _last_sweep = time.time()
    if not line.queues.in_process:
        try:
            line.queues.redis().set(CLOCK_KEY, repr(_last_sweep))
        except Exception:  # noqa: BLE001 - a metric must never stop a sweep
            pass


def _clock_lag(line: Line) -> float | None:
    last = _last_sweep
    if not line.queues.in_process:
        try:
            stored = line.queues.redis().get(CLOCK_KEY)
        except Exception:  # noqa: BLE001 - Redis down: say nothing rather than fail the scrape
            stored = None
        last = float(stored) if stored else last
    return None if last is None else max(time.time() - last, 0.0)


class LineCollector:
    """The gauges read at each scrape: outbox depth and oldest due age, clock lag."""

    def __init__(self, line: Line, now: datetime) -> None:
        self.line, self.now = line, now

    def collect(self):  # noqa: ANN201
        from smsline.web.admin.figures import outbox_backlog

        with self.line.sessions() as session:
            backlog = outbox_backlog(session, self.now)
        waiting = GaugeMetricFamily(
            "smsline_outbox_waiting", "Outbox texts not yet sent (pending, queued, sending)"
        )
        waiting.add_metric([], backlog.waiting)
        yield waiting
        due = GaugeMetricFamily("smsline_outbox_due", "Outbox texts due now and not yet sent")
        due.add_metric([], backlog.due)
        yield due
        age = backlog.oldest_age(self.now)
        oldest = GaugeMetricFamily(
            "smsline_outbox_oldest_due_seconds", "How long the oldest due text has waited"
        )
        oldest.add_metric([], age.total_seconds() if age is not None else 0.0)
        yield oldest
        lag = _clock_lag(self.line)
        if lag is not None:
            clock = GaugeMetricFamily(
                "smsline_clock_lag_seconds", "Seconds since the clock last started a sweep"
            )
            clock.add_metric([], lag)
            yield clock


def render(line: Line, now: datetime) -> bytes:
    """The text a scrape gets: this process's (or every process's) counters, then the gauges."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
        counted = generate_latest(registry)
    else:
        counted = generate_latest(REGISTRY)
    gauges = CollectorRegistry()
    gauges.register(LineCollector(line, now))
    return counted + generate_latest(gauges)
