"""/admin/queues: the RQ queues behind the admin login, a small page in place of rq-dashboard (which
brings its own assets and scripts). Each queue's waiting jobs, started and failed registries, the
failed jobs (id, function, the exception's class and a masked first line: job arguments are ids by
design and are not shown), and, for an admin, "requeue failed". Without Redis the page says the
jobs run in-process."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from smsline import audit, db
from smsline.queues import QUEUES
from smsline.web.admin import bp, requires

log = logging.getLogger(__name__)

FAILED_SHOWN = 50
MESSAGE_CHARS = 80
DIGITS = re.compile(r"\d{4,}")  # a number in a message could be a phone number: masked


@dataclass(frozen=True)
class FailedJob:
    id: str
    function: str
    error: str  # the exception's class
    message: str  # its first line, truncated, long digit runs masked


@dataclass
class QueueRow:
    name: str
    waiting: int
    started: int
    failed: int
    scheduled: int
    failed_jobs: list[FailedJob] = field(default_factory=list)


def describe_failure(exc_string: str | None) -> tuple[str, str]:
    """(exception class, masked first line of its message) from a job's traceback text."""
    lines = [line for line in (exc_string or "").strip().splitlines() if line.strip()]
    if not lines:
        return "unknown", ""
    error, _, message = lines[-1].strip().partition(":")
    if " " in error:  # not "module.Class: message"
        error, message = "unknown", lines[-1]
    message = DIGITS.sub("…", message.strip())
    if len(message) > MESSAGE_CHARS:
        message = message[: MESSAGE_CHARS - 1] + "…"
    return error.rsplit(".", 1)[-1], message


def overview(connection, failed_limit: int = FAILED_SHOWN) -> list[QueueRow]:  # noqa: ANN001
    """Each of our queues with its registries' counts and its latest failed jobs."""
    from rq import Queue
    from rq.job import Job

    rows = []
    for name in QUEUES:
        queue = Queue(name, connection=connection)
        row = QueueRow(
            name=name,
            waiting=queue.count,
            started=queue.started_job_registry.count,
            failed=queue.failed_job_registry.count,
            scheduled=queue.scheduled_job_registry.count,
        )
        if failed_limit and row.failed:
            ids = queue.failed_job_registry.get_job_ids(0, failed_limit - 1, desc=True)
            for job_id, job in zip(ids, Job.fetch_many(ids, connection=connection), strict=True):
                if job is None:  # expired meanwhile
                    continue
                result = job.latest_result()
                error, message = describe_failure(result.exc_string if result else None)
                row.failed_jobs.append(FailedJob(job_id, job.func_name or "", error, message))
        rows.append(row)
    return rows


@bp.get("/queues")
@requires("coordinator")
def queues() -> str:
    line_queues = current_app.extensions["smsline"].queues
    rows, error = [], False
    if not line_queues.in_process:
        try:
            rows = overview(line_queues.redis())
        except Exception as failure:  # Redis down: say so, show nothing stale
            log.warning("queues page: Redis unreadable: %s", type(failure).__name__)
            error = True
    return render_template(
        "admin/queues.html",
        in_process=line_queues.in_process,
        rows=rows,
        error=error,
        can_requeue=current_user.can("admin"),
    )


@bp.post("/queues/requeue")
@requires("admin")
def requeue_failed() -> Response:
    """Put every failed job of our queues back on its queue (jobs take ids and are safe to run
    twice); audited with how many."""
    line_queues = current_app.extensions["smsline"].queues
    if line_queues.in_process:
        flash("Jobs run in-process here: there is no failed job to requeue.")
        return redirect(url_for("admin.queues"))
    from rq import Queue
    from rq.exceptions import InvalidJobOperation, NoSuchJobError

    connection = line_queues.redis()
    requeued = 0
    for name in QUEUES:
        registry = Queue(name, connection=connection).failed_job_registry
        for job_id in registry.get_job_ids():
            try:
                registry.requeue(job_id)
            except (InvalidJobOperation, NoSuchJobError):
                continue  # gone or requeued meanwhile
            requeued += 1
    session = db.get_session()
    audit.record(
        session,
        actor=f"admin:{current_user.email}"[:80],
        action="queues.requeue",
        details={"requeued": requeued},
    )
    session.commit()
    flash(f"Requeued {requeued} failed job{'' if requeued == 1 else 's'}.")
    return redirect(url_for("admin.queues"))
