"""Fault scenarios on the real web tier (gunicorn, an RQ worker, PostgreSQL, Redis, the Twilio
stand-in), each measuring loss and duplication:

A. PostgreSQL restarted during a burst of inbound texts. Clients retry a failed webhook as Twilio
   would (same MessageSid, backoff); every text ends recorded once with its replies, never a 500.
B. Webhooks delivered two or three times, racing and out of order, and status callbacks
   duplicated and shuffled: one inbound row per MessageSid, the same TwiML each time, nothing sent
   twice, every outbound row in its true final status.

CI runs the short versions; SMSLINE_FAULT_REPEAT=n runs n rounds for RELIABILITY.md's figures,
each test printing one `[faults]` line (also appended to tests/artifacts/faults.jsonl).
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from smsline import outbox, twiml
from smsline.models import FollowUp, InboundMessage, Member, OutboundMessage, utcnow
from tests.factories import create_supporter, phone
from tests.fake_twilio import FakeTwilio
from tests.system_support import System, needs_system, record, restart_postgres, wait_until

pytestmark = needs_system()

REPEAT = max(int(os.environ.get("SMSLINE_FAULT_REPEAT", "1")), 1)
RETRY_DELAYS = (0.25, 0.5, 1, 2, 3, 4, 4, 4)  # seconds before each retry of a failed webhook


@pytest.fixture
def system(tmp_path):  # noqa: ANN001, ANN201
    """The line's web tier and one worker on a fresh database, a coordinator to page."""
    with FakeTwilio() as fake, System(tmp_path, fake=fake) as system:
        with system.session() as session:
            create_supporter(session, coordinator=True)
        system.start_web()
        system.start_worker()
        yield system


def sid() -> str:
    return "SM" + uuid.uuid4().hex


def deliver(system: System, sender: str, body: str, message_sid: str) -> list:
    """POST a text as Twilio would: a 5xx or a refused connection is tried again, same
    MessageSid, after a backoff. Every (status, body) seen, the last one final."""
    seen = []
    for delay in (*RETRY_DELAYS, None):
        try:
            status, answer = system.post_sms(sender, body, message_sid=message_sid)
        except OSError:  # refused or reset: Twilio retries those too
            status, answer = "refused", ""
        seen.append((status, answer))
        if (status != "refused" and status < 500) or delay is None:
            return seen
        time.sleep(delay)  # the client's backoff, not a synchronisation
    return seen


def settled(system: System) -> dict[str, int]:
    """Wait for the worker to send what it was given; then sweep, as the clock would ten minutes
    on, for rows whose job was lost, until nothing is left to send. The outbox by status, and how
    many rows only a sweep sent."""
    later, sweeps = utcnow() + timedelta(minutes=11), Counter()

    def idle() -> bool:
        return not system.outbox_by_status().keys() & {"pending", "queued", "sending"}

    def swept() -> bool:
        if idle():
            return True
        sweeps.update(handed_over_by_sweeps=system.tick(at=later)["handed_over"], sweeps=1)
        return False

    try:
        wait_until(idle, 10, interval=0.2)
    except AssertionError:  # measured: which rows waited for the sweep
        with system.session() as session:
            stuck = select(OutboundMessage.kind).where(
                OutboundMessage.status.in_(("pending", "queued", "sending"))
            )
            sweeps.update(f"left_for_sweep_{kind}" for kind in session.scalars(stuck))
        wait_until(swept, 90, interval=0.5)
    counts = {f"outbox_{status}": n for status, n in system.outbox_by_status().items()}
    return counts | dict(sweeps)


def check_sends(system: System) -> dict[str, int]:
    """Every outbox row the worker sent went to Twilio exactly once: its SID is one of the fake's
    messages and no message of the fake is left without its row."""
    with system.session() as session:
        rows = session.scalars(select(OutboundMessage).where(OutboundMessage.status != "replied"))
        sids = Counter(row.twilio_sid for row in rows if row.twilio_sid)
    created = Counter(message["sid"] for message in system.fake.messages)
    assert max(sids.values(), default=1) == 1, "two rows claim one Twilio message"
    assert set(sids) == set(created), "a row without its Twilio message, or a message twice"
    return {"sent": len(sids), "twilio_creates": len(system.fake.messages)}


