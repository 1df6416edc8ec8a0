"""Fault scenarios on the real processes (issue 10): workers killed mid-send, Redis flushed and
restarted with work queued, Twilio failing and throttling, the clock stopped for an hour. Each
counts, per outbox row, the messages the Twilio stand-in created: none lost, none twice. The
figures go to tests/artifacts/faults.jsonl (RELIABILITY.md quotes them).

CI runs short versions; SMSLINE_FAULT_REPEAT=200 is the full run (200 kills, and the other
scenarios' texts multiplied by REPEAT // 12).

A tick at a simulated instant minutes ahead of the wall clock must not run beside a working
worker (a send in flight would look like a dead worker's), so the scenarios alternate: tick with
no worker working, then `work_queues` (a burst worker) until the queues are empty.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from redis import Redis
from sqlalchemy import func, select

from smsline import circles, outbox, settings
from smsline.clock import QUEUED_STALE
from smsline.meetings import reminders
from smsline.models import (
    CircleMember,
    LineNumber,
    Meeting,
    MeetingSource,
    Member,
    OutboundMessage,
    Pairing,
    PeerRequest,
    Shift,
    Supporter,
)
from smsline.outbox import SENDING_STALE
from tests.fake_twilio import FakeTwilio
from tests.system_support import (
    System,
    needs_system,
    record,
    start_redis,
    stop_redis,
    wait_until,
)

pytestmark = needs_system()

REPEAT = int(os.environ.get("SMSLINE_FAULT_REPEAT", "12"))
SCALE = max(1, REPEAT // 12)
SENT = frozenset({"sent", "delivered", "undelivered"})  # Twilio has it
SETTLED = SENT | {"failed", "suppressed"}
CIRCLE_NUMBER = "+15005550077"
LATER = QUEUED_STALE + timedelta(minutes=1)  # a lost job's row is handed over again by then


@dataclass(frozen=True)
class Text:
    id: int
    to: str
    body: str


def write_texts(system: System, count: int, tag: str, **fields: object) -> list[Text]:
    """`count` outbox rows with bodies of their own, committed and handed to the workers."""
    line = system.line()
    with system.session() as session:
        rows = [
            outbox.write(
                session,
                to=f"+1201555{index % 10:04d}",
                body=f"{tag} {index} {uuid.uuid4().hex[:8]}",
                kind="notice",
                **fields,
            )
            for index in range(count)
        ]
        texts = [Text(row.id, row.to_enc, row.body_enc) for row in rows]
        line.commit(session)
    return texts


def statuses(system: System, texts: list[Text]) -> dict[int, str]:
    with system.session() as session:
        rows = session.execute(
            select(OutboundMessage.id, OutboundMessage.status).where(
                OutboundMessage.id.in_([text.id for text in texts])
            )
        )
        return dict(rows.all())


def tally(system: System, fake: FakeTwilio, texts: list[Text]) -> dict[str, int]:
    """rows; sent (the row says so); lost (never created at Twilio); duplicated (created more
    than once) and the extra copies; failed (the row gave up)."""
    copies = fake.copies()
    status = statuses(system, texts)
    counts = [copies[(text.to, text.body)] for text in texts]
    return {
        "rows": len(texts),
        "sent": sum(status[text.id] in SENT for text in texts),
        "lost": sum(count == 0 for count in counts),
        "duplicated": sum(count > 1 for count in counts),
        "extra_copies": sum(max(count - 1, 0) for count in counts),
        "failed": sum(status[text.id] == "failed" for text in texts),
    }


def settled(system: System, texts: list[Text]) -> bool:
    return all(status in SETTLED for status in statuses(system, texts).values())


def next_due(system: System) -> datetime | None:
    """The earliest instant the sweep has something to do for an unsettled row: a retry's time,
    when a row left `sending` becomes stale, or when a queued row's job counts as lost."""
    Row = OutboundMessage
    with system.session() as session:
        retry, sending, queued = session.execute(
            select(
                func.min(Row.next_attempt_at).filter(Row.status == "pending"),
                func.min(Row.sending_started_at).filter(Row.status == "sending"),
                func.min(Row.status_at).filter(Row.status == "queued"),
            )
        ).one()
    candidates = [
        at + wait
        for at, wait in ((retry, timedelta()), (sending, SENDING_STALE), (queued, QUEUED_STALE))
        if at is not None
    ]
    return min(candidates).astimezone(UTC) if candidates else None


