"""Flows in the line: publishing versions, conversations on the version they started on, keywords,
timeouts and expiry on the clock, voice calls, and the `smsline flows` commands."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from smsline import clock, flowstore
from smsline.cli import main
from smsline.engine.format import FlowError
from smsline.models import (
    AuditEntry,
    CheckinRecord,
    Consent,
    Conversation,
    FollowUp,
    Member,
    OutboundMessage,
    utcnow,
)
from tests.factories import create_line_number, create_member, create_supporter, phone, sms_form

SMALL = Path(__file__).parent / "flows_small"


@pytest.fixture
def flows(session, tmp_path):  # noqa: ANN001, ANN201
    """The small test flows, published; returns their folder (a copy the test may edit)."""
    folder = tmp_path / "flows"
    shutil.copytree(SMALL, folder)
    flowstore.sync(session, folder)
    session.commit()
    return folder


def say(twilio_post, body: str, sender: str) -> str:  # noqa: ANN001
    response = twilio_post("/twilio/sms", sms_form(body, sender))
    assert response.status_code == 200, response.data
    return response.data.decode()


def test_sync_publishes_changed_files_only(session, flows) -> None:  # noqa: ANN001
    assert [(s.name, s.version, s.changed) for s in flowstore.sync(session, flows)] == [
        ("checkin", 1, False),
        ("menu", 1, False),
        ("welcome", 1, False),
    ]
    text = (flows / "checkin.yaml").read_text().replace("Thank you.", "Thanks a lot.")
    (flows / "checkin.yaml").write_text(text)
    changed = {s.name: (s.version, s.changed) for s in flowstore.sync(session, flows)}
    assert changed["checkin"] == (2, True) and changed["menu"] == (1, False)
    actions = session.scalars(select(AuditEntry.reason).where(AuditEntry.action == "flow.publish"))
    assert sorted(actions) == ["checkin v1", "checkin v2", "menu v1", "welcome v1"]


def test_a_broken_file_publishes_nothing_and_names_the_problem(session, flows) -> None:  # noqa: ANN001
    (flows / "menu.yaml").write_text(
        (flows / "menu.yaml").read_text().replace("goto: to_peer", "goto: nowhere")
    )
    (flows / "checkin.yaml").write_text((flows / "checkin.yaml").read_text() + "\n# edited\n")
    with pytest.raises(FlowError) as error:
        flowstore.sync(session, flows)
    assert "menu.yaml" in str(error.value) and "nowhere" in str(error.value)
    assert flowstore.latest_version(session, "checkin") == 1


def test_a_stranger_is_welcomed_and_the_consent_wording_recorded(
    twilio_post, session, flows
) -> None:  # noqa: ANN001
    sender = phone()
    assert "Reply YES to join" in say(twilio_post, "hi", sender)
    assert "What should we call you?" in say(twilio_post, "yes", sender)
    assert "Welcome, Sam." in say(twilio_post, "Sam", sender)
    session.rollback()
    member = session.scalar(select(Member))
    assert (member.nickname, member.status) == ("Sam", "active")
    consent = session.scalar(select(Consent))
    assert (
        consent.purpose == "line"
        and consent.wording == "Hi, this is Recovery Line. Reply YES to join."
    )
    assert session.scalar(select(Conversation.status)) == "ended"


def test_an_odd_reply_gets_a_friendly_reprompt(twilio_post, session, flows) -> None:  # noqa: ANN001
    sender = phone()
    say(twilio_post, "hi", sender)
    answer = say(twilio_post, "what is this??", sender)
    assert "<Message" in answer and "yes" in answer.lower()


def test_conversation_keeps_its_version_after_a_new_publish(twilio_post, session, flows) -> None:  # noqa: ANN001
    member = create_member(session, status="active", nickname="Ana")
    say(twilio_post, "CHECKIN", member.phone)
    (flows / "checkin.yaml").write_text(
        (flows / "checkin.yaml").read_text().replace("Thank you.", "New thanks.")
    )
    flowstore.sync(session, flows)
    session.commit()
    assert "Thank you." in say(twilio_post, "4", member.phone)  # the version it started on
    assert "1 to 5" in say(twilio_post, "CHECKIN", member.phone)
    assert "New thanks." in say(twilio_post, "3", member.phone)
    session.rollback()
    assert [
        c.flow_version for c in session.scalars(select(Conversation).order_by(Conversation.id))
    ] == [1, 2]
    assert len(session.scalars(select(CheckinRecord)).all()) == 2


def test_a_keyword_interrupts_the_waiting_flow(twilio_post, session, flows) -> None:  # noqa: ANN001
    member = create_member(session, status="active", nickname="Ana")
    say(twilio_post, "hello", member.phone)  # the menu waits
    assert "1 to 5" in say(twilio_post, "checkin", member.phone)
    session.rollback()
    reasons = [
        c.ended_reason for c in session.scalars(select(Conversation).order_by(Conversation.id))
    ]
    assert reasons == ["interrupted", None]


def test_menu_starts_another_flow_and_peer_requests_reach_coordinators(
    twilio_post, session, flows, transport
) -> None:  # noqa: ANN001, E501
    create_line_number(session)
    coordinator = create_supporter(session, coordinator=True)
    member = create_member(session, status="active", nickname="Ana")
    assert "What would you like?" in say(twilio_post, "hey", member.phone)
    assert "1 to 5" in say(twilio_post, "1", member.phone)  # menu -> start_flow checkin
    say(twilio_post, "menu", member.phone)
    assert "A peer will text you soon." in say(twilio_post, "2", member.phone)
    assert [m.to for m in transport.sent] == [coordinator.phone]
    assert "would like to talk with a peer" in transport.sent[0].body
    assert session.scalar(select(FollowUp.kind)) == "peer_request"


def test_timeout_reasks_by_text_and_expiry_ends_quietly(
    twilio_post, line, session, flows, transport
) -> None:  # noqa: ANN001, E501
    create_line_number(session)
    member = create_member(session, status="active", timezone="America/New_York")
    say(twilio_post, "CHECKIN", member.phone)
    assert clock.sweep(line, utcnow() + timedelta(hours=1))["conversations"] == 0
    counts = clock.sweep(line, utcnow() + timedelta(hours=2, minutes=1))
    assert counts["conversations"] == 1
    session.rollback()
    reask = session.scalar(select(OutboundMessage).where(OutboundMessage.kind == "notice"))
    assert reask is not None and "1 to 5" in reask.body_enc
    clock.sweep(line, utcnow() + timedelta(hours=5))  # a second silence ends it, quietly
    session.rollback()
    conversation = session.scalar(select(Conversation))
    assert (conversation.status, conversation.ended_reason) == ("ended", "timeout")
    assert (
        len(session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "notice")).all())
        == 1
    )


def test_expiry_on_the_clock_ends_the_conversation(twilio_post, line, session, flows) -> None:  # noqa: ANN001
    member = create_member(session, status="active", nickname="Ana")
    say(twilio_post, "hello", member.phone)  # the menu: no wait timeout, expires after 1h
    assert clock.sweep(line, utcnow() + timedelta(minutes=59))["conversations"] == 0
    assert clock.sweep(line, utcnow() + timedelta(minutes=61))["conversations"] == 1
    session.rollback()
    conversation = session.scalar(select(Conversation))
    assert (conversation.status, conversation.ended_reason) == ("ended", "expired")


def test_a_text_after_expiry_starts_fresh(twilio_post, line, session, flows) -> None:  # noqa: ANN001
    member = create_member(session, status="active", nickname="Ana")
    say(twilio_post, "CHECKIN", member.phone)
    conversation = session.scalar(select(Conversation))
    conversation.expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    assert "What would you like?" in say(twilio_post, "4", member.phone)


def test_voice_call_runs_the_menu_and_keys_move_it_on(twilio_post, session, flows) -> None:  # noqa: ANN001
    member = create_member(session, status="active", nickname="Ana")
    call = {"CallSid": "CA1", "From": member.phone, "To": "+15005550006"}
    answer = twilio_post("/twilio/voice", call).data.decode()
    assert "<Gather" in answer and 'input="dtmf speech"' in answer
    assert "Press 1 for check in" in answer
    conversation = session.scalar(select(Conversation))
    path = f"/twilio/voice/answer?c={conversation.id}"
    assert f'action="https://line.example.org{path}"' in answer
    checkin = twilio_post(path, {**call, "Digits": "1"}).data.decode()
    assert "How are you today, 1 to 5?" in checkin and "<Gather" in checkin
    session.rollback()
    current = session.scalar(select(Conversation).where(Conversation.status == "active"))
    done = twilio_post(f"/twilio/voice/answer?c={current.id}", {**call, "SpeechResult": "four"})
    assert "Thank you." in done.data.decode() and "<Hangup" in done.data.decode()


def test_voice_zero_gives_crisis_options_and_pages(twilio_post, session, flows, transport) -> None:  # noqa: ANN001
    create_line_number(session)
    create_supporter(session, coordinator=True)
    member = create_member(session, status="active")
    call = {"CallSid": "CA2", "From": member.phone, "To": "+15005550006"}
    twilio_post("/twilio/voice", call)
    conversation = session.scalar(select(Conversation))
    answer = twilio_post(
        f"/twilio/voice/answer?c={conversation.id}", {**call, "Digits": "0"}
    ).data.decode()
    assert "9 8 8" in answer and "<Gather" in answer
    assert len(transport.sent) == 1


def test_voice_answer_for_someone_elses_conversation_is_refused(
    twilio_post, session, flows
) -> None:  # noqa: ANN001
    member = create_member(session, status="active")
    twilio_post("/twilio/voice", {"CallSid": "CA3", "From": member.phone, "To": "+15005550006"})
    conversation = session.scalar(select(Conversation))
    other = {"CallSid": "CA4", "From": phone(), "To": "+15005550006", "Digits": "1"}
    assert twilio_post(f"/twilio/voice/answer?c={conversation.id}", other).status_code == 403


def test_without_published_flows_a_person_still_gets_the_greeting(twilio_post) -> None:  # noqa: ANN001
    assert "glad you reached out" in say(twilio_post, "hello", phone())


def test_flows_validate_command(tmp_path) -> None:  # noqa: ANN001
    good = CliRunner().invoke(main, ["flows", "validate", str(SMALL)])
    assert good.exit_code == 0 and "3 flow files checked" in good.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("flow: broken\nstates: [\n")
    bad = CliRunner().invoke(main, ["flows", "validate", str(broken), str(SMALL)])
    assert bad.exit_code == 1 and "broken.yaml" in bad.output and "Traceback" not in bad.output


def test_a_failing_action_still_records_the_text_and_answers(
    twilio_post, session, flows, monkeypatch
) -> None:  # noqa: ANN001, E501
    from smsline import flow_actions
    from smsline.models import InboundMessage

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("a bug in an action")

    monkeypatch.setitem(flow_actions.HANDLERS, "record_consent", broken)
    sender = phone()
    say(twilio_post, "hi", sender)
    answer = say(twilio_post, "yes", sender)
    assert "glad you reached out" in answer
    session.rollback()
    assert [
        m.route for m in session.scalars(select(InboundMessage).order_by(InboundMessage.id))
    ] == ["flow:welcome", "greeting"]
    assert session.scalar(select(Consent)) is None  # nothing half-done


def test_an_expired_conversation_keeps_its_reason_when_a_new_one_starts(
    twilio_post, session, flows
) -> None:  # noqa: ANN001, E501
    member = create_member(session, status="active", nickname="Ana")
    say(twilio_post, "CHECKIN", member.phone)
    conversation = session.scalar(select(Conversation))
    conversation.expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    say(twilio_post, "4", member.phone)
    session.rollback()
    session.expire_all()
    reasons = [
        c.ended_reason for c in session.scalars(select(Conversation).order_by(Conversation.id))
    ]
    assert reasons == ["expired", None]
