"""The outbox against a local fake Twilio: sending, retries with backoff, permanent errors, rows
stuck in `sending` reconciled before any resend, and status callbacks in any order."""

from __future__ import annotations

from datetime import timedelta

import pytest

from smsline import clock, outbox
from smsline.line import Line
from smsline.models import OutboundMessage, utcnow
from smsline.transport.twilio import TwilioTransport
from tests.conftest import LINE_NUMBER
from tests.factories import create_line_number, create_member
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio


@pytest.fixture
def fake():  # noqa: ANN201
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def twilio_line(config, fake):  # noqa: ANN001, ANN201
    """A line sending through the fake Twilio with the real twilio library."""
    line = Line.build(
        config.with_(
            twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN, twilio_api_url=fake.url
        ),
        transport=TwilioTransport(ACCOUNT_SID, AUTH_TOKEN, api_url=fake.url, timeout=2),
    )
    with line.sessions() as session:
        create_line_number(session, LINE_NUMBER)
    yield line
    line.close()


def write(line: Line, kind: str = "page", body: str = "Hello from the line") -> int:
    with line.sessions() as session:
        member = create_member(session)
        row = outbox.write(session, to=member.phone, body=body, kind=kind, member_id=member.id)
        session.info.pop("outbox_ids")  # the test sends by hand
        session.commit()
        return row.id


def row(line: Line, row_id: int) -> OutboundMessage:
    with line.sessions() as session:
        found = session.get(OutboundMessage, row_id)
        session.commit()
        return found


def test_send_goes_to_twilio_with_a_status_callback(twilio_line, fake) -> None:  # noqa: ANN001
    row_id = write(twilio_line)
    assert outbox.send(twilio_line, row_id) == "sent"
    sent = row(twilio_line, row_id)
    assert sent.status == "sent" and sent.twilio_sid == fake.messages[0]["sid"]
    assert sent.attempts == 1
    form = fake.requests[0].form
    assert form["From"] == LINE_NUMBER and form["Body"] == "Hello from the line"
    assert form["StatusCallback"] == f"https://line.example.org/twilio/status?o={row_id}"


def test_sending_twice_sends_once(twilio_line, fake) -> None:  # noqa: ANN001
    row_id = write(twilio_line)
    assert outbox.send(twilio_line, row_id) == "sent"
    assert outbox.send(twilio_line, row_id) == "not-due"
    assert len(fake.messages) == 1


def test_messaging_service_is_used_when_configured(twilio_line, fake) -> None:  # noqa: ANN001
    twilio_line.config = twilio_line.config.with_(twilio_messaging_service_sid="MG" + "1" * 32)
    outbox.send(twilio_line, write(twilio_line))
    form = fake.requests[0].form
    assert form["MessagingServiceSid"] == "MG" + "1" * 32 and "From" not in form


@pytest.mark.parametrize("status", [429, 503])
def test_busy_twilio_is_retried_with_backoff_from_the_row(twilio_line, fake, status) -> None:  # noqa: ANN001
    row_id = write(twilio_line)
    fake.fail_next(2, status=status, code=20429 if status == 429 else None)
    now = utcnow()
    result = outbox.send(twilio_line, row_id, now=now)
    first = row(twilio_line, row_id)
    if status == 429:
        assert result == "retry" and first.status == "pending"
        assert first.next_attempt_at == now + timedelta(seconds=30)
        assert outbox.send(twilio_line, row_id, now=now) == "not-due"  # backoff holds
        assert clock.sweep(twilio_line, now + timedelta(seconds=31))["handed_over"] == 1
        assert row(twilio_line, row_id).next_attempt_at == now + timedelta(seconds=31 + 60)
    else:  # a 5xx may have been accepted: reconciled before any resend
        assert result == "reconcile" and first.status == "sending"
        assert clock.sweep(twilio_line, now + timedelta(seconds=29))["resent"] == 0
        assert clock.sweep(twilio_line, now + timedelta(seconds=31))["resent"] == 1
    clock.sweep(twilio_line, now + timedelta(hours=2))
    done = row(twilio_line, row_id)
    assert done.status == "sent" and done.attempts == 3
    assert len(fake.messages) == 1


