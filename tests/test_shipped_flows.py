"""The flows the line ships with, end to end through the webhook: they validate and publish, a
stranger is welcomed, a check-in is saved whole, keywords before and after joining, RESUME."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from smsline import flowstore
from smsline.cli import main
from smsline.models import CheckinRecord, Consent, Conversation, FlowVersion, Member
from tests.factories import create_member, phone, sms_form


@pytest.fixture
def shipped(session):  # noqa: ANN001, ANN201
    synced = flowstore.sync(session)
    session.commit()
    return synced


def say(twilio_post, body: str, sender: str) -> str:  # noqa: ANN001
    response = twilio_post("/twilio/sms", sms_form(body, sender))
    assert response.status_code == 200, response.data
    return response.data.decode()


def test_shipped_flows_validate_and_publish(session, shipped) -> None:  # noqa: ANN001
    result = CliRunner().invoke(main, ["flows", "validate"])
    assert result.exit_code == 0 and "no problems" in result.output, result.output
    assert {"welcome", "menu", "checkin", "peer", "meetings", "settings", "language", "resume"} == {
        s.name for s in shipped
    }
    assert all(s.version == 1 and s.changed for s in shipped)
    assert not any(s.changed for s in flowstore.sync(session))
    assert len(session.scalars(select(FlowVersion)).all()) == len(shipped)


def test_a_stranger_joins_and_both_consents_are_recorded(twilio_post, session, shipped) -> None:  # noqa: ANN001
    sender = phone()
    first = say(twilio_post, "hello?", sender)
    assert "Msg &amp; data rates may apply" in first and "STOP" in first
    say(twilio_post, "yes", sender)
    session.rollback()
    session.expire_all()
    purposes = sorted(c.purpose for c in session.scalars(select(Consent)))
    assert purposes == ["checkins", "line"]
    wording = session.scalar(select(Consent.wording))
    assert "Msg & data rates may apply" in wording and "$" not in wording
    assert session.scalar(select(Member.status)) == "active"


def test_before_joining_only_peer_skips_the_welcome(twilio_post, session, shipped) -> None:  # noqa: ANN001
    assert "Msg &amp; data rates" in say(twilio_post, "CHECKIN", phone())
    assert "Msg &amp; data rates" in say(twilio_post, "SETTINGS", phone())
    stranger = phone()
    assert "988" in say(twilio_post, "PEER", stranger)
    session.rollback()
    session.expire_all()
    assert session.scalar(select(Conversation.flow_name).order_by(Conversation.id.desc())) == "peer"


def test_a_checkin_is_saved_with_every_answer(twilio_post, session, shipped) -> None:  # noqa: ANN001
    member = create_member(session, status="active", nickname="Sam")
    say(twilio_post, "CHECKIN", member.phone)
    say(twilio_post, "4", member.phone)
    say(twilio_post, "2", member.phone)
    say(twilio_post, "no", member.phone)
    say(twilio_post, "feeling good today", member.phone)
    session.rollback()
    session.expire_all()
    record = session.scalar(select(CheckinRecord))
    assert json.loads(record.answers_enc)["note"] == "feeling good today"
    assert {"mood": 4, "craving": 2}.items() <= json.loads(record.answers_enc).items()


def test_resume_turns_checkins_back_on_at_once(twilio_post, session, shipped) -> None:  # noqa: ANN001
    member = create_member(session, status="paused", nickname="Sam")
    assert "back on" in say(twilio_post, "RESUME", member.phone)
    session.rollback()
    session.expire_all()
    assert session.get(Member, member.id).status == "active"


def test_pause_for_days_sets_when_checkins_return(twilio_post, session, shipped) -> None:  # noqa: ANN001
    member = create_member(session, status="active", nickname="Sam")
    say(twilio_post, "SETTINGS", member.phone)
    say(twilio_post, "2", member.phone)
    assert "14 days" in say(twilio_post, "14", member.phone)
    session.rollback()
    session.expire_all()
    paused = session.get(Member, member.id)
    assert paused.status == "paused" and paused.paused_until is not None
    assert 13.9 < (paused.paused_until - paused.updated_at).total_seconds() / 86400 < 14.1


def test_a_call_runs_the_shipped_voice_menu(twilio_post, session, shipped) -> None:  # noqa: ANN001
    member = create_member(session, status="active", nickname="Sam")
    answer = twilio_post(
        "/twilio/voice", {"CallSid": "CA1", "From": member.phone, "To": "+15005550006"}
    )
    text = answer.data.decode()
    assert "<Gather" in text and "Press 1" in text and "Press 2" in text