def check_inbound(system: System, answers: dict[str, list]) -> dict[str, int]:
    """One inbound row per MessageSid that got a 200, with exactly the reply rows its TwiML
    holds, and that TwiML is what the client got (and what a retry gets now)."""
    figures = Counter()
    with system.session() as session:
        stored = {
            row.message_sid: row
            for row in session.scalars(
                select(InboundMessage).where(InboundMessage.message_sid.in_(list(answers)))
            )
        }
        replies = Counter(
            session.scalars(
                select(OutboundMessage.inbound_id).where(OutboundMessage.reply_index.is_not(None))
            )
        )
        pages = Counter(
            session.scalars(select(FollowUp.inbound_id).where(FollowUp.kind == "crisis"))
        )
    for message_sid, (sender, body, seen) in answers.items():
        status, answer = seen[-1]
        assert status == 200, f"{message_sid} given up after {len(seen)} tries: {seen[-1][0]}"
        row = stored.get(message_sid)
        if from_memory(answer):  # a crisis text while the database was down
            figures["crisis_answered_from_memory"] += 1
            figures["crisis_from_memory_recorded"] += row is not None  # its commit was in doubt
            continue
        assert row is not None, f"{message_sid} answered 200 but not recorded"
        assert (row.reply_enc or twiml.empty()) == answer
        assert replies[row.id] == answer.count("<Message"), f"{message_sid}: reply rows"
        if row.route == "crisis":  # the coordinators' follow-up, once
            assert pages[row.id] == 1, f"{message_sid}: {pages[row.id]} crisis follow-ups"
            figures["crisis_recorded"] += 1
        assert system.post_sms(sender, body, message_sid=message_sid) == (200, answer)
        figures["recorded"] += 1
    return dict(figures)


def from_memory(answer: str) -> bool:
    """The crisis reply the web tier gives without the database: no status callback (no row)."""
    return 'action="' not in answer and ("988" in answer or "911" in answer)


# --- A. PostgreSQL restarted during a burst -----------------------------------------------------


def burst_texts(system: System, size: int) -> list[tuple[str, str, str, str]]:
    """(kind, sender, body, MessageSid): new members, members mid-welcome (their YES moves the
    conversation), active members asking for a peer, a crisis text or two."""
    texts = []
    for n in range(size):
        kind = ("new", "returning", "returning", "peer", "new", "crisis")[n % 6]
        sender = phone()
        if kind in ("returning", "peer"):
            assert system.post_sms(sender, "hello")[0] == 200  # before the burst
        if kind == "peer":
            assert system.post_sms(sender, "YES")[0] == 200
        body = {"new": "hello", "returning": "YES", "peer": "PEER", "crisis": "i want to die"}
        texts.append((kind, sender, body[kind], sid()))
    return texts


def test_postgres_restart_during_a_burst_loses_and_doubles_nothing(system, database_engine) -> None:  # noqa: ANN001
    """Also measured: the status callbacks Twilio (the fake) posted meanwhile; one answered 503
    is lost, as Twilio does not retry a status callback."""
    system.fake.callbacks = "shuffled"
    figures, peaks = Counter(), Counter()
    try:
        for _ in range(REPEAT):
            round_figures = _burst_with_a_restart(system, 30)
            for name in PEAKS:
                peaks[name] = max(peaks[name], round_figures.pop(name))
            figures.update(round_figures)
    finally:
        database_engine.dispose()  # the session's other tests get fresh connections
    figures.update(settled(system))
    figures.update(check_sends(system))
    system.fake.wait_callbacks(30)
    callbacks = Counter(str(callback.status) for callback in system.fake.callbacks_sent)
    assert set(callbacks) <= {"204", "503"}, callbacks
    assert system.fake.violations == []
    record(
        "web_postgres_restart",
        rounds=REPEAT,
        status_callbacks=sum(callbacks.values()),
        status_callbacks_503=callbacks["503"],
        **figures,
        **peaks,
    )