def test_retries_are_bounded(twilio_line, fake) -> None:  # noqa: ANN001
    row_id = write(twilio_line)
    fake.fail_next(50, status=429)
    now = utcnow()
    outbox.send(twilio_line, row_id, now=now)
    for hour in range(1, 12):
        clock.sweep(twilio_line, now + timedelta(hours=hour))
    failed = row(twilio_line, row_id)
    assert failed.status == "failed" and failed.attempts == 6
    assert failed.error_detail == "http 429"


@pytest.mark.parametrize("code", [21211, 21408, 21614])
def test_permanent_errors_are_not_retried_and_keep_their_code(twilio_line, fake, code) -> None:  # noqa: ANN001
    row_id = write(twilio_line)
    fake.fail_next(1, status=400, code=code)
    assert outbox.send(twilio_line, row_id) == "failed"
    failed = row(twilio_line, row_id)
    assert failed.status == "failed" and failed.error_code == code
    clock.sweep(twilio_line, utcnow() + timedelta(days=1))
    assert len(fake.requests) == 1


def test_21610_marks_the_number_opted_out(twilio_line, fake) -> None:  # noqa: ANN001
    row_id = write(twilio_line)
    fake.fail_next(1, status=400, code=21610)
    outbox.send(twilio_line, row_id)
    failed = row(twilio_line, row_id)
    with twilio_line.sessions() as session:
        assert outbox.is_opted_out(session, failed.to_hash)
        again = outbox.write(session, to=failed.to_enc, body="next one", kind="checkin")
        assert again.status == "suppressed"


def test_stuck_sending_that_twilio_has_is_recorded_not_resent(twilio_line, fake) -> None:  # noqa: ANN001
    """A worker killed after Twilio accepted and before the commit: found in the list, not resent."""
    row_id = write(twilio_line)
    started = utcnow()
    with twilio_line.sessions() as session:
        stuck = session.get(OutboundMessage, row_id)
        stuck.status, stuck.attempt_id, stuck.sending_started_at, stuck.attempts = (
            "sending",
            "dead-worker",
            started,
            1,
        )
        fake.add_message(
            to=stuck.to_enc,
            body=stuck.body_enc,
            from_=LINE_NUMBER,
            date_created=started + timedelta(seconds=1),
            status="queued",
        )
        session.commit()
    assert (
        clock.sweep(twilio_line, started + timedelta(minutes=1))["reconciled"] == 0
    )  # not stale yet
    counts = clock.sweep(twilio_line, started + timedelta(minutes=6))
    assert counts["reconciled"] == 1 and counts["resent"] == 0
    found = row(twilio_line, row_id)
    assert found.status == "sent" and found.twilio_sid == fake.messages[0]["sid"]
    assert [r.method for r in fake.requests] == ["GET"]  # asked, never posted


def test_stuck_sending_that_twilio_never_got_is_resent_once(twilio_line, fake) -> None:  # noqa: ANN001
    row_id = write(twilio_line)
    started = utcnow() - timedelta(minutes=10)
    with twilio_line.sessions() as session:
        stuck = session.get(OutboundMessage, row_id)
        stuck.status, stuck.attempt_id, stuck.sending_started_at, stuck.attempts = (
            "sending",
            "dead-worker",
            started,
            1,
        )
        session.commit()
    counts = clock.sweep(twilio_line, utcnow())
    assert counts["resent"] == 1 and counts["handed_over"] == 1
    assert row(twilio_line, row_id).status == "sent"
    assert len(fake.messages) == 1
    clock.sweep(twilio_line, utcnow() + timedelta(minutes=30))
    assert len(fake.messages) == 1


def test_a_stuck_row_never_takes_the_sid_of_the_same_words_sent_for_another_row(
    twilio_line, fake
) -> None:  # noqa: ANN001
    """Two offers to one supporter are the same words: the one Twilio has is the other row's, so
    the stuck row is sent (once) and the sweep goes on."""
    with twilio_line.sessions() as session:
        member = create_member(session)
        first, second = (
            outbox.write(session, to=member.phone, body="Can you talk?", kind="offer")
            for _ in range(2)
        )
        session.info.pop("outbox_ids")
        session.commit()
    assert outbox.send(twilio_line, first.id) == "sent"
    started = utcnow()
    with twilio_line.sessions() as session:  # a worker died after claiming it, before Twilio
        stuck = session.get(OutboundMessage, second.id)
        stuck.status, stuck.attempt_id, stuck.sending_started_at = "sending", "dead", started
        session.commit()
    counts = clock.sweep(twilio_line, started + timedelta(minutes=6))
    assert counts["resent"] == 1 and counts["reconciled"] == 0
    sids = {row(twilio_line, row_id).twilio_sid for row_id in (first.id, second.id)}
    assert sids == {message["sid"] for message in fake.messages} and len(sids) == 2


