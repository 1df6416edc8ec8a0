"""Jobs through RQ on a real Redis: texts are handed over by id after the commit, `replies` first,
and a flushed or unreachable Redis loses nothing (the sweep hands the rows over again)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rq import Queue, SimpleWorker

from smsline import clock, jobs, outbox
from smsline.line import Line
from smsline.models import OutboundMessage, utcnow
from tests.factories import create_line_number, create_member


@pytest.fixture
def redis_line(config, redis_url, transport):  # noqa: ANN001, ANN201
    line = Line.build(config.with_(redis_url=redis_url), transport=transport)
    jobs.install(line)
    with line.sessions() as session:
        create_line_number(session)
    yield line
    jobs.install(None)
    line.close()


def write(line: Line, kind: str, queue: str = "replies") -> int:
    with line.sessions() as session:
        member = create_member(session)
        row = outbox.write(session, to=member.phone, body=f"a {kind}", kind=kind, queue=queue)
        line.commit(session)
        return row.id


def status(line: Line, row_id: int) -> str:
    with line.sessions() as session:
        return session.get(OutboundMessage, row_id).status


def work(line: Line) -> None:
    SimpleWorker(["replies", "bulk"], connection=line.queues.redis()).work(burst=True)


def test_rows_are_queued_by_id_and_workers_send_replies_before_bulk(redis_line, transport) -> None:  # noqa: ANN001
    bulk = write(redis_line, "notice", queue="bulk")
    reply = write(redis_line, "page")
    assert status(redis_line, bulk) == status(redis_line, reply) == "queued"
    queued = Queue("replies", connection=redis_line.queues.redis()).jobs
    assert [(j.func_name, j.args) for j in queued] == [("smsline.jobs.send_outbound", (reply,))]
    work(redis_line)
    assert [m.body for m in transport.sent] == ["a page", "a notice"]
    assert status(redis_line, bulk) == status(redis_line, reply) == "sent"


def test_job_arguments_hold_no_phone_number_or_body(redis_line) -> None:  # noqa: ANN001
    write(redis_line, "page")
    connection = redis_line.queues.redis()
    everything = b"".join(
        repr(connection.hgetall(key)).encode() + key
        for key in connection.keys("*")
        if connection.type(key) == b"hash"
    )
    assert b"+1201" not in everything and b"a page" not in everything


def test_flushed_redis_loses_nothing(redis_line, transport) -> None:  # noqa: ANN001
    row_id = write(redis_line, "page")
    redis_line.queues.redis().flushdb()
    work(redis_line)
    assert transport.sent == []
    counts = clock.sweep(redis_line, utcnow() + timedelta(minutes=11))
    assert counts["handed_over"] == 1
    work(redis_line)
    assert status(redis_line, row_id) == "sent" and len(transport.sent) == 1


def test_a_job_run_twice_sends_once(redis_line, transport) -> None:  # noqa: ANN001
    row_id = write(redis_line, "page")
    clock.sweep(redis_line, utcnow() + timedelta(minutes=11))  # enqueues it again
    work(redis_line)
    assert jobs.send_outbound(row_id) == "not-due"
    assert len(transport.sent) == 1


def test_unreachable_redis_leaves_rows_pending_for_the_sweep(config, transport, redis_url) -> None:  # noqa: ANN001
    down = Line.build(config.with_(redis_url="redis://127.0.0.1:1/0"), transport=transport)
    with down.sessions() as session:
        create_line_number(session)
    row_id = write(down, "page")
    assert status(down, row_id) == "pending"
    down.close()
    up = Line.build(config.with_(redis_url=redis_url), transport=transport)
    jobs.install(up)
    assert clock.sweep(up, utcnow() + timedelta(minutes=2))["handed_over"] == 1
    work(up)
    assert status(up, row_id) == "sent"
    jobs.install(None)
    up.close()


def test_a_freshly_queued_row_is_not_enqueued_again_by_the_sweep(redis_line) -> None:  # noqa: ANN001
    write(redis_line, "page")
    assert clock.sweep(redis_line, utcnow() + timedelta(minutes=1))["handed_over"] == 0
    assert len(Queue("replies", connection=redis_line.queues.redis())) == 1


def test_a_commit_s_texts_go_as_batch_jobs_and_all_get_sent(
    redis_line, transport, monkeypatch
) -> None:  # noqa: ANN001
    from smsline import queues

    monkeypatch.setattr(queues, "SEND_BATCH", 2)
    with redis_line.sessions() as session:
        ids = []
        for index in range(5):
            member = create_member(session)
            ids.append(outbox.write(session, to=member.phone, body=f"t{index}", kind="page").id)
        redis_line.commit(session)
    queued = Queue("replies", connection=redis_line.queues.redis()).jobs
    assert [(j.func_name, j.args, j.id) for j in queued] == [
        ("smsline.jobs.send_outbound_batch", (ids[0:2],), f"sends-{ids[0]}-2"),
        ("smsline.jobs.send_outbound_batch", (ids[2:4],), f"sends-{ids[2]}-2"),
        ("smsline.jobs.send_outbound", (ids[4],), f"send-{ids[4]}"),
    ]
    assert {status(redis_line, row_id) for row_id in ids} == {"queued"}
    work(redis_line)
    assert {status(redis_line, row_id) for row_id in ids} == {"sent"}
    assert sorted(m.body for m in transport.sent) == [f"t{index}" for index in range(5)]
    assert jobs.send_outbound_batch(ids[0:2]) == {"not-due": 2}  # a batch job run twice


def test_the_sweep_hands_lost_rows_over_in_batches(redis_line, transport) -> None:  # noqa: ANN001
    with redis_line.sessions() as session:
        for _ in range(3):
            member = create_member(session)
            outbox.write(session, to=member.phone, body="lost", kind="page")
        session.info.pop("outbox_ids")  # a hand-over that never happened
        session.commit()
    assert clock.sweep(redis_line, utcnow() + timedelta(minutes=2))["handed_over"] == 3
    queued = Queue("replies", connection=redis_line.queues.redis()).jobs
    assert [j.func_name for j in queued] == ["smsline.jobs.send_outbound_batch"]
    work(redis_line)
    assert len(transport.sent) == 3
