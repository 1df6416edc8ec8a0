"""Daily check-ins through the clock: members in many time zones, quiet hours, pause, RESUME and
LATER, a clock that was down, two clocks at once, a Redis flush, opted-out members, unpublished
flows, and `smsline members add`."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from smsline import checkins, clock, flowstore, jobs, outbox, queues
from smsline.cli import main
from smsline.line import Line
from smsline.models import AuditEntry, Consent, Conversation, Member, OutboundMessage, utcnow
from tests.conftest import DATA_KEY, INDEX_KEY
from tests.factories import create_line_number, create_member, sms_form

# A Wednesday in June, after the tests' real "now" (outbox rows are stamped with the real time).
NOON_CHICAGO = datetime(2027, 6, 9, 12, 0, tzinfo=ZoneInfo("America/Chicago")).astimezone(UTC)


@pytest.fixture
def shipped(session, line):  # noqa: ANN001, ANN201
    flowstore.sync(session)
    create_line_number(session)
    session.commit()


def enrol(session, timezone: str, at: str, now: datetime, **fields: object) -> Member:  # noqa: ANN001
    """An active member with a check-in at local `at`, scheduled as of `now`."""
    fields.setdefault("status", "active")
    member = create_member(
        session, timezone=timezone, checkin_time=at, checkin_days="daily", **fields
    )
    checkins.schedule_next(member, now)
    session.commit()
    return member


def local_time(instant: datetime, timezone: str) -> str:
    return instant.astimezone(ZoneInfo(timezone)).strftime("%H:%M")


def checkin_rows(session, member: Member | None = None) -> list[OutboundMessage]:  # noqa: ANN001
    session.rollback()
    session.expire_all()
    query = select(OutboundMessage).where(OutboundMessage.kind == "checkin")
    if member is not None:
        query = query.where(OutboundMessage.member_id == member.id)
    return list(session.scalars(query.order_by(OutboundMessage.id)))


def reload(session, member: Member) -> Member:  # noqa: ANN001
    session.rollback()
    session.expire_all()
    return session.get(Member, member.id)


def say(twilio_post, body: str, sender: str) -> str:  # noqa: ANN001
    response = twilio_post("/twilio/sms", sms_form(body, sender))
    assert response.status_code == 200, response.data
    return response.data.decode()


def test_members_in_five_time_zones_due_at_one_instant_all_get_theirs(
    line, session, shipped, transport
) -> None:  # noqa: ANN001
    zones = [
        "America/New_York",
        "America/Chicago",
        "America/Los_Angeles",
        "Europe/Madrid",
        "America/St_Johns",  # a half-hour offset
    ]
    members = [
        enrol(session, zone, local_time(NOON_CHICAGO, zone), NOON_CHICAGO - timedelta(minutes=1))
        for zone in zones
    ]
    assert {m.next_checkin_at for m in members} == {NOON_CHICAGO}
    assert clock.sweep(line, NOON_CHICAGO - timedelta(seconds=1))["checkins"] == 0
    counts = clock.sweep(line, NOON_CHICAGO)
    assert counts["checkins"] == 5 and counts["checkins_skipped"] == 0
    assert sorted(m.to for m in transport.sent) == sorted(m.phone for m in members)
    assert all("how are you today" in m.body for m in transport.sent)
    for member in members:
        again = reload(session, member)
        assert again.next_checkin_at == NOON_CHICAGO + timedelta(days=1)
    assert clock.sweep(line, NOON_CHICAGO + timedelta(minutes=5))["checkins"] == 0
    assert len(transport.sent) == 5


def test_quiet_hours_hold_an_early_checkin_until_they_end(
    line, session, shipped, transport
) -> None:  # noqa: ANN001
    chicago = ZoneInfo("America/Chicago")
    six = datetime(2027, 6, 9, 6, 0, tzinfo=chicago)
    member = enrol(session, "America/Chicago", "06:00", six - timedelta(hours=1))
    assert clock.sweep(line, six)["checkins"] == 1
    assert transport.sent == []
    (held,) = checkin_rows(session, member)
    assert held.status == "pending"
    assert held.next_attempt_at == datetime(2027, 6, 9, 9, 0, tzinfo=chicago)
    assert clock.sweep(line, six + timedelta(hours=1, minutes=59))["handed_over"] == 0
    counts = clock.sweep(line, datetime(2027, 6, 9, 9, 0, tzinfo=chicago))
    assert counts["handed_over"] == 1 and counts["checkins"] == 0
    assert [m.to for m in transport.sent] == [member.phone]


def test_pause_for_days_resumes_on_its_own(twilio_post, line, session, shipped) -> None:  # noqa: ANN001
    now = utcnow()
    member = enrol(session, "America/Chicago", "10:00", now)
    say(twilio_post, "PAUSE", member.phone)
    say(twilio_post, "2", member.phone)
    assert "3 days" in say(twilio_post, "3", member.phone)
    paused = reload(session, member)
    assert paused.status == "paused" and paused.paused_until is not None
    due, until = paused.next_checkin_at, paused.paused_until
    assert until < due < until + timedelta(days=1)
    assert local_time(due, "America/Chicago") == "10:00"
    for day in range(1, 4):  # nothing while paused
        assert clock.sweep(line, until - timedelta(days=day))["checkins"] == 0
    assert clock.sweep(line, due)["checkins"] == 1
    back = reload(session, member)
    assert (back.status, back.paused_until) == ("active", None)
    assert local_time(back.next_checkin_at, "America/Chicago") == "10:00"
    assert timedelta(hours=23) <= back.next_checkin_at - due <= timedelta(hours=25)


def test_pause_until_resume_then_resume(twilio_post, line, session, shipped) -> None:  # noqa: ANN001
    member = enrol(session, "America/Chicago", "10:00", utcnow())
    say(twilio_post, "PAUSE", member.phone)
    say(twilio_post, "2", member.phone)
    assert "until you text RESUME" in say(twilio_post, "0", member.phone)
    paused = reload(session, member)
    assert (paused.status, paused.paused_until, paused.next_checkin_at) == ("paused", None, None)
    assert clock.sweep(line, utcnow() + timedelta(days=30))["checkins"] == 0
    assert "back on" in say(twilio_post, "RESUME", member.phone)
    resumed = reload(session, member)
    assert resumed.status == "active" and resumed.next_checkin_at is not None
    assert local_time(resumed.next_checkin_at, "America/Chicago") == "10:00"
    assert resumed.next_checkin_at - utcnow() <= timedelta(days=1)
    assert clock.sweep(line, resumed.next_checkin_at)["checkins"] == 1


def test_later_asks_again_in_an_hour(twilio_post, line, session, shipped) -> None:  # noqa: ANN001
    now = utcnow()
    member = enrol(session, "America/Chicago", "10:00", now)
    member.next_checkin_at = now - timedelta(minutes=1)  # due now
    session.commit()
    regular = checkins.schedule_next(reload(session, member), now)
    assert clock.sweep(line, now)["checkins"] == 1
    assert "about an hour" in say(twilio_post, "later", member.phone)
    waiting = reload(session, member)
    assert now + timedelta(minutes=59) < waiting.next_checkin_at <= utcnow() + timedelta(hours=1)
    ended = session.scalar(select(Conversation).where(Conversation.flow_name == "checkin"))
    assert (ended.status, ended.ended_reason) == ("ended", "later")
    assert clock.sweep(line, now + timedelta(minutes=30))["checkins"] == 0
    assert clock.sweep(line, waiting.next_checkin_at)["checkins"] == 1
    assert len(checkin_rows(session, member)) == 2
    assert reload(session, member).next_checkin_at == regular  # then the usual time again


def test_later_is_only_for_members(twilio_post, session, shipped) -> None:  # noqa: ANN001
    stranger = "+12015550777"
    assert "Reply YES" in say(twilio_post, "later", stranger)  # an answer to the welcome
    assert reload(session, session.scalar(select(Member))).next_checkin_at is None


def test_the_welcome_schedules_the_first_checkin(twilio_post, session, shipped) -> None:  # noqa: ANN001
    stranger = "+12015550778"
    for words in ("hi", "yes", "Sam", "no", "2"):
        say(twilio_post, words, stranger)
    assert "English or Spanish" in say(twilio_post, "9am", stranger)
    member = reload(session, session.scalar(select(Member)))
    assert (member.timezone, member.checkin_time) == ("America/Chicago", "09:00")
    assert local_time(member.next_checkin_at, "America/Chicago") == "09:00"
    assert member.next_checkin_at - utcnow() <= timedelta(days=1)


def test_a_clock_down_six_hours_skips_the_stale_and_catches_up_the_rest(
    line, session, shipped
) -> None:  # noqa: ANN001
    zone = "America/Chicago"
    down_since = NOON_CHICAGO - timedelta(hours=6)
    times = {"stale": 5.5, "old": 3.5, "recent": 2, "fresh": 0.25}  # hours before the restart
    members = {
        name: enrol(session, zone, local_time(NOON_CHICAGO - timedelta(hours=h), zone), down_since)
        for name, h in times.items()
    }
    counts = clock.sweep(line, NOON_CHICAGO)
    assert (counts["checkins"], counts["checkins_skipped"]) == (2, 2)
    sent = {row.member_id for row in checkin_rows(session)}
    assert sent == {members["recent"].id, members["fresh"].id}
    skipped = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "checkin.skipped")
    ).all()
    assert sorted(entry.subject_id for entry in skipped) == sorted(
        [members["stale"].id, members["old"].id]
    )
    for entry in skipped:  # when and how late: nothing about the member's health or words
        assert set(json.loads(entry.details_json)) == {"due", "late_minutes"}
    for member in members.values():  # everyone's next one is tomorrow, at their time
        again = reload(session, member)
        assert again.next_checkin_at - NOON_CHICAGO < timedelta(days=1)
        assert again.next_checkin_at > NOON_CHICAGO
    assert clock.sweep(line, NOON_CHICAGO + timedelta(minutes=1))["checkins"] == 0


def test_the_late_window_is_a_setting(line, session, shipped) -> None:  # noqa: ANN001
    from smsline import settings

    settings.set_value(session, "checkin_late_hours", "6", actor="test")
    session.commit()
    zone = "America/Chicago"
    member = enrol(session, zone, "07:00", NOON_CHICAGO - timedelta(hours=6))
    assert member.next_checkin_at == NOON_CHICAGO - timedelta(hours=5)
    assert clock.sweep(line, NOON_CHICAGO)["checkins"] == 1


def test_two_clocks_at_once_send_each_checkin_once(
    line, session, shipped, transport, monkeypatch
) -> None:  # noqa: ANN001
    """Two sweeps racing over the same due members (SKIP LOCKED on PostgreSQL, IMMEDIATE on
    SQLite), in small batches so their claims interleave."""
    monkeypatch.setattr(clock, "CLAIM", 7)
    monkeypatch.setattr(queues, "CHECKINS_BATCH", 3)
    for _ in range(40):
        enrol(session, "America/Chicago", "12:00", NOON_CHICAGO - timedelta(hours=1))
    barrier = threading.Barrier(2)
    results = []

    def clock_process() -> None:
        barrier.wait()
        results.append(clock.sweep(line, NOON_CHICAGO))

    threads = [threading.Thread(target=clock_process) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(result["checkins"] for result in results) == 40
    assert len(transport.sent) == 40 and len({m.to for m in transport.sent}) == 40
    assert len(checkin_rows(session)) == 40
    assert session.scalar(select(func.count()).select_from(Conversation)) == 40


def test_a_sweep_after_a_redis_flush_loses_nothing(config, redis_url, transport, session) -> None:  # noqa: ANN001
    from rq import SimpleWorker

    line = Line.build(config.with_(redis_url=redis_url), transport=transport)
    jobs.install(line)
    try:
        flowstore.sync(session)
        session.commit()
        create_line_number(session)
        members = [
            enrol(session, "America/Chicago", "12:00", NOON_CHICAGO - timedelta(hours=1))
            for _ in range(3)
        ]
        counts = clock.sweep(line, NOON_CHICAGO)
        assert (counts["checkins_claimed"], counts["checkins"]) == (3, 0)  # claimed, with RQ
        line.queues.redis().flushdb()  # the check-in job is gone; the claims are not
        worker = SimpleWorker(["replies", "bulk"], connection=line.queues.redis())
        worker.work(burst=True)
        assert transport.sent == [] and checkin_rows(session) == []
        assert clock.sweep(line, NOON_CHICAGO + timedelta(minutes=5))["checkins_claimed"] == 0
        counts = clock.sweep(line, NOON_CHICAGO + timedelta(minutes=11))  # the claim went stale
        assert counts["checkins_claimed"] == 3
        SimpleWorker(["replies", "bulk"], connection=line.queues.redis()).work(burst=True)
        assert sorted(m.to for m in transport.sent) == sorted(m.phone for m in members)
        assert {row.status for row in checkin_rows(session)} == {"sent"}
    finally:
        jobs.install(None)
        line.close()


def test_opted_out_members_are_never_sent_a_checkin(line, session, shipped, transport) -> None:  # noqa: ANN001
    member = enrol(session, "America/Chicago", "12:00", NOON_CHICAGO - timedelta(hours=1))
    outbox.set_opt_out(session, member.phone_hash, True, "keyword")
    session.commit()
    counts = clock.sweep(line, NOON_CHICAGO)
    assert counts["checkins"] == 0
    assert checkin_rows(session) == [] and transport.sent == []
    assert session.scalar(select(Conversation)) is None
    # The schedule goes on quietly, so START brings the check-ins back at the usual time.
    assert reload(session, member).next_checkin_at == NOON_CHICAGO + timedelta(days=1)


def test_without_published_flows_members_stay_due(line, session) -> None:  # noqa: ANN001
    member = enrol(session, "America/Chicago", "12:00", NOON_CHICAGO - timedelta(hours=1))
    assert clock.sweep(line, NOON_CHICAGO)["checkins"] == 0
    assert reload(session, member).next_checkin_at == NOON_CHICAGO
    flowstore.sync(session)
    session.commit()
    assert clock.sweep(line, NOON_CHICAGO + timedelta(minutes=1))["checkins"] == 1


def test_changing_the_time_in_settings_reschedules(twilio_post, session, shipped) -> None:  # noqa: ANN001
    member = enrol(session, "America/Chicago", "10:00", utcnow())
    say(twilio_post, "SETTINGS", member.phone)
    say(twilio_post, "1", member.phone)
    say(twilio_post, "7:30pm", member.phone)
    assert "19:30" in say(twilio_post, "weekdays", member.phone)
    changed = reload(session, member)
    assert (changed.checkin_time, changed.checkin_days) == ("19:30", "weekdays")
    assert local_time(changed.next_checkin_at, "America/Chicago") == "19:30"
    assert changed.next_checkin_at.astimezone(ZoneInfo("America/Chicago")).weekday() < 5


# smsline members add


@pytest.fixture
def run(config, monkeypatch):  # noqa: ANN001, ANN201
    env = {
        "DATABASE_URL": config.database_url,
        "SMSLINE_SECRET_KEY": config.secret_key,
        "SMSLINE_DATA_KEY": DATA_KEY,
        "SMSLINE_INDEX_KEY": INDEX_KEY,
        "SMSLINE_ENV": "production",
    }
    for name in ("REDIS_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SMSLINE_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)

    def invoke(*args: str):  # noqa: ANN202
        return CliRunner().invoke(main, ["members", "add", *args], env=env, catch_exceptions=False)

    return invoke


GOOD = {
    "--phone": "+1 201 555 0188",
    "--nickname": "Sam",
    "--timezone": "America/Chicago",
    "--checkin-time": "9:30",
    "--language": "es",
}


def arguments(**changes: str | None) -> list[str]:
    values = {**GOOD, **{f"--{k.replace('_', '-')}": v for k, v in changes.items()}}
    return [item for key, value in values.items() if value is not None for item in (key, value)]


def test_members_add_enrols_with_consent_and_a_schedule(run, session) -> None:  # noqa: ANN001
    result = run(*arguments(days="mon,wed,fri"), "--consent")
    assert result.exit_code == 0, result.output
    assert "member Sam added" in result.output and "0188" in result.output
    assert "+12015550188" not in result.output
    member = session.scalar(select(Member))
    assert (member.phone, member.status, member.language) == ("+12015550188", "active", "es")
    assert (member.checkin_time, member.checkin_days) == ("09:30", "mon,wed,fri")
    local = member.next_checkin_at.astimezone(ZoneInfo("America/Chicago"))
    assert local.strftime("%H:%M") == "09:30" and local.strftime("%a") in ("Mon", "Wed", "Fri")
    consents = session.scalars(select(Consent).order_by(Consent.purpose)).all()
    assert [c.purpose for c in consents] == ["checkins", "line"]
    assert {(c.wording, c.channel, c.recorded_by, c.granted) for c in consents} == {
        ("Enrolled in person by staff (consent given verbally)", "staff", "cli", True)
    }
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["consent.grant", "consent.grant", "member.add"]


def test_members_add_days_default_to_daily(run, session) -> None:  # noqa: ANN001
    assert run(*arguments(), "--consent").exit_code == 0
    assert session.scalar(select(Member.checkin_days)) == "daily"


@pytest.mark.parametrize(
    ("changes", "hint"),
    [
        ({"phone": "nope"}, "--phone"),
        ({"timezone": "Mars/Base"}, "--timezone"),
        ({"checkin_time": "9am"}, "--checkin-time"),
        ({"checkin_time": "25:00"}, "--checkin-time"),
        ({"days": "sometimes"}, "--days"),
        ({"language": "fr"}, "--language"),
    ],
)
def test_members_add_refuses_bad_input(run, session, changes, hint) -> None:  # noqa: ANN001
    result = run(*arguments(**changes), "--consent")
    assert result.exit_code == 2 and hint in result.output, result.output
    assert session.scalar(select(Member)) is None


def test_members_add_refuses_without_consent(run, session) -> None:  # noqa: ANN001
    result = run(*arguments())
    assert result.exit_code == 2 and "--consent" in result.output
    assert session.scalar(select(Member)) is None and session.scalar(select(Consent)) is None


def test_members_add_refuses_a_known_or_opted_out_number(run, session) -> None:  # noqa: ANN001
    assert run(*arguments(), "--consent").exit_code == 0
    again = run(*arguments(), "--consent")
    assert again.exit_code == 1 and "already exists" in again.output
    other = "+12015550199"
    from smsline import crypto

    outbox.set_opt_out(session, crypto.current().index(other), True, "keyword")
    session.commit()
    refused = run(*arguments(phone=other), "--consent")
    assert refused.exit_code == 1 and "START" in refused.output