def recover(system: System, texts: list[Text], start: datetime, steps: int = 30) -> dict:
    """Tick at the next instant something is due (never earlier than a second after the last),
    work the queues, until every row is settled; the ticks' counts summed, and how far the
    simulated clock went."""
    at, totals = start, Counter()
    for _ in range(steps):
        if settled(system, texts):
            break
        due = next_due(system)
        at = max(at + timedelta(seconds=1), due or at)
        totals.update({k: v for k, v in system.tick(at).items() if isinstance(v, int)})
        system.work_queues()
    assert settled(system, texts), f"not settled after {steps} ticks: {system.outbox_by_status()}"
    totals["simulated_seconds"] = int((at - start).total_seconds())
    return dict(totals)


def test_worker_killed_mid_send_many_times(tmp_path) -> None:  # noqa: ANN001
    """SIGKILL a worker REPEAT times: half aimed at the moment Twilio holds its answer (the
    message created, the SID not yet committed: the duplicate window), half at a random moment
    (starting, claiming, sending, recording). Then one tick past SENDING_STALE and QUEUED_STALE
    reconciles and hands over again: every row created exactly once."""
    rng = random.Random(REPEAT)
    with FakeTwilio() as fake, System(tmp_path, fake=fake) as system:
        fake.delay = 0.4  # each answer held after the message is created: a worker sits mid-send
        texts: list[Text] = []
        landed, before = Counter(), 0
        for round_ in range(REPEAT):
            texts += write_texts(system, 2, f"kill {round_}")
            asked = len(fake.requests)
            worker = system.start_worker()
            if round_ % 2 == 0:
                wait_until(lambda: len(fake.requests) > asked, 30)  # noqa: B023
                time.sleep(rng.uniform(0, fake.delay * 0.75))  # the kill's moment, inside the hold
            else:
                time.sleep(rng.uniform(0, 2.5))  # anywhere in the worker's life
            system.kill(worker)
            window = len(in_window(system, fake, texts))  # no worker alive: only kills add rows
            landed["inside_window" if window > before else "elsewhere"] += 1
            before = window
        fake.delay = 0
        status = statuses(system, texts)
        stuck = [text for text in texts if status[text.id] == "sending"]
        window = in_window(system, fake, texts)
        start = datetime.now(UTC)
        counts = system.tick(start + LATER)
        system.work_queues()
        figures = tally(system, fake, texts)
        copies = fake.copies()
        record(
            "worker_sigkill",
            kills=REPEAT,
            kills_inside_window=landed["inside_window"],
            rows_inside_window=len(window),
            rows_claimed_not_at_twilio=len(stuck) - len(window),
            reconciled_found_at_twilio=counts["reconciled"],
            resent_after_reconcile=counts["resent"],
            duplicated_inside_window=sum(copies[(t.to, t.body)] > 1 for t in window),
            **figures,
        )
        assert landed["inside_window"], "no kill landed inside the duplicate window: aim better"
        assert counts["reconciled"] == len(window)
        assert figures == {**figures, "sent": len(texts), "lost": 0, "duplicated": 0, "failed": 0}
        assert fake.violations == []


def in_window(system: System, fake: FakeTwilio, texts: list[Text]) -> list[Text]:
    """Rows a worker holds (`sending`) that Twilio has already created: a kill now leaves them so."""
    copies, status = fake.copies(), statuses(system, texts)
    return [t for t in texts if status[t.id] == "sending" and copies[(t.to, t.body)]]


