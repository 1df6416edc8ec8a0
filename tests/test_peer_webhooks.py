"""Peers end to end through the webhooks: a supporter goes ON by text, a member's PEER is offered,
YES pairs them, texts go both ways through the relay number (never showing a number), a crisis
text still reaches the supporter, DONE ends it; escalation on `smsline tick --at`; and by phone,
the menu's peer option rings the supporters with a whisper, and 0 puts the caller through to 988."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from smsline import flowstore
from smsline.models import LineNumber, OutboundMessage, Pairing, PeerRequest, utcnow
from tests.conftest import LINE_NUMBER
from tests.factories import create_line_number, create_member, create_supporter, sms_form

RELAY = "+15005550101"


@pytest.fixture
def shipped(session, line):  # noqa: ANN001, ANN201
    """The shipped flows, published."""
    flowstore.sync(session)
    session.commit()


def text_in(twilio_post, body: str, sender: str, to: str = LINE_NUMBER) -> list[str]:  # noqa: ANN001
    response = twilio_post("/twilio/sms", sms_form(body, sender, to=to))
    assert response.status_code == 200, response.data
    return [node.text for node in ET.fromstring(response.data).iter("Message")]


def sent_to(session, phone_hash: str) -> list[OutboundMessage]:  # noqa: ANN001
    session.rollback()
    session.expire_all()
    return list(
        session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.to_hash == phone_hash, OutboundMessage.reply_index.is_(None))
            .order_by(OutboundMessage.id)
        )
    )


def test_a_member_and_a_supporter_through_the_line(
    twilio_post, session, shipped, transport
) -> None:  # noqa: ANN001
    create_line_number(session)
    session.commit()
    session.add(LineNumber(e164=RELAY, purpose="relay"))
    session.commit()
    ana = create_supporter(session, "+12025550188", name="Ana", timezone="America/Chicago")
    sam = create_member(session, nickname="Sam", status="active")
    (on,) = text_in(twilio_post, "ON", ana.phone)
    assert on.startswith("You're on call until")
    (finding,) = text_in(twilio_post, "PEER", sam.phone)
    assert finding.startswith("Thanks for reaching out. We're finding a peer")
    (offer,) = sent_to(session, ana.phone_hash)
    assert offer.body_enc.endswith(
        "a member would like to talk (English). Reply YES to take it or PASS."
    )
    (won,) = text_in(twilio_post, "yes", ana.phone)
    assert won.startswith("Thank you! You're connected with Sam.")
    connected = sent_to(session, sam.phone_hash)[-1]
    assert connected.body_enc.startswith("Ana, a peer from Recovery Line, is here for you.")
    assert connected.from_number == LINE_NUMBER
    assert text_in(twilio_post, "rough night, can't sleep", sam.phone) == []  # passed on
    relayed = sent_to(session, ana.phone_hash)[-1]
    assert (relayed.body_enc, relayed.from_number) == ("rough night, can't sleep", RELAY)
    assert text_in(twilio_post, "I'm here. Want to talk it through?", ana.phone, to=RELAY) == []
    back = sent_to(session, sam.phone_hash)[-1]
    assert (back.body_enc, back.from_number) == ("I'm here. Want to talk it through?", LINE_NUMBER)
    crisis = text_in(twilio_post, "honestly i want to die", sam.phone)
    assert "988" in crisis[0]  # the member gets the resources at once, as always
    to_ana = [row.body_enc for row in sent_to(session, ana.phone_hash)[-2:]]
    assert to_ana[0] == "honestly i want to die"  # still reaches the supporter
    assert to_ana[1].startswith("Your member may be in crisis; they were sent this:")
    assert text_in(twilio_post, "done", sam.phone) == []
    assert sent_to(session, sam.phone_hash)[-1].body_enc.startswith("Your chat with Ana has ended.")
    assert text_in(twilio_post, "5", sam.phone) == ["Thank you for telling us. Take care."]
    session.rollback()
    pairing_row = session.scalar(select(Pairing))
    assert (pairing_row.status, pairing_row.rating) == ("ended", 5)
    for message in transport.sent:  # nobody ever gets the other's number
        assert ana.phone[2:] not in message.body and sam.phone[2:] not in message.body
        assert message.from_ in (LINE_NUMBER, RELAY)


def test_escalation_runs_on_tick_at(twilio_post, session, shipped, config) -> None:  # noqa: ANN001
    from smsline.cli import main

    create_line_number(session)
    session.commit()
    ana = create_supporter(session, name="Ana", timezone="America/Chicago")
    cam = create_supporter(session, name="Cam", timezone="America/Chicago", coordinator=True)
    sam = create_member(session, nickname="Sam", status="active")
    text_in(twilio_post, "ON", ana.phone)
    text_in(twilio_post, "PEER", sam.phone)
    env = {
        "DATABASE_URL": config.database_url,
        "SMSLINE_SECRET_KEY": config.secret_key,
        "SMSLINE_DATA_KEY": ",".join(config.data_keys),
        "SMSLINE_INDEX_KEY": config.index_key,
        "SMSLINE_ENV": "production",
    }
    runner = CliRunner()
    soon = (utcnow() + timedelta(minutes=4)).isoformat()
    assert '"peer_requests": 0' in runner.invoke(main, ["tick", "--at", soon], env=env).output
    later = (utcnow() + timedelta(minutes=16)).isoformat()
    result = runner.invoke(main, ["tick", "--at", later], env=env)
    assert '"peer_requests": 1' in result.output, result.output
    session.rollback()
    request = session.scalar(select(PeerRequest))
    assert (request.status, request.promised) == ("unmet", True)
    assert sent_to(session, sam.phone_hash)[-1].body_enc.startswith("No peer is free yet")
    # Cam is no coordinator on the roster: the request never reached him (offers follow tiers).
    assert sent_to(session, cam.phone_hash) == []


def test_by_phone_the_peer_option_rings_with_a_whisper(twilio_post, session, shipped) -> None:  # noqa: ANN001
    create_line_number(session)
    session.commit()
    ana = create_supporter(session, name="Ana", timezone="America/Chicago")
    sam = create_member(session, nickname="Sam", status="active")
    text_in(twilio_post, "ON", ana.phone)
    call = {"CallSid": "CA" + "2" * 32, "AccountSid": "AC" + "0" * 32, "From": sam.phone}
    call["To"] = LINE_NUMBER
    menu = ET.fromstring(twilio_post("/twilio/voice", call).data)
    action = menu.find("Gather").get("action")
    path = action.split("line.example.org", 1)[1]
    ring = ET.fromstring(twilio_post(path, {**call, "Digits": "2"}).data)
    dial = ring.find("Dial")
    assert dial is not None and dial.get("callerId") == LINE_NUMBER
    (number,) = dial.findall("Number")
    assert number.text == ana.phone
    whisper_path = number.get("url").split("line.example.org", 1)[1]
    leg = {**call, "From": LINE_NUMBER, "To": ana.phone, "Direction": "outbound-dial"}
    whisper = ET.fromstring(twilio_post(whisper_path, leg).data)
    key_path = whisper.find("Gather").get("action").split("line.example.org", 1)[1]
    assert len(ET.fromstring(twilio_post(key_path, {**leg, "Digits": "1"}).data)) == 0
    session.rollback()
    assert session.scalar(select(Pairing)).supporter_id == ana.id
    after = dial.get("action").split("line.example.org", 1)[1]
    nobody = ET.fromstring(twilio_post(after, {**call, "DialCallStatus": "no-answer"}).data)
    choice = nobody.find("Gather").get("action").split("line.example.org", 1)[1]
    crisis = ET.fromstring(twilio_post(choice, {**call, "Digits": "0"}).data)
    crisis_path = crisis.find("Gather").get("action").split("line.example.org", 1)[1]
    put_through = ET.fromstring(twilio_post(crisis_path, {**call, "Digits": "1"}).data)
    assert put_through.find("Dial").text == "988"
    stranger = {**call, "From": "+12015550999"}
    assert twilio_post(after, {**stranger, "DialCallStatus": "no-answer"}).status_code == 403


def test_a_crisis_text_asks_every_supporter_on_call_at_once(twilio_post, session, shipped) -> None:  # noqa: ANN001
    create_line_number(session)
    session.commit()
    ana = create_supporter(session, name="Ana", timezone="America/Chicago")
    cam = create_supporter(session, name="Cam", timezone="America/Chicago", coordinator=True)
    luz = create_member(session, nickname="Luz", status="active", language="es")
    text_in(twilio_post, "ON", ana.phone)
    (resources,) = text_in(twilio_post, "ya no aguanto, me quiero matar", luz.phone)
    assert "988" in resources
    to_ana = [row.body_enc for row in sent_to(session, ana.phone_hash)]
    assert any("may be in crisis" in body for body in to_ana)  # the page
    assert any("would like to talk (Spanish)" in body for body in to_ana)  # and the offer
    (won,) = text_in(twilio_post, "YES", ana.phone)
    assert won.startswith("Thank you! You're connected with Luz.")
    session.rollback()
    request = session.scalar(select(PeerRequest))
    assert (request.source, request.status) == ("crisis", "paired")
    assert any("may be in crisis" in r.body_enc for r in sent_to(session, cam.phone_hash))


def test_a_member_can_ask_for_a_woman_or_a_man_or_anyone(twilio_post, session, shipped) -> None:  # noqa: ANN001
    create_line_number(session)
    session.commit()
    ana = create_supporter(session, name="Ana", timezone="America/Chicago", gender="woman")
    ben = create_supporter(session, name="Ben", timezone="America/Chicago", gender="man")
    sam = create_member(session, nickname="Sam", status="active")
    text_in(twilio_post, "ON", ana.phone)
    text_in(twilio_post, "ON", ben.phone)
    (finding,) = text_in(twilio_post, "Peer woman", sam.phone)
    assert finding.startswith("Thanks for reaching out.")
    assert len(sent_to(session, ana.phone_hash)) == 1 and sent_to(session, ben.phone_hash) == []
    assert session.get(type(sam), sam.id).peer_preference == "woman"
    luz = create_member(session, nickname="Luz", status="active", peer_preference="man")
    text_in(twilio_post, "hablar con cualquiera", luz.phone)
    session.rollback()
    session.expire_all()
    assert session.get(type(luz), luz.id).peer_preference is None
    assert len(sent_to(session, ben.phone_hash)) == 1  # anyone: both were offered
