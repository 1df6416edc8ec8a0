"""Simulated days of check-ins for tests: a member in Chicago with a daily 10:00 check-in, the clock
swept at chosen instants, and texts from the member received "at" a simulated instant."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from smsline import checkins, clock, inbound
from smsline.line import Line
from smsline.models import Conversation, FollowUp, Member, OutboundMessage
from tests.factories import create_member, sms_form

CHICAGO = ZoneInfo("America/Chicago")


def day(number: int, hour: int = 10, minute: int = 0) -> datetime:
    """Local Chicago time on the `number`th day after Wednesday 9 June 2027 (no DST change)."""
    return datetime(2027, 6, 9 + number, hour, minute, tzinfo=CHICAGO).astimezone(UTC)


def enrol(session, **fields: object) -> Member:  # noqa: ANN001
    """An active member with a daily 10:00 check-in in Chicago, the first one due on day 0."""
    fields.setdefault("nickname", "Sam")
    member = create_member(
        session,
        status="active",
        timezone="America/Chicago",
        checkin_time="10:00",
        checkin_days="daily",
        **fields,
    )
    checkins.schedule_next(member, day(0, 9))
    session.commit()
    return member


def miss_a_day(line: Line, number: int) -> None:
    """Day `number`'s check-in goes out at 10:00, is nudged at 14:00 and expires unanswered."""
    assert clock.sweep(line, day(number))["checkins"] == 1
    clock.sweep(line, day(number, 14))
    clock.sweep(line, day(number + 1, 2, 1))


def say(twilio_post, monkeypatch, at: datetime, body: str, sender: str) -> str:  # noqa: ANN001
    """A text from the member, received at the simulated instant `at`; returns the TwiML answer
    (unescaped, to read as text)."""
    monkeypatch.setattr(inbound, "utcnow", lambda: at)
    response = twilio_post("/twilio/sms", sms_form(body, sender))
    assert response.status_code == 200, response.data
    return html.unescape(response.data.decode())


def answer_a_day(line, twilio_post, monkeypatch, member: Member, number: int, *answers: str) -> str:  # noqa: ANN001
    """Day `number`'s check-in goes out and the member answers; the rest times out (saved).
    Returns every reply of the line to these answers."""
    assert clock.sweep(line, day(number))["checkins"] == 1
    replies = [
        say(twilio_post, monkeypatch, day(number, 10, 1 + index), text, member.phone)
        for index, text in enumerate(answers)
    ]
    clock.sweep(line, day(number, 18))  # a wait left open times out: what was answered is saved
    return "\n".join(replies)


def reload(session, member: Member) -> Member:  # noqa: ANN001
    session.rollback()
    session.expire_all()
    return session.get(Member, member.id)


def last_conversation(session, member: Member) -> Conversation:  # noqa: ANN001
    session.rollback()
    session.expire_all()
    query = select(Conversation).where(Conversation.member_id == member.id)
    return session.scalars(query.order_by(Conversation.id.desc()).limit(1)).one()


def rows(session, kind: str) -> list[OutboundMessage]:  # noqa: ANN001
    session.rollback()
    session.expire_all()
    query = select(OutboundMessage).where(OutboundMessage.kind == kind)
    return list(session.scalars(query.order_by(OutboundMessage.id)))


def followups(session, kind: str) -> list[FollowUp]:  # noqa: ANN001
    session.rollback()
    return list(session.scalars(select(FollowUp).where(FollowUp.kind == kind)))
