"""The consent ledger per purpose (smsline/consents.py): the latest row wins, revoking one purpose
stops only that purpose (check-ins, meeting reminders, sharing), members change each one in
SETTINGS with the words they were shown kept, STOP and START land in the ledger, and the audit log
records each change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from smsline import checkins, clock, consents, flowstore
from smsline.meetings import reminders
from smsline.models import AuditEntry, Consent, Meeting, MeetingSource, Member, OutboundMessage
from tests.factories import create_line_number, create_member, sms_form

NEW_YORK = "America/New_York"
NOON = datetime(2027, 6, 9, 12, 0, tzinfo=ZoneInfo(NEW_YORK)).astimezone(UTC)  # a Wednesday


@pytest.fixture
def shipped(session, line):  # noqa: ANN001, ANN201
    flowstore.sync(session)
    create_line_number(session)
    session.commit()


def fresh(session) -> None:  # noqa: ANN001
    session.rollback()
    session.expire_all()


def say(twilio_post, body: str, sender: str) -> str:  # noqa: ANN001
    response = twilio_post("/twilio/sms", sms_form(body, sender))
    assert response.status_code == 200, response.data
    return response.data.decode()


def sent(session, kind: str) -> list[OutboundMessage]:  # noqa: ANN001
    fresh(session)
    return list(session.scalars(select(OutboundMessage).where(OutboundMessage.kind == kind)))


def ledger(session, member: Member) -> list[tuple[str, bool]]:  # noqa: ANN001
    fresh(session)
    rows = session.scalars(
        select(Consent).where(Consent.member_id == member.id).order_by(Consent.id)
    ).all()
    return [(row.purpose, row.granted) for row in rows]


def member_due_for_both(session) -> tuple[Member, datetime]:  # noqa: ANN001
    """An active member with a check-in at noon and a reminder of a 1pm meeting (due at noon)."""
    source = MeetingSource(name="Intergroup", url="/dev/null", refresh_hours=0)
    session.add(source)
    session.flush()
    meeting = Meeting(
        source_id=source.id,
        slug="wed-1pm",
        name="Wednesday Serenity",
        days="3",
        time="13:00",
        end_time="14:00",
        timezone=NEW_YORK,
        attendance="online",
    )
    session.add(meeting)
    member = create_member(
        session,
        status="active",
        timezone=NEW_YORK,
        checkin_time="12:00",
        checkin_days="daily",
        early_reminders=True,
        meeting_list="",
    )
    session.flush()
    start = NOON - timedelta(days=1)
    checkins.schedule_next(member, start)
    reminders.subscribe(session, member, meeting, start)
    session.commit()
    return member, NOON


def revoke(session, member: Member, purpose: str) -> None:  # noqa: ANN001
    consents.record(
        session,
        phone_hash=member.phone_hash,
        member_id=member.id,
        purpose=purpose,
        granted=False,
        wording="(test)",
        channel="sms",
        recorded_by="member",
    )
    session.commit()


def test_the_latest_row_wins_and_opt_in_purposes_start_at_no(session, line) -> None:  # noqa: ANN001
    member = create_member(session, status="active")
    session.commit()
    assert consents.granted(session, member, "checkins")  # asked for at the welcome YES
    assert consents.granted(session, member, "reminders")
    assert not consents.granted(session, member, "sharing")  # opt-in: nothing until a yes
    assert not consents.granted(session, member, "announcements")
    for granted in (True, False, True):
        consents.record(
            session,
            phone_hash=member.phone_hash,
            member_id=member.id,
            purpose="sharing",
            granted=granted,
            wording="Share?",
            channel="sms",
            recorded_by="member",
        )
    session.commit()
    assert consents.granted(session, member, "sharing")
    revoke(session, member, "sharing")
    assert not consents.granted(session, member, "sharing")
    assert consents.revoked(session, [member.id], "sharing") == {member.id}
    assert consents.revoked(session, [member.id], "checkins") == set()


def test_revoking_check_ins_stops_check_ins_only(line, session, shipped) -> None:  # noqa: ANN001
    member, noon = member_due_for_both(session)
    revoke(session, member, "checkins")
    counts = clock.sweep(line, noon)
    assert counts["checkins"] == 0
    assert sent(session, "checkin") == []
    assert len(sent(session, "reminder")) == 1  # reminders go on
    fresh(session)
    assert session.get(Member, member.id).next_checkin_at == noon + timedelta(days=1)


def test_revoking_reminders_stops_reminders_only(line, session, shipped) -> None:  # noqa: ANN001
    member, noon = member_due_for_both(session)
    revoke(session, member, "reminders")
    clock.sweep(line, noon)
    assert sent(session, "reminder") == []
    assert len(sent(session, "checkin")) == 1  # check-ins go on


def test_members_revoke_and_give_each_purpose_in_settings(
    line, session, shipped, twilio_post
) -> None:  # noqa: ANN001
    member = create_member(session, status="active", nickname="Sam")
    session.commit()
    phone = member.phone
    assert "9 choices" in say(twilio_post, "SETTINGS", phone)
    assert "2 daily check-ins" in say(twilio_post, "9", phone)
    assert "NO to stop them" in say(twilio_post, "2", phone)
    assert "no more daily check-ins" in say(twilio_post, "no", phone)
    say(twilio_post, "SETTINGS", phone)
    say(twilio_post, "9", phone)
    assert "YES to share" in say(twilio_post, "4", phone)
    assert "may see your check-in answers" in say(twilio_post, "yes", phone)
    say(twilio_post, "AJUSTES", phone)
    say(twilio_post, "9", phone)
    say(twilio_post, "3", phone)
    assert "meeting reminders are off" in say(twilio_post, "no", phone)
    assert ledger(session, member) == [
        ("checkins", False),
        ("sharing", True),
        ("reminders", False),
    ]
    rows = session.scalars(select(Consent).where(Consent.member_id == member.id)).all()
    assert rows[0].wording.startswith("Daily check-ins: YES to get them, NO to stop them.")
    assert {row.channel for row in rows} == {"sms"}
    assert not consents.granted(session, member, "checkins")
    assert consents.granted(session, member, "sharing")
    actions = session.scalars(
        select(AuditEntry.action, AuditEntry.reason)
        .where(AuditEntry.action.like("consent.%"))
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["consent.revoke", "consent.grant", "consent.revoke"]


def test_stop_and_start_land_in_the_ledger(line, session, shipped, twilio_post) -> None:  # noqa: ANN001
    member = create_member(session, status="active")
    session.commit()
    say(twilio_post, "STOP", member.phone)
    say(twilio_post, "START", member.phone)
    fresh(session)
    rows = session.scalars(select(Consent).order_by(Consent.id)).all()
    assert [(row.purpose, row.granted, row.member_id) for row in rows] == [
        ("all", False, member.id),
        ("all", True, member.id),
    ]
    assert rows[0].wording and rows[1].wording  # the confirmations they got
    assert rows[0].phone_hash == member.phone_hash


def test_asking_for_a_reminder_after_revoking_them_is_a_new_yes(line, session, shipped) -> None:  # noqa: ANN001
    member, noon = member_due_for_both(session)
    revoke(session, member, "reminders")
    meeting = session.scalar(select(Meeting))
    reply = reminders.subscribe(session, member, meeting, noon - timedelta(hours=2))
    session.commit()
    assert consents.granted(session, member, "reminders")
    assert ledger(session, member)[-1] == ("reminders", True)
    latest = session.scalars(select(Consent).order_by(Consent.id.desc())).first()
    assert latest.wording == reply