def test_a_queued_reply_whose_job_was_lost_goes_again_within_minutes(twilio_line, fake) -> None:  # noqa: ANN001
    """A crisis page whose job failed (the database was restarting) waits minutes, not ten; a
    bulk text waits for the usual stale mark."""
    page, bulk = write(twilio_line, "page"), write(twilio_line, "reminder")
    queued_at = utcnow()
    with twilio_line.sessions() as session:
        for row_id, queue in ((page, "replies"), (bulk, "bulk")):
            lost = session.get(OutboundMessage, row_id)
            lost.status, lost.queue, lost.status_at = "queued", queue, queued_at
        session.commit()
    assert clock.sweep(twilio_line, queued_at + timedelta(minutes=1))["handed_over"] == 0
    assert clock.sweep(twilio_line, queued_at + timedelta(minutes=3))["handed_over"] == 1
    assert (row(twilio_line, page).status, row(twilio_line, bulk).status) == ("sent", "queued")
    assert clock.sweep(twilio_line, queued_at + timedelta(minutes=11))["handed_over"] == 1
    assert row(twilio_line, bulk).status == "sent" and len(fake.messages) == 2


def test_a_final_status_that_never_came_is_asked_of_twilio_once_an_hour(twilio_line, fake) -> None:  # noqa: ANN001
    """A status callback lost (answered 503 while the database restarted): after an hour the sweep
    asks Twilio, records what it says, and asks again only hourly while Twilio says `sent`."""
    delivered, undelivered, silent = (write(twilio_line, body=f"text {n}") for n in range(3))
    for row_id in (delivered, undelivered, silent):
        assert outbox.send(twilio_line, row_id) == "sent"
    sids = [m["sid"] for m in fake.messages]
    fake.set_status(sids[0], "delivered")
    fake.set_status(sids[1], "undelivered", error_code=30003)
    fake.set_status(sids[2], "sent")
    sent_at = utcnow()

    def gets() -> int:
        return sum(1 for r in fake.requests if r.method == "GET")

    assert clock.sweep(twilio_line, sent_at + timedelta(minutes=30))["statuses_asked"] == 0
    assert clock.sweep(twilio_line, sent_at + timedelta(minutes=61))["statuses_asked"] == 3
    assert row(twilio_line, delivered).status == "delivered"
    assert (row(twilio_line, undelivered).status, row(twilio_line, undelivered).error_code) == (
        "undelivered",
        30003,
    )
    assert row(twilio_line, silent).status == "sent" and gets() == 3
    clock.sweep(twilio_line, sent_at + timedelta(minutes=90))
    assert gets() == 3  # asked within the hour: not again yet
    assert clock.sweep(twilio_line, sent_at + timedelta(minutes=122))["statuses_asked"] == 1
    clock.sweep(twilio_line, sent_at + timedelta(days=3))
    assert gets() == 4 and row(twilio_line, silent).status == "sent"  # two days: given up


def test_a_late_finish_of_a_dead_worker_is_ignored(twilio_line, fake) -> None:  # noqa: ANN001
    row_id = write(twilio_line)
    with twilio_line.sessions() as session:
        taken = session.get(OutboundMessage, row_id)
        taken.status, taken.attempt_id = "sending", "someone-else"
        outbox._finish(session, taken, "dead-worker", status="sent", sid="SMlate", at=utcnow())
        assert session.get(OutboundMessage, row_id).twilio_sid is None


def test_pending_rows_lost_by_redis_are_handed_over_by_the_sweep(twilio_line, fake) -> None:  # noqa: ANN001
    row_id = write(twilio_line)
    assert clock.sweep(twilio_line, utcnow())["handed_over"] == 0  # still within the grace period
    assert clock.sweep(twilio_line, utcnow() + timedelta(minutes=2))["handed_over"] == 1
    assert row(twilio_line, row_id).status == "sent"