def test_redis_flushall_with_work_queued(tmp_path) -> None:  # noqa: ANN001
    """FLUSHALL while jobs wait and a worker is mid-queue: the jobs are gone, the rows are not.
    New work after the flush goes at once; the lost jobs' rows go after QUEUED_STALE."""
    with FakeTwilio() as fake, System(tmp_path, fake=fake) as system:
        jobs = 10 * SCALE
        texts = [text for job in range(jobs) for text in write_texts(system, 2, f"flush {job}")]
        assert system.outbox_by_status() == {"queued": 2 * jobs}
        fake.delay = 0.3
        worker = system.start_worker()
        wait_until(lambda: len(fake.messages) >= 2, 30)
        with Redis.from_url(system.redis_url) as redis:
            redis.flushall()
        fake.delay = 0
        after = write_texts(system, 5, "after flush")
        wait_until(lambda: settled(system, after), 30)
        system.stop(worker)
        jobs_lost = sum(status == "queued" for status in statuses(system, texts).values())
        totals = recover(system, texts, datetime.now(UTC) + LATER)
        figures = tally(system, fake, texts + after)
        record(
            "redis_flushall",
            rows_whose_job_was_lost=jobs_lost,
            handed_over_again=totals.get("handed_over", 0),
            **figures,
        )
        assert jobs_lost > 0, "the flush came too late to lose any job"
        assert figures == {
            **figures,
            "sent": len(texts) + 5,
            "lost": 0,
            "duplicated": 0,
            "failed": 0,
        }
        assert fake.violations == []


def test_redis_restarted_with_work_queued(tmp_path) -> None:  # noqa: ANN001
    """Redis shut down without saving while jobs wait; texts written while it is down, and
    webhooks answered meanwhile (no 500 to Twilio); started again, the sweep hands every row over
    and each is sent once."""
    with FakeTwilio() as fake, System(tmp_path, fake=fake) as system:
        system.start_web()
        texts = write_texts(system, 15 * SCALE, "restart")
        try:
            stop_redis()
            during = write_texts(system, 5, "while down")
            answers = [system.post_sms(f"+1201555{index:04d}", "hello")[0] for index in range(5)]
        finally:
            start_redis()
        assert system.outbox_by_status().get("pending") == 5  # the hand-over failed: they wait
        totals = recover(system, texts + during, datetime.now(UTC) + LATER)
        figures = tally(system, fake, texts + during)
        record(
            "redis_restart",
            webhook_answers=dict(Counter(answers)),
            handed_over_again=totals["handed_over"],
            **figures,
        )
        assert answers == [200] * 5
        assert figures == {
            **figures,
            "sent": len(texts) + 5,
            "lost": 0,
            "duplicated": 0,
            "failed": 0,
        }
        assert fake.violations == []


def test_twilio_failing_30_percent(tmp_path) -> None:  # noqa: ANN001
    """Twilio answers 500 to 30% of requests: each such send may have reached Twilio, so the row
    waits its backoff in `sending` and the sweep asks Twilio before any resend. Every row is sent
    once (max_send_attempts raised to 10 so chance alone does not exhaust a row)."""
    with FakeTwilio() as fake, System(tmp_path, fake=fake) as system:
        with system.session() as session:
            settings.set_value(session, "max_send_attempts", "10", "test")
            session.commit()
        fake.fail_ratio(0.3, status=500, seed=30, created_ratio=0.5)
        texts = write_texts(system, 40 * SCALE, "flaky")
        system.work_queues()
        start = datetime.now(UTC)
        totals = recover(system, texts, start)
        figures = tally(system, fake, texts)
        posts = sum(r.method == "POST" and r.path.endswith("/Messages.json") for r in fake.requests)
        record(
            "twilio_30pct_500",
            create_posts=posts,
            answered_500=posts - (len(texts) - totals["reconciled"]),  # the rest were accepted
            reconciled=totals["reconciled"],
            resent=totals["resent"],
            simulated_minutes=round(totals["simulated_seconds"] / 60, 1),
            **figures,
        )
        assert figures == {**figures, "sent": len(texts), "lost": 0, "duplicated": 0, "failed": 0}
        assert fake.violations == []


