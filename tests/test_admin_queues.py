"""/admin/queues: the RQ queues behind the login (coordinators and admins), failed jobs shown by
id, function and exception class with numbers masked, "requeue failed" for admins, audited; and,
without Redis, a page saying that jobs run in-process."""

from __future__ import annotations

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import select

from smsline import create_app
from smsline.models import AuditEntry
from smsline.web.admin.rq_queues import describe_failure
from tests.admin_support import logged_in


@pytest.fixture
def redis_app(config, redis_url, transport):  # noqa: ANN001, ANN201
    app = create_app(config.with_(redis_url=redis_url), transport=transport)
    app.config["TESTING"] = True
    yield app
    app.extensions["smsline"].close()


def fail_a_job(app) -> str:  # noqa: ANN001
    """A job on `replies` that fails with a number in its message; returns its id."""
    connection = app.extensions["smsline"].queues.redis()
    job = Queue("replies", connection=connection).enqueue(
        "builtins.int", "12345678x", job_id="send-41", failure_ttl=3600
    )
    Queue("bulk", connection=connection).enqueue("builtins.len", [1, 2], job_id="waits-1")
    SimpleWorker(["replies"], connection=connection).work(burst=True)
    return job.id


def test_the_failure_shown_is_its_class_and_a_masked_first_line() -> None:
    traceback = (
        'Traceback (most recent call last):\n  File "x.py", line 1\n'
        "smsline.phones.InvalidPhone: +12015550123 is not a number\n"
    )
    assert describe_failure(traceback) == ("InvalidPhone", "+… is not a number")
    assert describe_failure(None) == ("unknown", "")
    assert describe_failure("KeyError") == ("KeyError", "")
    error, message = describe_failure("ValueError: " + "x" * 300)
    assert error == "ValueError" and len(message) == 80


def test_without_redis_jobs_run_in_process(client, line) -> None:  # noqa: ANN001
    token = logged_in(client, line, "admin")
    page = client.get("/admin/queues").get_data(as_text=True)
    assert "jobs run in-process" in page and "Requeue" not in page
    response = client.post("/admin/queues/requeue", data={"csrf_token": token})
    assert response.status_code == 302


def test_a_viewer_does_not_see_the_queues(client, line) -> None:  # noqa: ANN001
    logged_in(client, line, "viewer")
    assert client.get("/admin/queues").status_code == 403
    assert 'href="/admin/queues"' not in client.get("/admin/").get_data(as_text=True)


def test_queues_with_their_failed_jobs(redis_app) -> None:  # noqa: ANN001
    job_id = fail_a_job(redis_app)
    client = redis_app.test_client()
    logged_in(client, redis_app.extensions["smsline"], "coordinator")
    page = client.get("/admin/queues").get_data(as_text=True)
    replies = page[page.index('<tr id="queue-replies">') :].split("</tr>")[0]
    bulk = page[page.index('<tr id="queue-bulk">') :].split("</tr>")[0]
    assert replies.count("<td>0</td>") == 3 and replies.endswith("<td>1</td>")
    assert bulk.startswith('<tr id="queue-bulk"><td>bulk</td><td>1</td>')
    assert f"<code>{job_id}</code>" in page and "<code>builtins.int</code>" in page
    assert "ValueError" in page and "12345678" not in page
    assert "Requeue failed jobs" not in page  # an admin's action
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert "<dt>RQ queue bulk</dt><dd>1</dd>" in dashboard
    assert "<dt>RQ queue replies</dt><dd>0</dd>" in dashboard


def test_an_admin_requeues_failed_jobs_audited(redis_app, session) -> None:  # noqa: ANN001
    job_id = fail_a_job(redis_app)
    line = redis_app.extensions["smsline"]
    client = redis_app.test_client()
    token = logged_in(client, line, "admin")
    assert "Requeue failed jobs" in client.get("/admin/queues").get_data(as_text=True)
    response = client.post("/admin/queues/requeue", data={"csrf_token": token})
    assert response.status_code == 302
    replies = Queue("replies", connection=line.queues.redis())
    assert replies.failed_job_registry.count == 0 and replies.job_ids == [job_id]
    session.rollback()
    session.expire_all()
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "queues.requeue"))
    assert (entry.actor, entry.details_json) == ("admin:admin@example.org", '{"requeued": 1}')


def test_a_coordinator_cannot_requeue(redis_app) -> None:  # noqa: ANN001
    fail_a_job(redis_app)
    line = redis_app.extensions["smsline"]
    client = redis_app.test_client()
    token = logged_in(client, line, "coordinator")
    assert client.post("/admin/queues/requeue", data={"csrf_token": token}).status_code == 403
    assert Queue("replies", connection=line.queues.redis()).failed_job_registry.count == 1