def test_automated_texts_wait_for_quiet_hours_to_end(line, session) -> None:  # noqa: ANN001
    from datetime import datetime
    from zoneinfo import ZoneInfo

    member = create_member(session)
    late = datetime(2026, 11, 25, 23, 30, tzinfo=ZoneInfo("America/Chicago"))
    held = outbox.write(
        session,
        to=member.phone,
        body="Check-in?",
        kind="checkin",
        timezone="America/Chicago",
        now=late,
    )
    page = outbox.write(
        session, to=member.phone, body="Page", kind="page", timezone="America/Chicago", now=late
    )
    session.info.pop("outbox_ids")
    assert held.next_attempt_at == datetime(2026, 11, 26, 9, 0, tzinfo=ZoneInfo("America/Chicago"))
    assert page.next_attempt_at is None
    early = datetime(2026, 11, 26, 7, 0, tzinfo=ZoneInfo("America/Chicago"))
    assert outbox.quiet_hours_end(session, early, "America/Chicago") == datetime(
        2026, 11, 26, 9, 0, tzinfo=ZoneInfo("America/Chicago")
    )
    noon = datetime(2026, 11, 26, 12, 0, tzinfo=ZoneInfo("America/Chicago"))
    assert outbox.quiet_hours_end(session, noon, "America/Chicago") is None


def test_segments_are_counted_on_the_row(line, session) -> None:  # noqa: ANN001
    member = create_member(session)
    short = outbox.write(session, to=member.phone, body="a" * 160, kind="page")
    long = outbox.write(session, to=member.phone, body="a" * 161, kind="page")
    spanish = outbox.write(session, to=member.phone, body="¿Cómo estás?", kind="page")
    session.info.pop("outbox_ids")
    assert (short.segments, long.segments) == (1, 2)
    assert (spanish.encoding, spanish.segments) == ("UCS-2", 1)


def test_no_line_number_fails_the_row_with_a_reason(line, session, transport) -> None:  # noqa: ANN001
    member = create_member(session)
    row = outbox.write(session, to=member.phone, body="Hi", kind="page")
    line.commit(session)
    session.refresh(row)
    assert row.status == "failed" and "smsline numbers add" in row.error_detail
    assert transport.sent == []


