"""How a check-in ends when the person hangs up (a miss with no answer, answered with some), an
answered call whose end was never reported (tidied by the sweep's `tidy_answered`), and one page
to the coordinators when a member says yes to the peer offer of a hard check-in."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from smsline import checkin_calls, flowstore
from smsline.models import Conversation, FollowUp
from tests.checkin_days import CHICAGO, answer_a_day, day, followups, rows, say
from tests.checkin_days import enrol as enrol_by_text
from tests.checkin_days import reload as reload_member
from tests.factories import create_line_number, create_supporter
from tests.test_checkin_calls import (
    NOON_CHICAGO,
    connect,
    enrol,
    report,
    the_call,
)
from tests.test_streaks_and_risk import HARD_DAY, OFFER


@pytest.fixture
def shipped(session, line):  # noqa: ANN001, ANN201
    flowstore.sync(session)
    create_line_number(session)
    session.commit()


def voice_checkin(session) -> Conversation:  # noqa: ANN001
    session.rollback()
    session.expire_all()
    return session.scalar(select(Conversation).where(Conversation.channel == "voice"))


def test_a_hang_up_before_any_answer_is_a_missed_checkin(
    twilio_post, line, session, shipped
) -> None:  # noqa: ANN001
    member = enrol(session)
    line_sweep(line)
    row = the_call(session)
    assert "how are you today" in connect(twilio_post, row, member, "human")
    report(twilio_post, row, member, "completed", AnsweredBy="human")
    assert the_call(session).status == "completed"
    conversation = voice_checkin(session)
    assert (conversation.status, conversation.ended_reason) == ("ended", "hung up")
    again = reload_member(session, member)
    assert (again.checkins_missed, again.checkin_streak) == (1, 0)
    report(twilio_post, row, member, "completed", AnsweredBy="human")  # a repeated callback
    assert reload_member(session, member).checkins_missed == 1


def test_a_hang_up_after_some_answers_is_an_answered_checkin(
    twilio_post,
    line,
    session,
    shipped,
) -> None:  # noqa: ANN001
    from tests.test_checkin_calls import call_form

    member = enrol(session, checkins_missed=2)
    line_sweep(line)
    row = the_call(session)
    connect(twilio_post, row, member, "human")
    conversation = voice_checkin(session)
    keys = twilio_post(
        f"/twilio/voice/answer?c={conversation.id}", call_form(member, row.call_sid, Digits="4")
    ).data.decode()
    assert "Any cravings today" in keys
    report(twilio_post, row, member, "completed", AnsweredBy="human")
    assert voice_checkin(session).ended_reason == "hung up"
    again = reload_member(session, member)
    assert (again.checkins_missed, again.checkin_streak) == (0, 1)
    assert again.last_checkin_on is not None


def test_an_answered_call_never_reported_is_tidied_after_an_hour(
    twilio_post,
    line,
    session,
    shipped,
) -> None:  # noqa: ANN001
    member = enrol(session)
    line_sweep(line)
    row = the_call(session)
    connect(twilio_post, row, member, "human")
    answered_at = the_call(session).status_at
    assert checkin_calls.tidy_answered(session, answered_at + timedelta(minutes=59), 10) == 0
    assert checkin_calls.tidy_answered(session, answered_at + timedelta(hours=1), 10) == 1
    session.commit()
    tidied = the_call(session)
    assert (tidied.status, tidied.error_detail, tidied.fallback_sent) == (
        "completed",
        "no status callback",
        False,
    )
    assert voice_checkin(session).ended_reason == "hung up"
    assert reload_member(session, member).checkins_missed == 1
    assert checkin_calls.tidy_answered(session, answered_at + timedelta(hours=2), 10) == 0


def line_sweep(line) -> None:  # noqa: ANN001
    from smsline import clock

    assert clock.sweep(line, NOON_CHICAGO)["checkin_calls"] == 1


def test_yes_to_the_peer_offer_by_day_pages_the_coordinators_once(
    line,
    session,
    shipped,
    twilio_post,
    monkeypatch,
) -> None:  # noqa: ANN001
    coordinator = create_supporter(session, coordinator=True, timezone="America/Chicago")
    member = enrol_by_text(session)
    reply = answer_a_day(line, twilio_post, monkeypatch, member, 0, *HARD_DAY, "yes")
    assert OFFER in reply and "no peer is on call right now" in reply  # said honestly
    (page,) = rows(session, "followup")  # the hard day's page went at once; nothing more
    assert page.supporter_id == coordinator.id and page.status == "sent"
    assert rows(session, "page") == []
    (followup,) = session.scalars(select(FollowUp))
    assert (followup.kind, followup.member_id) == ("peer_request", member.id)


def test_yes_to_the_peer_offer_at_night_sends_one_urgent_page_instead(
    line,
    session,
    shipped,
    twilio_post,
    monkeypatch,
    transport,
) -> None:  # noqa: ANN001
    coordinator = create_supporter(session, coordinator=True, timezone="America/Chicago")
    member = enrol_by_text(session)
    say(twilio_post, monkeypatch, day(0, 22), "CHECKIN", member.phone)
    for index, text in enumerate((*HARD_DAY, "yes")):
        say(twilio_post, monkeypatch, day(0, 22, 1 + index), text, member.phone)
    (held,) = rows(session, "followup")
    assert held.status == "suppressed" and held.next_attempt_at == datetime(
        2027, 6, 10, 9, 0, tzinfo=CHICAGO
    )
    (page,) = rows(session, "page")
    (followup,) = followups(session, "peer_request")
    assert page.supporter_id == coordinator.id and page.next_attempt_at is None
    assert page.body_enc == (
        f"Recovery Line: member Sam would like to talk with a peer. "
        f"Please check the follow-up queue (#{followup.id})."
    )
    assert [message.to for message in transport.sent] == [coordinator.phone]
    assert followups(session, "risk") == []


def test_a_peer_request_without_a_hard_day_opens_its_own_follow_up(
    line,
    session,
    shipped,
    twilio_post,
    monkeypatch,
) -> None:  # noqa: ANN001
    create_supporter(session, coordinator=True, timezone="America/Chicago")
    member = enrol_by_text(session)
    answer_a_day(line, twilio_post, monkeypatch, member, 0, *HARD_DAY, "no")
    say(twilio_post, monkeypatch, day(0, 12), "PEER", member.phone)
    assert len(followups(session, "risk")) == 1
    assert len(followups(session, "peer_request")) == 1
