"""A peer by phone (smsline/voice_peer.py): ring-all with a whisper so a voicemail never wins, the
first to press 1 bridged, a voice message and a call back through a relay number, the crisis
options with 988 put through, and the honest answer when nobody is on call."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from smsline import crypto, supporters, voice_peer
from smsline.models import LineNumber, OutboundMessage, Pairing, PeerRequest
from tests.factories import create_line_number, create_member, create_shift, create_supporter

CHICAGO = ZoneInfo("America/Chicago")
EVENING = datetime(2027, 6, 9, 19, 0, tzinfo=CHICAGO)
BASE = "https://line.example.org"
LINE = "+15005550006"
RELAY = "+15005550101"


def on_shift(session, supporter, tier: str = "primary") -> None:  # noqa: ANN001
    create_shift(session, supporter, tier)


def xml(twiml: str) -> ET.Element:
    return ET.fromstring(twiml)


def test_ring_all_with_a_whisper_and_the_first_to_press_1_is_bridged(session) -> None:  # noqa: ANN001
    create_line_number(session, LINE)
    session.add(LineNumber(e164=RELAY, purpose="relay"))
    ana = create_supporter(session, name="Ana", timezone="America/Chicago")
    ben = create_supporter(session, name="Ben", timezone="America/Chicago")
    off = create_supporter(session, name="Off", timezone="America/Chicago")
    on_shift(session, ana)
    on_shift(session, ben, "backup")
    sam = create_member(session, nickname="Sam", status="active")
    root = xml(voice_peer.ring(BASE, session, sam, LINE, EVENING))
    assert "ringing a peer" in root.find("Say").text
    dial = root.find("Dial")
    assert dial.get("callerId") == LINE and dial.get("answerOnBridge") == "true"
    assert dial.get("action") == f"{BASE}/twilio/voice/peer?m={sam.id}&step=after"
    numbers = {n.text: n.get("url") for n in dial.findall("Number")}
    assert numbers == {
        ana.phone: f"{BASE}/twilio/voice/whisper?m={sam.id}&s={ana.id}",
        ben.phone: f"{BASE}/twilio/voice/whisper?m={sam.id}&s={ben.id}",
    }
    assert off.phone not in numbers
    whisper = xml(voice_peer.whisper(BASE, sam.id, ana))
    gather = whisper.find("Gather")
    assert gather.get("numDigits") == "1" and "Press 1 to take the call" in gather.find("Say").text
    assert whisper[-1].tag == "Hangup"  # no key (a voicemail greeting): this leg hangs up
    assert xml(voice_peer.whisper_key(session, sam.id, ben, "", EVENING))[0].tag == "Hangup"
    bridged = xml(voice_peer.whisper_key(session, sam.id, ana, "1", EVENING))
    assert len(bridged) == 0  # an empty answer: Twilio connects the call
    (paired,) = session.scalars(select(Pairing)).all()
    assert (paired.member_id, paired.supporter_id, paired.status) == (sam.id, ana.id, "active")
    assert paired.relay_number_id is not None  # texts can follow through the line
    assert xml(voice_peer.after_dial(BASE, sam, "completed"))[0].tag == "Hangup"


def test_nobody_answers_a_message_and_a_call_back_through_a_relay_number(session) -> None:  # noqa: ANN001
    create_line_number(session, LINE)
    session.add(LineNumber(e164=RELAY, purpose="relay"))
    ana = create_supporter(session, name="Ana", timezone="America/Chicago")
    on_shift(session, ana)
    sam = create_member(session, nickname="Sam", status="active")
    root = xml(voice_peer.after_dial(BASE, sam, "no-answer"))
    assert root.find("Say").text == "We're sorry, nobody could pick up just now."
    assert "Press 1 to leave a short message" in root.find("Gather/Say").text
    recording = xml(voice_peer.choice(BASE, session, sam, "1", LINE))
    assert (
        recording.find("Record").get("action") == f"{BASE}/twilio/voice/peer?m={sam.id}&step=saved"
    )
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"
    answer, texts = voice_peer.voicemail(session, sam, url, EVENING)
    assert "We've got your message" in xml(answer).find("Say").text
    assert texts and "finding a peer" in texts[0]
    peer_request = session.scalar(select(PeerRequest))
    assert peer_request.source == "voice" and peer_request.voicemail_enc == url
    supporters.handle(session, ana, "YES", EVENING + timedelta(minutes=1))
    session.flush()
    # Ana calls the relay number of the pairing: she hears the message, then is put through.
    call = xml(voice_peer.supporter_call(session, ana.phone, RELAY))
    assert call.find("Play").text == url
    dial = call.find("Dial")
    assert dial.get("callerId") == RELAY and dial.find("Number").text == sam.phone
    assert voice_peer.supporter_call(session, sam.phone, RELAY) is None  # only the supporter
    assert voice_peer.supporter_call(session, ana.phone, LINE) is None  # only at a relay number


def test_nobody_on_call_is_said_and_zero_offers_the_crisis_options(session) -> None:  # noqa: ANN001
    create_line_number(session, LINE)
    cam = create_supporter(session, name="Cam", timezone="America/Chicago", coordinator=True)
    luz = create_member(session, nickname="Luz", status="active", language="es")
    root = xml(voice_peer.ring(BASE, session, luz, LINE, EVENING))
    assert root.find("Say").text == "Lo sentimos, ahora no hay compañeros de turno."
    assert root.find("Say").get("language") == "es-US"
    crisis = xml(voice_peer.choice(BASE, session, luz, "0", LINE))
    words = crisis.find("Gather/Say").text
    assert "9 1 1" in words and "9 8 8" in words
    session.flush()
    page = session.scalar(select(OutboundMessage).where(OutboundMessage.supporter_id == cam.id))
    assert page is not None and page.kind == "page"  # the coordinators are told
    to_988 = xml(voice_peer.crisis_choice(session, "es", "1", LINE, EVENING))
    assert to_988.find("Dial").text == "988"
    to_cam = xml(voice_peer.crisis_choice(session, "en", "2", LINE, EVENING))
    first_dial = to_cam.findall("Dial")[0]
    assert first_dial.find("Number").text == cam.phone and first_dial.get("callerId") == LINE
    assert to_cam.findall("Dial")[1].text == "988"  # nobody picked up: 988 next
    assert xml(voice_peer.crisis_choice(session, "en", "", LINE, EVENING)).find("Dial").text == (
        "988"
    )


def test_nothing_spoken_or_dialled_names_a_number_aloud(session) -> None:  # noqa: ANN001
    create_line_number(session, LINE)
    ana = create_supporter(session, name="Ana", timezone="America/Chicago")
    on_shift(session, ana)
    sam = create_member(session, nickname="Sam", status="active")
    answers = [
        voice_peer.ring(BASE, session, sam, LINE, EVENING),
        voice_peer.whisper(BASE, sam.id, ana),
        voice_peer.after_dial(BASE, sam, "busy"),
    ]
    for answer in answers:
        for say in xml(answer).iter("Say"):
            assert sam.phone[-4:] not in say.text and ana.phone[-4:] not in say.text
    assert crypto.current().index(sam.phone) == sam.phone_hash