def test_two_clocks_at_once_send_each_text_once(line, session, transport) -> None:  # noqa: ANN001
    """Two sweeps racing over the same due rows (SKIP LOCKED on PostgreSQL, IMMEDIATE on SQLite)."""
    import threading

    create_line_number(session)
    for _ in range(60):
        member = create_member(session)
        outbox.write(session, to=member.phone, body="Checking in", kind="page")
    session.info.pop("outbox_ids")
    session.commit()
    later = utcnow() + timedelta(minutes=2)
    barrier = threading.Barrier(2)

    def clock_process() -> None:
        barrier.wait()
        clock.sweep(line, later)

    threads = [threading.Thread(target=clock_process) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(transport.sent) == 60
    assert len({m.to for m in transport.sent}) == 60


# Batches (`send_many`: a commit's texts, a sweep's) ----------------------------------------------


def write_many(line: Line, bodies: list[tuple[str, str]], kind: str = "page") -> list[int]:
    """Rows of (recipient key, body), one member per key, written in one transaction."""
    with line.sessions() as session:
        members: dict[str, object] = {}
        rows = []
        for key, body in bodies:
            member = members.get(key) or members.setdefault(key, create_member(session))
            rows.append(outbox.write(session, to=member.phone, body=body, kind=kind))
        session.info.pop("outbox_ids")
        session.commit()
        return [row.id for row in rows]


def test_a_batch_is_sent_with_a_sid_each_and_one_number_s_texts_in_order(twilio_line, fake) -> None:  # noqa: ANN001
    bodies = [("a", "first"), ("b", "to b"), ("a", "second"), ("c", "to c"), ("a", "third")]
    ids = write_many(twilio_line, bodies)
    assert outbox.send_many(twilio_line, ids, threads=4) == dict.fromkeys(ids, "sent")
    rows = [row(twilio_line, row_id) for row_id in ids]
    assert {r.status for r in rows} == {"sent"} and {r.attempts for r in rows} == {1}
    assert {r.twilio_sid for r in rows} == {m["sid"] for m in fake.messages}
    assert all(r.sent_at is not None for r in rows)
    to_a = rows[0].to_enc
    assert [r.form["Body"] for r in fake.requests if r.form["To"] == to_a] == [
        "first",
        "second",
        "third",
    ]
    for r in fake.requests:
        assert r.form["From"] == LINE_NUMBER
        assert r.form["StatusCallback"].startswith("https://line.example.org/twilio/status?o=")
    assert outbox.send_many(twilio_line, ids) == dict.fromkeys(ids, "not-due")
    assert len(fake.requests) == 5


def test_a_batch_keeps_each_row_s_own_outcome(twilio_line, fake) -> None:  # noqa: ANN001
    """Opted out, refused for good, busy and sent, side by side: each recorded by the rules of a
    single send (backoff in the row, the error code kept, 21610 recorded as an opt-out)."""
    ids = write_many(twilio_line, [("ok", "hi"), ("stop", "hi"), ("bad", "hi"), ("busy", "hi")])
    ok, stopped, bad, busy = (row(twilio_line, row_id) for row_id in ids)
    with twilio_line.sessions() as session:
        outbox.set_opt_out(session, stopped.to_hash, True, "keyword")
        session.commit()
    fake.fail_for(bad.to_enc, status=400, code=21211)
    fake.fail_for(busy.to_enc, status=429, code=20429)
    now = utcnow()
    results = outbox.send_many(twilio_line, ids, now=now, threads=4)
    assert results == {ok.id: "sent", stopped.id: "suppressed", bad.id: "failed", busy.id: "retry"}
    assert row(twilio_line, stopped.id).status == "suppressed"
    assert (row(twilio_line, bad.id).status, row(twilio_line, bad.id).error_code) == (
        "failed",
        21211,
    )
    retried = row(twilio_line, busy.id)
    assert retried.status == "pending" and retried.next_attempt_at == now + timedelta(seconds=30)
    assert row(twilio_line, ok.id).twilio_sid == fake.messages[0]["sid"]
    assert stopped.to_enc not in {r.form["To"] for r in fake.requests}


def test_a_batch_claims_only_rows_that_are_due_and_free(twilio_line, fake) -> None:  # noqa: ANN001
    ids = write_many(twilio_line, [("a", "due"), ("b", "later"), ("c", "held")])
    with twilio_line.sessions() as session:
        later = session.get(OutboundMessage, ids[1])
        later.next_attempt_at = utcnow() + timedelta(minutes=5)
        held = session.get(OutboundMessage, ids[2])
        held.status, held.attempt_id = "sending", "another-worker"
        session.commit()
    results = outbox.send_many(twilio_line, ids)
    assert results == {ids[0]: "sent", ids[1]: "not-due", ids[2]: "not-due"}
    assert row(twilio_line, ids[2]).attempt_id == "another-worker"
    assert len(fake.requests) == 1


def test_a_batch_sends_concurrently(config) -> None:  # noqa: ANN001
    """`threads` texts in flight at once: each send waits until all four are in flight."""
    import threading

    from smsline.transport.local import LocalTransport

    barrier = threading.Barrier(4, timeout=10)

    class Waiting(LocalTransport):
        def send(self, **kwargs):  # noqa: ANN003, ANN202
            barrier.wait()
            return super().send(**kwargs)

    transport = Waiting()
    line = Line.build(config, transport=transport)
    with line.sessions() as session:
        create_line_number(session, LINE_NUMBER)
    ids = write_many(line, [(key, "hi") for key in "abcd"])
    assert outbox.send_many(line, ids, threads=4) == dict.fromkeys(ids, "sent")
    assert len(transport.sent) == 4
    line.close()


def test_a_superseded_attempt_in_a_batch_is_not_recorded(config) -> None:  # noqa: ANN001
    """The sweep took one row over while its text was in flight (a new attempt id): the late
    finish leaves it alone; the other row of the batch is recorded."""
    from smsline.transport.local import LocalTransport

    def take_over(sid: str, to: str, body: str) -> None:
        if body == "taken over":
            with line.sessions() as session:
                taken = session.get(OutboundMessage, ids[0])
                taken.attempt_id = "reconcile-1"
                session.commit()

    line = Line.build(config, transport=LocalTransport(on_send=take_over))
    with line.sessions() as session:
        create_line_number(session, LINE_NUMBER)
    ids = write_many(line, [("a", "taken over"), ("b", "fine")])
    assert outbox.send_many(line, ids, threads=1)[ids[1]] == "sent"
    taken = row(line, ids[0])
    assert taken.status == "sending" and taken.twilio_sid is None
    assert row(line, ids[1]).twilio_sid is not None
    line.close()


def test_a_status_callback_before_the_batch_is_recorded_stands(config) -> None:  # noqa: ANN001
    from smsline.transport.local import LocalTransport

    def delivered_at_once(sid: str, to: str, body: str) -> None:
        with line.sessions() as session:
            outbox.apply_status(
                session, sid=sid, twilio_status="delivered", error_code=None, outbound_id=ids[0]
            )
            session.commit()

    line = Line.build(config, transport=LocalTransport(on_send=delivered_at_once))
    with line.sessions() as session:
        create_line_number(session, LINE_NUMBER)
    ids = write_many(line, [("a", "hi")])
    assert outbox.send_many(line, ids) == {ids[0]: "sent"}
    done = row(line, ids[0])
    assert done.status == "delivered" and done.twilio_sid == line.transport.sent[0].sid
    line.close()


def test_an_unexpected_error_in_a_batch_leaves_that_row_for_the_sweep(config) -> None:  # noqa: ANN001
    from smsline.transport.local import LocalTransport

    class Broken(LocalTransport):
        def send(self, **kwargs):  # noqa: ANN003, ANN202
            if kwargs["body"] == "boom":
                raise RuntimeError("a bug")
            return super().send(**kwargs)

    line = Line.build(config, transport=Broken())
    with line.sessions() as session:
        create_line_number(session, LINE_NUMBER)
    ids = write_many(line, [("a", "boom"), ("b", "fine")])
    with pytest.raises(RuntimeError, match="a bug"):
        outbox.send_many(line, ids, threads=2)
    assert row(line, ids[0]).status == "sending"  # reconciled with Twilio by the sweep
    assert row(line, ids[1]).status == "sent"
    line.close()


def test_in_process_hand_over_sends_a_commit_s_texts_in_order(line, session, transport) -> None:  # noqa: ANN001
    create_line_number(session)
    members = [create_member(session) for _ in range(3)]
    for index, member in enumerate(members):
        outbox.write(session, to=member.phone, body=f"text {index}", kind="page")
    line.commit(session)
    assert [m.body for m in transport.sent] == ["text 0", "text 1", "text 2"]


def test_a_row_another_transaction_holds_is_waited_for_not_skipped(twilio_line, fake) -> None:  # noqa: ANN001
    """A hand-over marks its rows queued after enqueueing them, so a worker can meet a row that
    transaction still holds: it waits and sends it (skipped, it would wait ten minutes for the
    sweep)."""
    import threading
    import time

    from sqlalchemy import text, update

    if twilio_line.engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL (SQLite serialises write transactions)")
    row_id = write(twilio_line)
    results: dict[int, str] = {}
    worker = threading.Thread(
        target=lambda: results.update(outbox.send_many(twilio_line, [row_id]))
    )
    with twilio_line.sessions() as holder:
        holder.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == row_id)
            .values(status="queued", status_at=utcnow())
        )
        worker.start()
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        deadline = time.monotonic() + 10
        with twilio_line.engine.connect() as watcher:
            while not watcher.execute(waiting).scalar() and time.monotonic() < deadline:
                watcher.rollback()
                time.sleep(0.01)
        assert worker.is_alive()  # held up by the lock
        holder.commit()
    worker.join(timeout=10)
    assert results == {row_id: "sent"} and row(twilio_line, row_id).twilio_sid is not None


def test_marking_rows_queued_never_waits_for_a_worker_s_claim(twilio_line, fake) -> None:  # noqa: ANN001
    """The hand-over skips a row a worker is claiming (the worker waits for the hand-over
    instead): if both waited for each other they could deadlock."""
    import threading

    from sqlalchemy import select

    if twilio_line.engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL (SQLite serialises write transactions)")
    ids = write_many(twilio_line, [("a", "claimed"), ("b", "free")])
    with twilio_line.sessions() as worker:
        worker.execute(
            select(OutboundMessage.id).where(OutboundMessage.id == ids[0]).with_for_update()
        )
        marking = threading.Thread(target=outbox.mark_queued, args=(twilio_line, ids))
        marking.start()
        marking.join(timeout=10)
        assert not marking.is_alive()  # it did not wait for the lock
        worker.commit()
    assert (row(twilio_line, ids[0]).status, row(twilio_line, ids[1]).status) == (
        "pending",
        "queued",
    )
