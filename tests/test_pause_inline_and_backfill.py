"""PAUSE with a number of days pauses at once (PAUSE 3, "pause 7 days", PAUSA 3) and says when
check-ins come back; `smsline checkins backfill` schedules members who have a time but nothing
scheduled."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from smsline import checkins, flow_actions, keywords
from smsline.cli import main
from smsline.models import AuditEntry, Conversation, Member
from tests.factories import create_member

CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture
def run(config, monkeypatch):  # noqa: ANN001, ANN201
    """Invoke the CLI in production mode with the test app's own keys."""
    env = {
        "DATABASE_URL": config.database_url,
        "SMSLINE_SECRET_KEY": config.secret_key,
        "SMSLINE_DATA_KEY": ",".join(config.data_keys),
        "SMSLINE_INDEX_KEY": config.index_key,
        "SMSLINE_ENV": "production",
    }
    for name in ("REDIS_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SMSLINE_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    return lambda *args: CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


# Wednesday 9 June 2027, 15:00 in Chicago.
NOW = datetime(2027, 6, 9, 15, 0, tzinfo=CHICAGO).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("PAUSE 3", 3),
        ("pause 7 days", 7),
        ("Pause for 1 day.", 1),
        ("PAUSA 3", 3),
        ("pausa 3 días", 3),
        ("pausa tres dias", 3),
        ("pause 2 weeks", 14),
        ("pausa 1 mes", 30),
        ("pause 0", 0),
        ("pause 365", 365),
    ],
)
def test_pause_with_a_number_is_read(text: str, days: int) -> None:
    assert keywords.pause_days(text) == days


@pytest.mark.parametrize("text", ["PAUSE", "pausa", "pause me", "please pause 3", "3"])
def test_other_texts_are_not_a_pause_with_days(text: str) -> None:
    assert keywords.pause_days(text) is None


def member_at_ten(session, **fields: object) -> Member:  # noqa: ANN001
    fields.setdefault("status", "active")
    member = create_member(
        session, timezone="America/Chicago", checkin_time="10:00", checkin_days="daily", **fields
    )
    checkins.schedule_next(member, NOW)
    session.flush()
    return member


def test_pause_3_pauses_at_once_and_says_when_checkins_come_back(session) -> None:  # noqa: ANN001
    member = member_at_ten(session)
    waiting = Conversation(member_id=member.id, flow_name="checkin", state="mood")
    session.add(waiting)
    session.flush()
    reply = flow_actions.pause_by_keyword(session, member, "PAUSE 3", NOW, waiting)
    # Paused until Saturday 15:00; the first check-in after that is Sunday at 10:00.
    assert reply == (
        "OK, check-ins are paused for 3 days and come back Sunday, June 13. "
        "Text RESUME to restart sooner, or PEER any time."
    )
    assert (member.status, member.paused_until) == ("paused", NOW + timedelta(days=3))
    assert member.next_checkin_at == datetime(2027, 6, 13, 10, 0, tzinfo=CHICAGO)
    assert (waiting.status, waiting.ended_reason) == ("ended", "interrupted")
    (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "checkin.pause"))
    assert entry.subject_id == member.id


def test_pausa_answers_in_spanish_and_a_paused_member_can_change_the_pause(session) -> None:  # noqa: ANN001
    member = member_at_ten(session, language="es", status="paused", paused_until=None)
    reply = flow_actions.pause_by_keyword(session, member, "pausa 1 día", NOW, None)
    assert reply.startswith("Listo: check-ins en pausa 1 día; vuelven el viernes 11 de junio.")
    assert member.paused_until == NOW + timedelta(days=1)


@pytest.mark.parametrize("text", ["PAUSE 0", "pause 91", "pausa 6 meses"])
def test_a_pause_out_of_range_is_asked_again_and_changes_nothing(session, text: str) -> None:  # noqa: ANN001
    member = member_at_ten(session)
    due = member.next_checkin_at
    reply = flow_actions.pause_by_keyword(session, member, text, NOW, None)
    assert "a number of days from 1 to 90, like PAUSE 7" in reply
    assert (member.status, member.next_checkin_at) == ("active", due)


def test_only_members_who_joined_pause_and_only_with_a_number(session) -> None:  # noqa: ANN001
    stranger = create_member(session, status="new")
    assert flow_actions.pause_by_keyword(session, stranger, "PAUSE 3", NOW, None) is None
    assert stranger.status == "new"
    member = member_at_ten(session)
    assert flow_actions.pause_by_keyword(session, member, "PAUSE", NOW, None) is None
    assert member.status == "active"


def test_backfill_schedules_members_with_a_time_but_nothing_scheduled(run, session) -> None:  # noqa: ANN001
    fields = {"timezone": "America/Chicago", "checkin_time": "10:00", "checkin_days": "daily"}
    missing = [create_member(session, status="active", **fields) for _ in range(3)]
    pause_over = create_member(
        session, status="paused", paused_until=datetime.now(UTC) + timedelta(days=2), **fields
    )
    scheduled = member_at_ten(session)
    untouched = [
        create_member(session, status="paused", paused_until=None, **fields),  # until RESUME
        create_member(session, status="active", timezone="America/Chicago"),  # no time
        create_member(session, status="new", **fields),
    ]
    session.commit()
    due_before = scheduled.next_checkin_at

    dry = run("checkins", "backfill", "--dry-run")
    assert dry.exit_code == 0 and "4 members would get" in dry.output
    session.rollback()
    assert all(session.get(Member, m.id).next_checkin_at is None for m in missing)

    done = run("checkins", "backfill")
    assert done.exit_code == 0 and "4 members got their next check-in scheduled" in done.output
    session.rollback()
    session.expire_all()
    for member in missing:
        local = session.get(Member, member.id).next_checkin_at.astimezone(CHICAGO)
        assert local.strftime("%H:%M") == "10:00"
    after_pause = session.get(Member, pause_over.id).next_checkin_at
    assert after_pause > session.get(Member, pause_over.id).paused_until
    assert session.get(Member, scheduled.id).next_checkin_at == due_before
    assert all(session.get(Member, m.id).next_checkin_at is None for m in untouched)
    (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "checkin.backfill"))
    assert json.loads(entry.details_json) == {"scheduled": 4, "found": 4}
    assert "0 members got" in run("checkins", "backfill").output