PEAKS = ("most_tries", "burst_seconds", "restart_seconds")  # the worst round's, not a sum


def _burst_with_a_restart(system: System, size: int) -> Counter:
    texts = burst_texts(system, size)
    answers: dict[str, tuple[str, str, list]] = {}
    started = threading.Event()

    def client(item: tuple[str, str, str, str]) -> None:
        _, sender, body, message_sid = item
        started.set()
        answers[message_sid] = (sender, body, deliver(system, sender, body, message_sid))

    outage = []

    def restart() -> None:
        began = time.monotonic()
        restart_postgres()
        outage.append(time.monotonic() - began)

    began = time.monotonic()
    with ThreadPoolExecutor(7) as pool:
        futures = []
        for n, item in enumerate(texts):
            futures.append(pool.submit(client, item))
            if n == size // 4:
                started.wait(10)
                futures.append(pool.submit(restart))
            time.sleep(0.1)  # a burst spread over the restart, as texts arrive
        for future in futures:
            future.result()
    seconds = time.monotonic() - began
    system.line().engine.dispose()  # the test's own pool died with the server
    statuses = Counter(status for *_, seen in answers.values() for status, _ in seen)
    assert set(statuses) <= {200, 503, "refused"}, f"not a retryable failure: {statuses}"
    figures = Counter(check_inbound(system, answers))
    with system.session() as session:
        joined = session.scalars(select(Member).where(Member.status != "new")).all()
        texted = select(InboundMessage.id).where(InboundMessage.member_id == Member.id)
        orphans = session.scalars(select(Member.id).where(~texted.exists())).all()
    assert orphans == [], "a member written without the text that made them"
    moved = {member.phone for member in joined}
    for kind, sender, _, message_sid in texts:
        if kind == "returning":  # their YES was recorded, so their welcome moved on
            assert sender in moved, f"{message_sid}: recorded without its conversation's move"
    figures.update(
        texts=len(texts),
        posts=sum(statuses.values()),
        answered_503=statuses[503],
        refused=statuses["refused"],
        answered_500=statuses[500],
        retried_texts=sum(len(seen) > 1 for *_, seen in answers.values()),
        most_tries=max(len(seen) for *_, seen in answers.values()),
        burst_seconds=round(seconds, 1),
        restart_seconds=round(outage[0], 1),
    )
    return figures


# --- B. Duplicated and reordered webhooks and status callbacks ----------------------------------


def test_duplicated_and_reordered_webhooks_answer_once(system) -> None:  # noqa: ANN001
    senders = [phone() for _ in range(6 * REPEAT)]
    script = ("hello", "YES", "PEER")
    texts = {sender: [(body, sid()) for body in script] for sender in senders}
    texts[senders[0]][2] = ("i want to die", sid())
    copies: dict[str, list] = {
        message_sid: [] for sent in texts.values() for _, message_sid in sent
    }
    rng = random.Random(7)

    def post(sender: str, body: str, message_sid: str) -> None:
        copies[message_sid].append(system.post_sms(sender, body, message_sid=message_sid))

    def race(deliveries: list[tuple[str, str, str]]) -> None:
        """Each delivery at the same moment from its own thread."""
        barrier = threading.Barrier(len(deliveries))

        def go(sender: str, body: str, message_sid: str) -> None:
            barrier.wait()
            post(sender, body, message_sid)

        with ThreadPoolExecutor(len(deliveries)) as pool:
            for future in [pool.submit(go, *delivery) for delivery in deliveries]:
                future.result()

    for sender, sent in texts.items():
        (first, first_sid), (second, second_sid), (third, third_sid) = sent
        race([(sender, first, first_sid)] * rng.choice((2, 3)))  # Twilio's retry racing itself
        order = [(second, second_sid), (third, third_sid)]
        if senders.index(sender) % 2:
            order.reverse()  # text 3 before text 2
        race([(sender, body, message_sid) for body, message_sid in order for _ in (1, 2)])
    late = [(sender, body, s) for sender, sent in texts.items() for body, s in sent]
    rng.shuffle(late)
    for delivery in late:  # a third copy of each, later and in any order
        post(*delivery)

    statuses = Counter(status for seen in copies.values() for status, _ in seen)
    assert set(statuses) == {200}, statuses
    for message_sid, seen in copies.items():
        assert len({answer for _, answer in seen}) == 1, f"{message_sid}: different answers"
    answers = {s: (sender, body, copies[s]) for sender, sent in texts.items() for body, s in sent}
    figures = Counter(check_inbound(system, answers))
    figures.update(settled(system))
    figures.update(check_sends(system))
    record(
        "web_duplicate_webhooks",
        texts=len(copies),
        deliveries=sum(statuses.values()),
        rounds=REPEAT,
        **figures,
    )