def test_twilio_answering_429_for_a_minute(tmp_path) -> None:  # noqa: ANN001
    """Twilio answers 429 (20429) to everything for a simulated minute: nothing was created, so
    the rows retry with backoff (no reconcile needed) and all go once the minute is over."""
    with FakeTwilio() as fake, System(tmp_path, fake=fake) as system:
        start = datetime.now(UTC)
        fake.throttle(float("inf"))  # until the simulated minute is over
        texts = write_texts(system, 20 * SCALE, "throttled")
        system.work_queues()
        assert system.outbox_by_status() == {"pending": len(texts)}
        at, throttled_ticks = start, 0
        while at < start + timedelta(minutes=1):  # the throttled minute, in simulated time
            at = max(at + timedelta(seconds=1), next_due(system) or at)
            if at >= start + timedelta(minutes=1):
                break
            system.tick(at)
            system.work_queues()
            throttled_ticks += 1
        fake.throttle(None)
        throttled = len(fake.requests)
        totals = recover(system, texts, start + timedelta(minutes=1))
        figures = tally(system, fake, texts)
        record(
            "twilio_429_minute",
            answered_429=throttled,
            ticks_inside_minute=throttled_ticks,
            reconciled=totals.get("reconciled", 0),
            all_sent_after_simulated_s=60 + totals["simulated_seconds"],
            **figures,
        )
        assert totals.get("reconciled", 0) == 0  # a 429 created nothing: nothing to ask about
        assert figures == {**figures, "sent": len(texts), "lost": 0, "duplicated": 0, "failed": 0}
        assert fake.violations == []


@pytest.mark.parametrize("round_", range(SCALE))  # the full run repeats it: the race is timing's
def test_clock_stopped_for_an_hour_two_clocks(tmp_path, round_: int) -> None:  # noqa: ANN001
    """The clock beats at t0, stops, and comes back at t0+1h as two clocks at once: what fell due
    in that hour goes out exactly once: check-ins, meeting reminders, retries, the promise to
    members whose peer request nobody took, the goodbyes of pairings gone quiet, and supporters'
    notices of a shift starting soon."""
    with FakeTwilio() as fake, System(tmp_path, fake=fake) as system:
        t0 = datetime.now(UTC).replace(microsecond=0)
        zone = _daytime_zone(t0)
        with system.session() as session:
            settings.set_value(session, "send_rate_per_number", "20", "test")
            checkin_phones = _members_due(
                session, zone, [t0 + timedelta(minutes=m) for m in (5, 20, 35, 50, 59)]
            )
            reminder_phones = _reminders_due(session, zone, t0, [10, 25, 40, 55])
            peer_phones = _peer_requests_due(session, zone, t0, [5, 15, 45])
            paired, supporters = _quiet_pairings_and_shifts(session, zone, t0, 2)
            circle_phones = _circle_meeting_soon(session, zone, t0, 3)
            session.commit()
        retries = _retries_due(system, [t0 + timedelta(minutes=m) for m in (3, 30, 58)])
        before = system.ticks(t0, clocks=1)
        system.work_queues()
        assert not fake.messages, "something was due before the clock stopped"
        wake = t0 + timedelta(hours=1)
        first = system.ticks(wake, clocks=2)
        system.work_queues()
        later = []
        for minute in range(1, 3):  # the minutes after: pacing's leftovers, still two clocks
            later += system.ticks(wake + timedelta(minutes=minute), clocks=2)
            system.work_queues()
        copies = Counter(message["to"] for message in fake.messages)
        by_kind = {
            "checkins": [copies[phone] for phone in checkin_phones],
            "reminders": [copies[phone] for phone in reminder_phones],
            "peer_promises": [copies[phone] for phone in peer_phones],
            "pairing_ended": [copies[phone] for phone in paired],
            "supporters_shift_soon_and_pairing_ended": [copies[phone] for phone in supporters],
            "circle_reminders": [copies[phone] for phone in circle_phones],
        }
        figures = tally(system, fake, retries)
        record(
            "clock_stopped_hour_two_clocks",
            round=round_,
            checkins_claimed=[tick["checkins_claimed"] for tick in first],
            reminders_sent=[tick.get("reminders_sent", 0) for tick in first + later],
            checkin_texts=by_kind["checkins"],
            reminder_texts=by_kind["reminders"],
            peer_promise_texts=by_kind["peer_promises"],
            pairing_ended_texts=by_kind["pairing_ended"],
            supporter_texts=by_kind["supporters_shift_soon_and_pairing_ended"],
            circle_reminder_texts=by_kind["circle_reminders"],
            texts_created_twice=sum(count > 1 for count in fake.copies().values()),
            retries=figures,
            beats_before=len(before),
        )
        assert sum(tick["checkins_claimed"] for tick in first) == len(checkin_phones)
        assert by_kind == {
            "checkins": [1] * 5,
            "reminders": [1] * 4,
            "peer_promises": [1] * 3,
            "pairing_ended": [1] * 2,
            "supporters_shift_soon_and_pairing_ended": [2] * 2,
            "circle_reminders": [1] * 3,
        }
        assert max(fake.copies().values()) == 1
        assert fake.violations == []
        assert figures == {**figures, "sent": 3, "lost": 0, "duplicated": 0, "failed": 0}


