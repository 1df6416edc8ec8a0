"""Status callbacks: idempotent, order-proof (the first final status stands), ErrorCode recorded,
unknown messages acknowledged, 21610 opts the number out."""

from __future__ import annotations

import pytest

from smsline import outbox
from smsline.models import OutboundMessage
from tests.factories import create_line_number, create_member


@pytest.fixture
def sent_row(line, session):  # noqa: ANN001, ANN201
    create_line_number(session)
    member = create_member(session)
    row = outbox.write(session, to=member.phone, body="Hi", kind="page")
    line.commit(session)  # in-process: sent through the local transport right away
    session.refresh(row)
    assert row.status == "sent"
    return row


def post_status(twilio_post, row, status: str, **extra: str):  # noqa: ANN001, ANN201
    form = {"MessageSid": row.twilio_sid, "MessageStatus": status, **extra}
    response = twilio_post(f"/twilio/status?o={row.id}", form)
    assert response.status_code == 204
    return response


def status_of(session, row) -> OutboundMessage:  # noqa: ANN001
    session.rollback()
    session.expire_all()
    return session.get(OutboundMessage, row.id)


def test_delivered_then_a_late_sent_keeps_delivered(twilio_post, session, sent_row) -> None:  # noqa: ANN001
    post_status(twilio_post, sent_row, "delivered")
    post_status(twilio_post, sent_row, "sent")
    post_status(twilio_post, sent_row, "queued")
    assert status_of(session, sent_row).status == "delivered"


def test_first_final_status_stands(twilio_post, session, sent_row) -> None:  # noqa: ANN001
    post_status(twilio_post, sent_row, "undelivered", ErrorCode="30003")
    post_status(twilio_post, sent_row, "delivered")
    row = status_of(session, sent_row)
    assert row.status == "undelivered" and row.error_code == 30003


def test_repeated_callback_is_idempotent(twilio_post, session, sent_row) -> None:  # noqa: ANN001
    for _ in range(3):
        post_status(twilio_post, sent_row, "delivered")
    row = status_of(session, sent_row)
    assert row.status == "delivered" and row.status_at is not None


def test_unknown_message_is_acknowledged(twilio_post) -> None:  # noqa: ANN001
    response = twilio_post(
        "/twilio/status", {"MessageSid": "SMnobody", "MessageStatus": "delivered"}
    )
    assert response.status_code == 204


def test_callback_found_by_sid_without_our_id(twilio_post, session, sent_row) -> None:  # noqa: ANN001
    twilio_post(
        "/twilio/status",
        {"MessageSid": sent_row.twilio_sid, "MessageStatus": "failed", "ErrorCode": "30007"},
    )
    row = status_of(session, sent_row)
    assert row.status == "failed" and row.error_code == 30007


def test_callback_before_our_commit_is_not_lost(twilio_post, line, session) -> None:  # noqa: ANN001
    """Twilio can call back before the worker records the SID: the row is found by our id."""
    member = create_member(session)
    row = outbox.write(session, to=member.phone, body="Hi", kind="page")
    session.info.pop("outbox_ids")
    row.status, row.attempt_id = "sending", "attempt-1"
    session.commit()
    twilio_post(
        f"/twilio/status?o={row.id}", {"MessageSid": "SMearly", "MessageStatus": "delivered"}
    )
    found = status_of(session, row)
    assert found.status == "delivered" and found.twilio_sid == "SMearly"
    outbox._finish(session, found, "attempt-1", status="sent", sid="SMearly")
    assert status_of(session, row).status == "delivered"


def test_21610_in_a_callback_opts_the_number_out(twilio_post, session, sent_row) -> None:  # noqa: ANN001
    post_status(twilio_post, sent_row, "failed", ErrorCode="21610")
    session.rollback()
    session.expire_all()
    assert outbox.is_opted_out(session, sent_row.to_hash)


def test_twiml_reply_gets_its_final_status(twilio_post, session) -> None:  # noqa: ANN001
    from sqlalchemy import select

    from tests.factories import phone, sms_form

    form = sms_form("hello", phone())
    answer = twilio_post("/twilio/sms", form).data.decode()
    url = f"/twilio/status?r={form['MessageSid']}.0"
    assert f'action="https://line.example.org{url}"' in answer
    reply = session.scalar(select(OutboundMessage))
    assert reply.status == "replied" and reply.reply_index == 0
    twilio_post(url, {"MessageSid": "SMreply", "MessageStatus": "sent"})
    assert status_of(session, reply).status == "replied"
    twilio_post(url, {"MessageSid": "SMreply", "MessageStatus": "delivered"})
    found = status_of(session, reply)
    assert found.status == "delivered" and found.twilio_sid == "SMreply"
    assert (
        twilio_post(
            "/twilio/status?r=SMx.y", {"MessageSid": "S", "MessageStatus": "sent"}
        ).status_code
        == 400
    )
