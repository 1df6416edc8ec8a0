"""Retention: bodies and free text older than `retention_days` are purged by the clock, a batch
a pass, audited; the metadata the reports count stays."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from smsline import clock, reports, retention, settings
from smsline.models import (
    AuditEntry,
    CheckinRecord,
    Conversation,
    InboundMessage,
    OutboundMessage,
    PeerRequest,
)
from tests.factories import create_member, message_sid, phone, sms_form

NOW = datetime(2027, 6, 15, 14, retention.RETENTION_MINUTE, tzinfo=UTC)  # the hourly pass
OLD = NOW - timedelta(days=91)
RECENT = NOW - timedelta(days=89)
SECRET = "i drank again last night"


def fresh(session) -> None:  # noqa: ANN001
    session.rollback()
    session.expire_all()


def texts_at(session, member, at: datetime, words: str = SECRET) -> None:  # noqa: ANN001
    """A text from the member, our answer, a check-in with a note, a voice message, at `at`."""
    session.add(
        InboundMessage(
            message_sid=message_sid(),
            from_hash=member.phone_hash,
            from_enc=member.phone,
            to_number="+15005550006",
            body_enc=words,
            reply_enc=f"<Response><Message>{words}</Message></Response>",
            member_id=member.id,
            route="flow:checkin",
            received_at=at,
        )
    )
    session.add(
        OutboundMessage(
            to_hash=member.phone_hash,
            to_enc=member.phone,
            body_enc=f"you said: {words}",
            kind="checkin",
            status="delivered",
            segments=1,
            error_code=None,
            member_id=member.id,
            created_at=at,
        )
    )
    answers = json.dumps({"mood": 2, "used": "yes", "note": words})
    conversation = Conversation(
        member_id=member.id,
        flow_name="checkin",
        state="save",
        status="ended",
        answers_enc=answers,
        started_at=at,
        updated_at=at,
    )
    session.add(conversation)
    session.flush()
    session.add(
        CheckinRecord(
            member_id=member.id,
            conversation_id=conversation.id,
            answers_enc=answers,
            created_at=at,
        )
    )
    session.add(
        PeerRequest(
            member_id=member.id,
            source="voice",
            status="paired",
            voicemail_enc="https://api.twilio.com/recording/RE123",
            created_at=at,
        )
    )
    session.commit()


def test_the_clock_purges_old_bodies_and_keeps_the_metadata(line, session) -> None:  # noqa: ANN001
    member = create_member(session, status="active")
    texts_at(session, member, OLD)
    texts_at(session, member, RECENT, words="still fresh")
    counts = clock.sweep(line, NOW)
    assert counts["purged_inbound"] == 1 and counts["purged_outbound"] == 1
    assert counts["purged_checkins"] == 1 and counts["purged_conversations"] == 1
    assert counts["purged_voice_messages"] == 1
    fresh(session)

    old_in, new_in = session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
    assert old_in.body_enc is None and old_in.reply_enc is None
    assert (old_in.route, old_in.received_at, old_in.member_id) == ("flow:checkin", OLD, member.id)
    assert new_in.body_enc == "still fresh"
    old_out, new_out = session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()
    assert old_out.body_enc == "" and new_out.body_enc == "you said: still fresh"
    assert (old_out.kind, old_out.status, old_out.segments, old_out.created_at) == (
        "checkin",
        "delivered",
        1,
        OLD,
    )
    old_conversation, new_conversation = session.scalars(
        select(Conversation).order_by(Conversation.id)
    ).all()
    assert old_conversation.answers_enc is None and old_conversation.updated_at == OLD
    assert json.loads(new_conversation.answers_enc)["note"] == "still fresh"
    old_checkin, new_checkin = session.scalars(
        select(CheckinRecord).order_by(CheckinRecord.id)
    ).all()
    assert old_checkin.answers_enc == "" and old_checkin.created_at == OLD  # the fact stays
    assert json.loads(new_checkin.answers_enc)["mood"] == 2
    voice = session.scalars(select(PeerRequest.voicemail_enc).order_by(PeerRequest.id)).all()
    assert voice == [None, "https://api.twilio.com/recording/RE123"]
    # no purged secret anywhere the database hands out
    raw = session.execute(select(InboundMessage.body_enc, InboundMessage.reply_enc)).all()
    assert SECRET not in str(raw)

    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "retention.purge"))
    assert entry.actor == "system"
    details = json.loads(entry.details_json)
    assert details["inbound"] == 1 and details["checkins"] == 1 and details["retention_days"] == 90
    # a second pass has nothing to purge, and says nothing
    assert not any(
        v for k, v in clock.sweep(line, NOW + timedelta(hours=1)).items() if "purged" in k
    )
    fresh(session)
    assert session.scalar(select(func.count()).where(AuditEntry.action == "retention.purge")) == 1


def test_reports_still_count_purged_months(line, session) -> None:  # noqa: ANN001
    member = create_member(session, status="active")
    texts_at(session, member, OLD)
    month = f"{OLD:%Y-%m}"
    before = reports.monthly(session, month).figures
    clock.sweep(line, NOW)
    fresh(session)
    assert reports.monthly(session, month).figures == before


def test_the_pass_is_hourly_and_follows_retention_days(line, session) -> None:  # noqa: ANN001
    member = create_member(session, status="active")
    texts_at(session, member, NOW - timedelta(days=20))
    assert "purged_inbound" not in clock.sweep(line, NOW.replace(minute=5))
    assert clock.sweep(line, NOW)["purged_inbound"] == 0  # 20 days: kept under 90
    settings.set_value(session, "retention_days", "14", actor="test")
    session.commit()
    assert clock.sweep(line, NOW + timedelta(hours=1))["purged_inbound"] == 1


def test_a_pass_with_more_to_do_is_followed_at_the_next_sweep(line, session, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(retention, "BATCH", 2)
    member = create_member(session, status="active")
    for _ in range(3):
        texts_at(session, member, OLD)
    assert clock.sweep(line, NOW)["purged_inbound"] == 2
    assert clock.sweep(line, NOW + timedelta(minutes=1))["purged_inbound"] == 1
    assert "purged_inbound" not in clock.sweep(line, NOW + timedelta(minutes=2))


def test_texts_on_their_way_and_waiting_conversations_are_left_alone(line, session) -> None:  # noqa: ANN001
    member = create_member(session, status="active")
    session.add(
        OutboundMessage(
            to_hash=member.phone_hash,
            to_enc=member.phone,
            body_enc="still to send",
            kind="reply",
            status="pending",
            member_id=member.id,
            created_at=OLD,
        )
    )
    session.add(
        Conversation(
            member_id=member.id,
            flow_name="checkin",
            state="note",
            status="active",
            answers_enc=json.dumps({"note": "typing"}),
            started_at=OLD,
        )
    )
    session.commit()
    retention.purge(session, NOW)
    session.commit()
    fresh(session)
    assert session.scalar(select(OutboundMessage.body_enc)) == "still to send"
    assert session.scalar(select(Conversation.answers_enc)) is not None


def test_a_webhook_retried_after_the_purge_gets_an_empty_answer(twilio_post, session) -> None:  # noqa: ANN001
    form = sms_form("hello there", phone())
    first = twilio_post("/twilio/sms", form).get_data(as_text=True)
    assert "<Message" in first
    retention.purge(session, datetime.now(UTC) + timedelta(days=91))
    session.commit()
    again = twilio_post("/twilio/sms", form).get_data(as_text=True)
    assert "<Message" not in again
    fresh(session)
    assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1  # nothing twice