# --- set-up ------------------------------------------------------------------------------------


def _daytime_zone(at: datetime) -> str:
    """A zone where the next two hours from `at` are inside the default texting window."""
    for name in (
        "Asia/Tokyo",
        "Europe/London",
        "America/New_York",
        "America/Los_Angeles",
        "Pacific/Auckland",
        "Asia/Kolkata",
        "America/Sao_Paulo",
        "Pacific/Honolulu",
    ):
        local = at.astimezone(ZoneInfo(name))
        if 10 <= local.hour and (local + timedelta(hours=2)).hour < 19 and local.hour < 17:
            return name
    raise AssertionError("no zone in daytime")


def _phone(index: int) -> str:
    return f"+1201556{index:04d}"


def _members_due(session, zone: str, times: list[datetime]) -> list[str]:  # noqa: ANN001
    phones = []
    for index, due in enumerate(times):
        member = Member(
            nickname=f"M{index}",
            timezone=zone,
            status="active",
            checkin_time=due.astimezone(ZoneInfo(zone)).strftime("%H:%M"),
            checkin_days="daily",
            next_checkin_at=due,
        )
        member.phone = _phone(index)
        session.add(member)
        phones.append(member.phone)
    session.flush()
    return phones


def _reminders_due(session, zone: str, t0: datetime, minutes: list[int]) -> list[str]:  # noqa: ANN001
    """Members subscribed (60 minutes before) to daily meetings starting 1h+`minutes` after t0:
    each reminder falls due inside the stopped hour, before its meeting starts."""
    source = MeetingSource(name="Intergroup", url="/dev/null", refresh_hours=0)
    session.add(source)
    session.flush()
    phones = []
    for index, offset in enumerate(minutes):
        starts = (t0 + timedelta(hours=1, minutes=offset)).astimezone(ZoneInfo(zone))
        meeting = Meeting(
            source_id=source.id,
            slug=f"meeting-{index}",
            name=f"Daily {index}",
            days="0,1,2,3,4,5,6",
            time=starts.strftime("%H:%M"),
            end_time=(starts + timedelta(hours=1)).strftime("%H:%M"),
            timezone=zone,
            attendance="online",
            conference_url="https://meet.example.org/daily",
        )
        member = Member(nickname=f"R{index}", timezone=zone, status="active")
        member.phone = _phone(100 + index)
        session.add_all([meeting, member])
        session.flush()
        reminders.subscribe(session, member, meeting, t0)
        phones.append(member.phone)
    return phones


