"""Erasure: DELETE (BORRAR) asks to confirm, YES (SI) within 15 minutes erases everything about
the member but the consent ledger, a suppression entry and the audit log; anything else keeps it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from smsline import crypto, erasure, outbox, segments
from smsline.models import (
    AuditEntry,
    CheckinRecord,
    Consent,
    Conversation,
    InboundMessage,
    LineNumber,
    Meeting,
    MeetingSource,
    MeetingSubscription,
    Member,
    OptOut,
    OutboundMessage,
    Pairing,
    PeerRequest,
    utcnow,
)
from smsline.texts import TEXTS
from tests.factories import create_member, create_supporter, phone, sms_form

SECRET = "i slipped on saturday and told nobody"
ANSWER_NOTE = "my sponsor moved away"


def text(twilio_post, body: str, sender: str) -> str:  # noqa: ANN001
    response = twilio_post("/twilio/sms", sms_form(body, sender))
    assert response.status_code == 200, response.data
    return response.get_data(as_text=True)


def fresh(session) -> None:  # noqa: ANN001
    session.rollback()
    session.expire_all()


def member_with_history(session, number: str, **fields: object) -> Member:  # noqa: ANN001
    """An active member with a consent, a check-in, a conversation, texts both ways and a meeting
    reminder."""
    fields.setdefault("nickname", "Sam")
    member = create_member(session, number, status="active", checkin_time="09:00", **fields)
    conversation = Conversation(
        member_id=member.id,
        flow_name="checkin",
        state="done",
        status="ended",
        answers_enc=json.dumps({"mood": 2, "note": ANSWER_NOTE}),
    )
    session.add(conversation)
    session.flush()
    session.add(
        CheckinRecord(
            member_id=member.id,
            conversation_id=conversation.id,
            answers_enc=json.dumps({"mood": 2, "note": ANSWER_NOTE}),
        )
    )
    session.add(
        Consent(
            phone_hash=member.phone_hash,
            member_id=member.id,
            purpose="checkins",
            granted=True,
            wording="Reply YES to get a daily check-in",
            channel="sms",
            recorded_by="member",
        )
    )
    session.add(
        InboundMessage(
            message_sid=f"SMhistory{member.id:025d}",
            from_hash=member.phone_hash,
            from_enc=number,
            to_number="+15005550006",
            body_enc=SECRET,
            member_id=member.id,
            route="flow:checkin",
        )
    )
    session.add(
        OutboundMessage(
            to_hash=member.phone_hash,
            to_enc=number,
            body_enc="Thanks Sam, one day at a time.",
            kind="reply",
            status="delivered",
            member_id=member.id,
        )
    )
    source = MeetingSource(name=f"feed {member.id}", url="file:///dev/null")
    session.add(source)
    session.flush()
    meeting = Meeting(
        source_id=source.id,
        slug=f"m{member.id}",
        name="Tuesday Night Hope",
        days="2",
        time="19:00",
        end_time="20:00",
        timezone="America/Chicago",
        attendance="in_person",
    )
    session.add(meeting)
    session.flush()
    session.add(MeetingSubscription(member_id=member.id, meeting_id=meeting.id))
    session.commit()
    return member


def the_member(session, number: str) -> Member | None:  # noqa: ANN001
    fresh(session)
    return erasure.find(session, crypto.current().index(number))


def test_delete_then_yes_erases_all_but_the_ledger_and_a_suppression(twilio_post, session) -> None:  # noqa: ANN001
    number = phone()
    member = member_with_history(session, number)
    member_id, phone_hash = member.id, member.phone_hash

    asked = text(twilio_post, "DELETE", number)
    assert "Reply YES within 15 min to erase" in asked
    assert the_member(session, number) is not None  # nothing yet
    done = text(twilio_post, "yes", number)
    assert "we erased everything we held about you" in done

    assert the_member(session, number) is None
    tombstone = session.get(Member, member_id)
    assert tombstone.status == "erased"
    assert tombstone.nickname is None and tombstone.checkin_time is None
    assert tombstone.phone != number and tombstone.phone_hash != phone_hash
    # the suppression entry and the consent ledger stay, under the number's keyed hash
    suppression = session.get(OptOut, phone_hash)
    assert suppression.opted_out and suppression.source == "erasure"
    consents = session.scalars(
        select(Consent).where(Consent.phone_hash == phone_hash).order_by(Consent.id)
    ).all()
    assert [(c.purpose, c.granted, c.member_id) for c in consents] == [
        ("checkins", True, member_id),
        ("all", False, member_id),  # the erasure withdrew everything, in the ledger too
    ]
    assert consents[1].wording == TEXTS["erase_confirm"]["en"]
    # nothing said is left, and no row leads to the number
    for row in session.scalars(select(InboundMessage)):
        assert row.body_enc is None and row.reply_enc is None or row.route == "erased"
        assert row.from_hash != phone_hash and row.from_enc != number
    assert SECRET not in str(session.scalars(select(InboundMessage.body_enc)).all())
    for row in session.scalars(
        select(OutboundMessage).where(OutboundMessage.member_id == member_id)
    ):
        assert row.to_hash != phone_hash and row.to_enc != number
        assert row.body_enc in ("", TEXTS["erase_done"]["en"])
    assert session.scalar(select(CheckinRecord.answers_enc)) == ""  # the fact of it only
    assert session.scalar(select(Conversation.answers_enc)) is None
    assert session.scalars(select(MeetingSubscription)).all() == []
    # audited, without personal data
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "member.erase"))
    assert entry.actor == "member" and entry.subject_id == member_id
    assert number not in (entry.details_json or "") and "Sam" not in (entry.details_json or "")
    # a retried YES webhook gets the same answer and erases nothing twice
    retried = session.scalar(select(InboundMessage).where(InboundMessage.route == "erased"))
    assert retried.body_enc is None and "erased everything" in retried.reply_enc


def test_a_new_text_after_erasure_starts_over_with_no_history(twilio_post, session) -> None:  # noqa: ANN001
    number = phone()
    old_id = member_with_history(session, number).id
    text(twilio_post, "DELETE", number)
    text(twilio_post, "YES", number)
    answer = text(twilio_post, "hello", number)
    assert "<Message" in answer  # answered like any stranger
    member = the_member(session, number)
    assert member is not None and member.id != old_id and member.status == "new"
    assert member.nickname is None
    assert (
        session.scalars(select(CheckinRecord).where(CheckinRecord.member_id == member.id)).all()
        == []
    )
    inbound = session.scalars(
        select(InboundMessage).where(InboundMessage.member_id == member.id)
    ).all()
    assert len(inbound) == 1
    assert not outbox.is_opted_out(session, member.phone_hash)


def test_a_stop_before_erasure_stays_honoured_after(twilio_post, session) -> None:  # noqa: ANN001
    number = phone()
    member_with_history(session, number)
    text(twilio_post, "STOP", number)
    assert "Reply YES" in text(twilio_post, "DELETE", number)  # asked, though opted out
    assert "erased everything" in text(twilio_post, "YES", number)  # not read as START
    fresh(session)
    phone_hash = crypto.current().index(number)
    row = session.get(OptOut, phone_hash)
    assert row.opted_out and row.source == "keyword"
    written = outbox.write(session, to=number, body="check-in", kind="checkin")
    assert written.status == "suppressed"
    session.rollback()
    assert "<Message" not in text(twilio_post, "hello", number)  # still out: no answer
    assert the_member(session, number) is None


def test_delete_then_no_keeps_everything(twilio_post, session) -> None:  # noqa: ANN001
    number = phone()
    member_id = member_with_history(session, number).id
    text(twilio_post, "delete", number)
    assert "nothing was erased" in text(twilio_post, "No", number)
    member = the_member(session, number)
    assert member.id == member_id and member.status == "active" and member.nickname == "Sam"
    assert not outbox.is_opted_out(session, member.phone_hash)
    # a YES after that answers nothing about erasing
    text(twilio_post, "YES", number)
    assert the_member(session, number).id == member_id


def test_delete_then_anything_else_is_handled_as_usual_and_keeps_it(twilio_post, session) -> None:  # noqa: ANN001
    number = phone()
    member_id = member_with_history(session, number).id
    text(twilio_post, "DELETE", number)
    text(twilio_post, "how do meetings work", number)
    text(twilio_post, "yes", number)
    member = the_member(session, number)
    assert member is not None and member.id == member_id and member.status == "active"


def test_a_yes_after_15_minutes_erases_nothing(twilio_post, session) -> None:  # noqa: ANN001
    number = phone()
    member_id = member_with_history(session, number).id
    text(twilio_post, "DELETE", number)
    session.execute(
        update(InboundMessage)
        .where(InboundMessage.route == "delete")
        .values(received_at=utcnow() - timedelta(minutes=16))
    )
    session.commit()
    assert "nothing was erased" in text(twilio_post, "YES", number)
    assert the_member(session, number).id == member_id


def test_borrar_and_si_in_spanish(twilio_post, session) -> None:  # noqa: ANN001
    number = phone()
    member_with_history(session, number, language="es")
    asked = text(twilio_post, "BORRAR", number)
    assert "Responde SI en 15 min" in asked
    assert "borramos todo lo que guardamos" in text(twilio_post, "Sí", number)
    assert the_member(session, number) is None


def test_borrar_from_an_english_member_is_answered_in_spanish(twilio_post, session) -> None:  # noqa: ANN001
    number = phone()
    member_with_history(session, number)
    assert "Responde SI" in text(twilio_post, "borrar", number)
    assert "borramos" in text(twilio_post, "si", number)


def test_crisis_still_wins_over_delete(twilio_post, session) -> None:  # noqa: ANN001
    number = phone()
    member_id = member_with_history(session, number).id
    text(twilio_post, "DELETE", number)
    answer = text(twilio_post, "I want to kill myself", number)
    assert "988" in answer and "erased" not in answer
    text(twilio_post, "yes", number)  # the crisis text came between: not a confirmation
    assert the_member(session, number).id == member_id


def test_a_stranger_who_texts_delete_is_told_nothing_is_held(twilio_post, session) -> None:  # noqa: ANN001
    number = phone()
    assert "don't hold anything" in text(twilio_post, "DELETE", number)
    assert the_member(session, number) is None


def test_a_supporter_texting_delete_is_not_erased(twilio_post, session) -> None:  # noqa: ANN001
    supporter = create_supporter(session)
    text(twilio_post, "DELETE", supporter.phone)
    fresh(session)
    assert (
        session.scalars(select(AuditEntry).where(AuditEntry.action == "member.erase")).all() == []
    )


def test_erasure_ends_pairings_and_purges_relayed_words(twilio_post, session) -> None:  # noqa: ANN001
    number = phone()
    member = member_with_history(session, number)
    supporter = create_supporter(session, name="Rosa")
    relay_number = LineNumber(e164="+15005550010", purpose="relay")
    session.add(relay_number)
    session.flush()
    request = PeerRequest(member_id=member.id, source="keyword", status="paired")
    session.add(request)
    session.flush()
    session.add(
        Pairing(
            member_id=member.id,
            supporter_id=supporter.id,
            request_id=request.id,
            relay_number_id=relay_number.id,
            started_at=utcnow() - timedelta(minutes=30),
        )
    )
    session.add(
        OutboundMessage(
            to_hash=supporter.phone_hash,
            to_enc=supporter.phone,
            from_number="+15005550010",
            body_enc=SECRET,
            kind="relay",
            status="delivered",
            supporter_id=supporter.id,
            created_at=utcnow() - timedelta(minutes=10),
        )
    )
    session.commit()
    member_id = member.id
    text(twilio_post, "DELETE", number)
    text(twilio_post, "YES", number)
    fresh(session)
    pairing = session.scalar(select(Pairing).where(Pairing.member_id == member_id))
    assert pairing.status == "ended" and pairing.ended_by == "erased"
    assert pairing.relay_number_id is None and pairing.tag is None
    to_supporter = session.scalars(
        select(OutboundMessage).where(OutboundMessage.supporter_id == supporter.id)
    ).all()
    assert SECRET not in [row.body_enc for row in to_supporter]
    told = [row.body_enc for row in to_supporter if row.kind == "peer"]
    assert told == [TEXTS["relay_ended_supporter"]["en"].format(who="Sam")]
    assert number not in str([row.to_enc for row in to_supporter])


@pytest.mark.parametrize("key", [k for k in TEXTS if k.startswith("erase_")])
def test_the_erasure_texts_fit_one_segment(key: str) -> None:
    for language, body in TEXTS[key].items():
        assert segments.count(body).segments == 1, (key, language)