def test_duplicated_and_shuffled_status_callbacks_end_in_the_true_status(system) -> None:  # noqa: ANN001
    """Texts sent by the worker get Twilio's callbacks from the fake (shuffled, some twice, racing
    the worker's record of the send), then every callback again two or three times, shuffled,
    from eight threads; so do rows a worker still holds (`sending`: the callbacks came first).
    Plus callbacks for TwiML replies and for SIDs we never sent."""
    fake, rows = system.fake, 20 * REPEAT
    fake.callbacks = "shuffled"
    recipients = [phone() for _ in range(rows)]
    for to in recipients[::4]:
        fake.undeliverable(to, 30003)
    line = system.line()
    with system.session() as session:
        sent = [outbox.write(session, to=to, body="hello", kind="peer").id for to in recipients]
        line.commit(session)
    settled(system)
    fake.wait_callbacks(60)
    with system.session() as session:
        held = [outbox.write(session, to=phone(), body="hi", kind="peer").id for _ in range(rows)]
        session.commit()  # not handed over: a worker "holds" them below
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id.in_(held))
            .values(status="sending", attempt_id="held", attempts=1)
        )
        session.commit()
    by_id = {}
    with system.session() as session:
        for row in session.scalars(select(OutboundMessage).where(OutboundMessage.id.in_(sent))):
            truth = "undelivered" if row.to_enc in recipients[::4] else "delivered"
            by_id[row.id] = (row.twilio_sid, truth)
    assert all(message_sid for message_sid, _ in by_id.values()), "the worker left a row unsent"
    for n, outbound_id in enumerate(held):
        by_id[outbound_id] = (sid(), "undelivered" if n % 4 == 0 else "delivered")
    replied = [sid() for _ in range(3)]
    for message_sid in replied:
        assert system.post_sms(phone(), "hello", message_sid=message_sid)[0] == 200

    callbacks = []
    for outbound_id, (message_sid, final) in by_id.items():
        for status in ("queued", "sent", final):
            code = 30003 if status == "undelivered" else None
            form = status_form(system, message_sid, status, code)
            callbacks += [(form, f"o={outbound_id}")] * random.choice((2, 3))
    for n, message_sid in enumerate(replied):  # a TwiML reply: Twilio's SID is new to us
        callbacks += [(status_form(system, sid(), "delivered"), f"r={message_sid}.0")] * 2
        callbacks.append((status_form(system, sid(), "sent"), f"r={message_sid}.{n + 5}"))
    callbacks += [(status_form(system, sid(), "delivered"), "o=999999")] * 2  # not ours
    callbacks += [(status_form(system, sid(), "failed", 30008), "o=")] * 2  # by SID alone
    random.shuffle(callbacks)
    statuses = race_callbacks(system, {i: by_id[i] for i in held})  # while they are `sending`
    with ThreadPoolExecutor(8) as pool:
        statuses.update(pool.map(lambda c: system.post_status(c[0], query=c[1]), callbacks))
    statuses.update(str(callback.status) for callback in fake.callbacks_sent)
    assert set(statuses) <= {204, "204"}, statuses
    assert fake.violations == []

    with system.session() as session:
        ended = {
            row.id: (row.twilio_sid, row.status, row.error_code)
            for row in session.scalars(select(OutboundMessage).where(OutboundMessage.id.in_(by_id)))
        }
        reply_rows = session.scalars(
            select(OutboundMessage).where(OutboundMessage.reply_index.is_not(None))
        ).all()
    wrong = {
        outbound_id: ended[outbound_id]
        for outbound_id, (message_sid, final) in by_id.items()
        if ended[outbound_id] != (message_sid, final, 30003 if final != "delivered" else None)
    }
    assert not wrong, f"{len(wrong)} of {len(by_id)} rows not in their true final status: {wrong}"
    assert sorted(row.status for row in reply_rows) == ["delivered"] * len(replied)
    record(
        "web_status_callbacks",
        rows=len(by_id),
        held_rows=len(held),
        fake_callbacks=len(fake.callbacks_sent),
        callbacks=len(callbacks),
        rounds=REPEAT,
        undelivered=sum(final != "delivered" for _, final in by_id.values()),
        wrong_final_status=len(wrong),
        answered_500=statuses[500],
    )


