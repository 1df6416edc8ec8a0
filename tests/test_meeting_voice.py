"""Finding a meeting by phone: the call's meetings menu asks for a ZIP code on the keypad, reads
out the next three meetings slowly (short sentences, pauses, dial-in digits one by one) and, on
1, texts their details through the outbox."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest
from sqlalchemy import select

from smsline.meetings import listing, replies, search
from smsline.models import Conversation, OutboundMessage
from tests.factories import create_line_number, create_member
from tests.test_meeting_search import NOW, import_feed

LINE = "+15005550006"


@pytest.fixture
def nyc(session):  # noqa: ANN001, ANN201
    return import_feed(session)


@pytest.fixture
def shipped(session):  # noqa: ANN001, ANN201
    from smsline import flowstore

    synced = flowstore.sync(session)
    create_line_number(session, LINE)
    return synced


@pytest.fixture
def at_now(monkeypatch):  # noqa: ANN001, ANN201
    from smsline import calls

    monkeypatch.setattr(calls, "utcnow", lambda: NOW)


def call(twilio_post, path: str, caller: str, **form: str) -> ElementTree.Element:  # noqa: ANN001
    response = twilio_post(path, {"CallSid": "CA" + "1" * 32, "From": caller, "To": LINE, **form})
    assert response.status_code == 200, response.data
    return ElementTree.fromstring(response.data)


def said(twiml: ElementTree.Element) -> list[str]:
    """What the call says, in order; a pause is "(pause)"."""
    return [
        node.text if node.tag == "Say" else "(pause)"
        for node in twiml.iter()
        if node.tag in ("Say", "Pause")
    ]


def press(twilio_post, twiml: ElementTree.Element, caller: str, digits: str) -> ElementTree.Element:  # noqa: ANN001, E501
    action = twiml.find("Gather").get("action").removeprefix("https://line.example.org")
    return call(twilio_post, action, caller, Digits=digits)


def test_a_caller_keys_a_zip_hears_three_meetings_and_gets_them_by_text(
    twilio_post,
    session,
    nyc,
    shipped,
    at_now,  # noqa: ANN001
) -> None:
    member = create_member(session, status="active", nickname="Sam")
    menu = call(twilio_post, "/twilio/voice", member.phone)
    kind = press(twilio_post, menu, member.phone, "3")
    assert said(kind)[0] == "Let's find a meeting. What kind are you looking for?"
    ask_zip = press(twilio_post, kind, member.phone, "1")
    gather = ask_zip.find("Gather")
    assert gather.get("numDigits") == "5" and "dtmf" in gather.get("input")
    assert said(ask_zip)[0] == "Please enter the 5 digit ZIP code to look near, on your keypad."

    heard = press(twilio_post, ask_zip, member.phone, "10001")
    lines = said(heard)
    assert lines[:11] == [
        "Here are the next 3 meetings.",
        "(pause)",
        "Meeting 1.",  # the soonest near 10001: tonight at 6:30
        "Brooklyn Heights Women's Serenity.",
        "Today, at 6:30 PM, Eastern time.",
        "About 4 miles away.",
        "(pause)",
        "Meeting 2.",
        "Chelsea Tuesday Night Group.",
        "Today, at 7 PM, Eastern time.",
        "Less than a mile away.",
    ]
    assert lines.count("(pause)") == 4  # before each meeting and after the last
    assert "Meeting 3." in lines and "Meeting 4." not in lines
    assert lines[-3:] == [
        "Would you like these meetings sent to you by text message?",
        "Press 1 for yes. Press 2 for no.",
        "Press 0 at any time for crisis help.",
    ]
    assert heard.find("Gather") is not None  # the meetings are said inside it: 1 at any time

    done = press(twilio_post, heard, member.phone, "1")
    assert said(done) == ["I'm texting you the details now. Thank you for calling. Take care."]
    assert done.find("Hangup") is not None
    session.rollback()
    session.expire_all()
    (text,) = session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "reply"))
    assert text.member_id == member.id and text.status in ("pending", "queued", "sent")
    body = text.body_enc
    assert body.startswith("Here are the meetings from your call:\n\nBrooklyn Heights Women's")
    assert "Chelsea Tuesday Night Group" in body and "Grupo Hispano de Midtown" in body
    assert "157 Montague St, Brooklyn, NY 11201" in body
    assert "Reply REMIND 3 for a weekly reminder." in body


def test_phone_meetings_are_read_with_the_dial_in_digits_one_by_one(
    twilio_post,
    session,
    nyc,
    shipped,
    at_now,  # noqa: ANN001
) -> None:
    member = create_member(session, status="active", language="es")
    menu = call(twilio_post, "/twilio/voice", member.phone)
    kind = press(twilio_post, menu, member.phone, "3")
    heard = press(twilio_post, kind, member.phone, "3")
    lines = said(heard)
    assert lines[:8] == [
        "Estas son las próximas 2 reuniones.",
        "(pause)",
        "Reunión 1.",
        "Night Owls Phone Meeting.",
        "Hoy, a las 10 PM, hora del Este.",
        "Por teléfono. Marca 2 1 2, 5 5 5, 0 1 9 9.",
        "(pause)",
        "Reunión 2.",
    ]
    assert "Después marca 5 5 5 0 0 0 2 2 2 2 pound." in lines
    assert "Meeting ID 5 5 5 0 0 0 2 2 2 2, passcode 1 2 3 4" in lines
    done = press(twilio_post, heard, member.phone, "2")
    assert said(done) == ["Está bien. Llámanos o escríbenos cuando quieras. Cuídate."]
    session.rollback()
    assert (
        session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "reply")).all() == []
    )


def test_the_voice_list_is_the_members_list(session, nyc) -> None:  # noqa: ANN001
    member = create_member(session, status="active")
    says = replies.spoken(session, member, "phone", NOW)
    assert says[0] == listing.text("voice_intro", "en", count=2)
    assert [session.get(type(nyc["night-owls"]), i).slug for i in search.shown(member)] == [
        "night-owls",
        "noon-serenity-phone",
    ]
    assert listing.spaced("+1 646-558-8656") == "1, 6 4 6, 5 5 8, 8 6 5 6"
    assert listing.spaced("6465588656") == "6 4 6, 5 5 8, 8 6 5 6"


def test_no_meetings_near_a_zip_on_a_call_reads_phone_meetings(session, nyc) -> None:  # noqa: ANN001
    member = create_member(session, status="active")
    says = replies.spoken(session, member, {"zip": "99501"}, NOW)  # Anchorage: none near
    assert says[0] == listing.text("voice_none_near", "en")
    assert "Night Owls Phone Meeting." in says


def test_a_call_conversation_ends_after_the_text(
    twilio_post, session, nyc, shipped, at_now
) -> None:  # noqa: ANN001, E501
    member = create_member(session, status="active")
    kind = press(twilio_post, call(twilio_post, "/twilio/voice", member.phone), member.phone, "3")
    heard = press(twilio_post, kind, member.phone, "2")
    press(twilio_post, heard, member.phone, "1")
    session.rollback()
    session.expire_all()
    conversation = session.scalar(select(Conversation).order_by(Conversation.id.desc()))
    assert (conversation.flow_name, conversation.status) == ("meetings", "ended")