def _peer_requests_due(session, zone: str, t0: datetime, minutes: list[int]) -> list[str]:  # noqa: ANN001
    """Members who asked for a peer at t0, nobody on call: each request's next step falls inside
    the stopped hour, and by the wake its wait is over, so the member is told once."""
    phones = []
    for index, offset in enumerate(minutes):
        member = Member(nickname=f"P{index}", timezone=zone, status="active")
        member.phone = _phone(300 + index)
        session.add(member)
        session.flush()
        session.add(
            PeerRequest(
                member_id=member.id,
                source="keyword",
                status="open",
                next_step_at=t0 + timedelta(minutes=offset),
                created_at=t0,
            )
        )
        phones.append(member.phone)
    return phones


def _quiet_pairings_and_shifts(session, zone: str, t0: datetime, count: int) -> tuple[list, list]:  # noqa: ANN001
    """Supporters each in a pairing gone quiet (it ends inside the stopped hour: both sides are
    told) and with a shift starting 90 minutes after t0 (told of it an hour ahead: at the wake).
    Nobody is on call until then, so the peer requests above are promised, not offered."""
    members, supporters = [], []
    starts = (t0 + timedelta(minutes=90)).astimezone(ZoneInfo(zone))
    for index in range(count):
        supporter = Supporter(name=f"Sam{index}", timezone=zone, max_active=1)
        supporter.phone = _phone(400 + index)
        member = Member(nickname=f"Q{index}", timezone=zone, status="active")
        member.phone = _phone(500 + index)
        session.add_all([supporter, member])
        session.flush()
        session.add(
            Shift(
                supporter_id=supporter.id,
                days="daily",
                starts=starts.strftime("%H:%M"),
                ends=(starts + timedelta(hours=3)).strftime("%H:%M"),
                timezone=zone,
                first_day=starts.date() - timedelta(days=1),
            )
        )
        session.add(
            Pairing(
                member_id=member.id,
                supporter_id=supporter.id,
                started_at=t0 - timedelta(hours=3),
                last_message_at=t0 - timedelta(minutes=100 - 20 * index),  # quiet at 120
            )
        )
        members.append(member.phone)
        supporters.append(supporter.phone)
    return members, supporters


def _circle_meeting_soon(session, zone: str, t0: datetime, count: int) -> list[str]:  # noqa: ANN001
    """A circle of `count` members whose window opens 90 minutes after t0: they hear of it an hour
    ahead, at the wake."""
    starts = (t0 + timedelta(minutes=90)).astimezone(ZoneInfo(zone))
    session.add(LineNumber(e164=CIRCLE_NUMBER, purpose="circle", active=True))
    robin = Supporter(name="Robin", timezone=zone)
    robin.phone = _phone(600)
    session.add(robin)
    session.flush()
    circle = circles.create(
        session,
        name="Tuesday Circle",
        topic="early recovery",
        language="en",
        day=circles.WEEKDAYS[int(starts.strftime("%w"))],
        starts=starts.strftime("%H:%M"),
        ends=(starts + timedelta(hours=1)).strftime("%H:%M"),
        timezone=zone,
        facilitator_id=robin.id,
        number=CIRCLE_NUMBER,
        actor="test",
    )
    phones = []
    for index in range(count):
        member = Member(nickname=f"C{index}", timezone=zone, status="active")
        member.phone = _phone(700 + index)
        session.add(member)
        session.flush()
        session.add(CircleMember(circle_id=circle.id, member_id=member.id, joined_at=t0))
        phones.append(member.phone)
    return phones


def _retries_due(system: System, times: list[datetime]) -> list[Text]:
    """Rows that failed once and wait for their retry at `times`."""
    texts = []
    with system.session() as session:
        for index, due in enumerate(times):
            row = outbox.write(
                session,
                to=_phone(200 + index),
                body=f"retry {index} {uuid.uuid4().hex[:8]}",
                kind="notice",
            )
            row.attempts, row.next_attempt_at = 1, due
            texts.append(Text(row.id, row.to_enc, row.body_enc))
        session.info.pop("outbox_ids", None)  # not handed over: they wait for the sweep
        session.commit()
    return texts