def race_callbacks(system: System, rows: dict[int, tuple[str, str]]) -> Counter:
    """Each row's callbacks (sent, its final status, twice each) at the same moment, a row at a
    time: a held row read as `sending` by two of them at once is where a lost update would be."""
    statuses = Counter()
    with ThreadPoolExecutor(4) as pool:
        for outbound_id, (message_sid, final) in rows.items():
            code = 30003 if final == "undelivered" else None
            forms = [status_form(system, message_sid, "sent")] * 2
            forms += [status_form(system, message_sid, final, code)] * 2
            barrier = threading.Barrier(len(forms))

            def post(form: dict[str, str], barrier=barrier, query=f"o={outbound_id}") -> int:  # noqa: ANN001
                barrier.wait()
                return system.post_status(form, query=query)

            statuses.update(pool.map(post, forms))
    return statuses


def status_form(
    system: System, message_sid: str, status: str, error_code: int | None = None
) -> dict[str, str]:
    """A status callback as Twilio sends it (the fields it always sends, ErrorCode on failure)."""
    form = {
        "MessageSid": message_sid,
        "SmsSid": message_sid,
        "AccountSid": system.fake.account_sid,
        "From": "+15005550006",
        "To": "+15005550001",
        "MessageStatus": status,
        "SmsStatus": status,
        "ApiVersion": "2010-04-01",
    }
    if error_code is not None:
        form["ErrorCode"] = str(error_code)
    return form


def test_two_status_callbacks_at_once_cannot_undo_a_final_status(line, session) -> None:  # noqa: ANN001
    """`sent` read the row (still `sending`: the callbacks came before the worker's record) and
    `delivered` arrived meanwhile: `delivered` must wait for `sent` and stand, not be overwritten
    by it (a lost update)."""
    row = outbox.write(session, to=phone(), body="hi", kind="peer")
    row.status, row.attempt_id = "sending", "held"
    session.commit()
    message_sid = sid()
    first, second = line.sessions(), line.sessions()
    second_pid = second.execute(text("SELECT pg_backend_pid()")).scalar_one()
    outbox.apply_status(
        first, sid=message_sid, twilio_status="sent", error_code=None, outbound_id=row.id
    )

    def deliver_meanwhile() -> None:
        outbox.apply_status(
            second, sid=message_sid, twilio_status="delivered", error_code=None, outbound_id=row.id
        )
        second.commit()

    later = threading.Thread(target=deliver_meanwhile)
    later.start()
    with line.engine.connect() as watcher:
        waiting = text("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :pid")
        wait_until(
            lambda: not later.is_alive() or watcher.execute(waiting, {"pid": second_pid}).scalar(),
            10,
        )
    first.commit()
    later.join(10)
    first.close()
    second.close()
    session.expire_all()
    assert session.get(OutboundMessage, row.id).status == "delivered"
