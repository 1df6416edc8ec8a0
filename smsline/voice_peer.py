"""A peer by phone: ring everyone fitting at once, screened so a voicemail never wins; a voice
message and a call back through the line when nobody can pick up; the crisis options.

- `ring`: the caller asked for a peer (the voice menu's peer option). Every fitting on-call
  supporter's phone rings at once (one <Dial> of up to ten <Number>s) with the line's number as
  caller ID. Each who answers first hears a whisper (`whisper`): "A member of the line is calling;
  press 1 to take the call". Only a 1 connects (`whisper_key`); anything else, or a voicemail
  greeting, hangs that leg up, so the first person to press 1 is bridged.
- `after_dial`: nobody took it. The caller may leave a message (`choice`, `voicemail`), which opens
  a peer request: supporters get a text offer to call back; the one who takes it calls the
  pairing's relay number, hears the message and is put through (`supporter_call`). Or 0: the
  crisis options.
- `crisis_options` / `crisis_choice`: put through to 988 (a <Dial>), or to the coordinators on
  call, or told to call 911 for an overdose. 0 at any menu comes here.

Nothing here names a number aloud or in a text; the member's number is dialled, never shown.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import Gather, VoiceResponse

from smsline import audit, coordinators, crypto, pairing, relay, roster
from smsline.engine.voice import language_tag
from smsline.models import LineNumber, Member, Pairing, PeerRequest, Supporter
from smsline.texts import VOICE_PEER

RING_SECONDS = 25
MAX_NUMBERS = 10  # Twilio dials at most ten <Number>s at once
CRISIS_LINE = "988"


def _say(node, key: str, language: str, **values: str) -> None:  # noqa: ANN001
    words = VOICE_PEER[key].get(language, VOICE_PEER[key]["en"]).format(**values)
    node.say(words, language=language_tag(language))


def ring(base: str, session: Session, member: Member, to: str, now: datetime) -> str:
    """Ring every fitting on-call supporter at once; nobody on call: say so, offer the rest."""
    language = member.language
    team = [entry.supporter for entry in pairing.fitting(session, member, now)][:MAX_NUMBERS]
    response = VoiceResponse()
    if not team:
        _say(response, "nobody", language)
        return _no_answer_menu(response, base, member)
    _say(response, "ringing", language)
    dial = response.dial(
        caller_id=to,
        action=f"{base}/twilio/voice/peer?m={member.id}&step=after",
        method="POST",
        timeout=RING_SECONDS,
        answer_on_bridge=True,
    )
    for supporter in team:
        dial.number(
            supporter.phone,
            url=f"{base}/twilio/voice/whisper?m={member.id}&s={supporter.id}",
            method="POST",
        )
    audit.record(
        session,
        actor="line",
        action="peer.ring",
        subject_type="member",
        subject_id=member.id,
        details={"ringing": len(team)},
    )
    return str(response)


def whisper(base: str, member_id: int, supporter: Supporter) -> str:
    """What a supporter hears on picking up: press 1 to take the call (a voicemail cannot)."""
    response = VoiceResponse()
    gather = Gather(
        num_digits=1,
        timeout=8,
        action=f"{base}/twilio/voice/whisper?m={member_id}&s={supporter.id}&step=key",
        method="POST",
    )
    _say(gather, "whisper", supporter.language)
    response.append(gather)
    response.hangup()
    return str(response)


def whisper_key(
    session: Session, member_id: int, supporter: Supporter, digits: str, now: datetime
) -> str:
    """A 1 connects this supporter to the caller (and pairs them, so texts can follow through the
    line); anything else hangs up this leg and the others keep ringing."""
    response = VoiceResponse()
    member = session.get(Member, member_id)
    if digits != "1" or member is None:
        response.hangup()
        return str(response)
    if pairing.active_pairing(session, member) is None:
        paired = Pairing(member_id=member.id, supporter_id=supporter.id, started_at=now)
        paired.last_message_at = now
        session.add(paired)
        session.flush()
        relay.assign_number(session, paired, member)
    audit.record(
        session,
        actor=f"supporter:{supporter.id}",
        action="peer.voice_bridged",
        subject_type="member",
        subject_id=member.id,
    )
    return str(response)  # empty: Twilio bridges the call


def after_dial(base: str, member: Member, dial_status: str) -> str:
    """The ring-all ended: hang up after a call that happened, else offer a message or help."""
    response = VoiceResponse()
    if dial_status == "completed":
        response.hangup()
        return str(response)
    _say(response, "no_answer", member.language)
    return _no_answer_menu(response, base, member)


def _no_answer_menu(response: VoiceResponse, base: str, member: Member) -> str:
    gather = Gather(
        num_digits=1,
        timeout=8,
        action=f"{base}/twilio/voice/peer?m={member.id}&step=choice",
        method="POST",
        action_on_empty_result=True,
    )
    _say(gather, "message_or_help", member.language)
    response.append(gather)
    return str(response)


def choice(base: str, session: Session, member: Member, digits: str, to: str) -> str:
    """1: leave a message; 0: the crisis options; anything else: a kind goodbye with 988."""
    response = VoiceResponse()
    if digits == "1":
        _say(response, "record", member.language)
        response.record(
            max_length=120,
            play_beep=True,
            action=f"{base}/twilio/voice/peer?m={member.id}&step=saved",
            method="POST",
        )
        return str(response)
    if digits == "0":
        return crisis_options(base, session, member, to)
    _say(response, "goodbye", member.language)
    response.hangup()
    return str(response)


def voicemail(
    session: Session, member: Member, recording_url: str | None, now: datetime
) -> tuple[str, list[str]]:
    """The message is kept (its address at Twilio, encrypted) with a new peer request, offered by
    text to the supporters who fit: the one who takes it calls back through the line. Returns the
    TwiML for the caller and the texts for them (sent after the call)."""
    texts = pairing.request(session, member, "voice", now)
    peer_request = pairing.open_request(session, member)
    if peer_request is not None and recording_url:
        peer_request.voicemail_enc = recording_url
    response = VoiceResponse()
    _say(response, "saved", member.language)
    response.hangup()
    return str(response), texts


def crisis_options(base: str, session: Session, member: Member | None, to: str) -> str:
    """0 at any menu: 911 for an overdose, 1 for 988, 2 for the coordinators on call; a page to
    the coordinators either way."""
    language = member.language if member else "en"
    if member is not None:
        coordinators.tell(
            session,
            kind="crisis",
            text_key="crisis_page",
            member=member,
            from_number=to,
            details={"kind": "voice_menu"},
        )
    response = VoiceResponse()
    who = f"m={member.id}&" if member else ""
    gather = Gather(
        num_digits=1,
        timeout=6,
        action=f"{base}/twilio/voice/crisis?{who}step=choice",
        method="POST",
        action_on_empty_result=True,
    )
    _say(gather, "crisis_menu", language)
    response.append(gather)
    return str(response)


def crisis_choice(session: Session, language: str, digits: str, to: str, now: datetime) -> str:
    """1 (or nothing pressed): put through to 988. 2: ring the coordinators on call at once (988
    if there are none)."""
    response = VoiceResponse()
    if digits == "2":
        team = [
            entry.supporter
            for entry in roster.on_call(session, now)
            if entry.supporter.is_coordinator
        ] or coordinators.on_call(session)
        if team:
            _say(response, "to_coordinator", language)
            dial = response.dial(caller_id=to, timeout=RING_SECONDS, answer_on_bridge=True)
            for coordinator in team[:MAX_NUMBERS]:
                dial.number(coordinator.phone)
            _say(response, "to_988", language)
            response.dial(CRISIS_LINE)
            return str(response)
    _say(response, "to_988", language)
    response.dial(CRISIS_LINE)
    return str(response)


def supporter_call(session: Session, caller: str, to: str) -> str | None:
    """A supporter calling a relay number of one of their active pairings: play the member's
    voice message if there is one, then put them through with the relay number as caller ID.
    None when the call is not that."""
    number = session.scalar(
        select(LineNumber).where(LineNumber.e164 == to, LineNumber.purpose == "relay")
    )
    if number is None:
        return None
    supporter = session.scalar(
        select(Supporter).where(
            Supporter.phone_hash == crypto.current().index(caller), Supporter.active.is_(True)
        )
    )
    if supporter is None:
        return None
    paired = session.scalar(
        select(Pairing).where(
            Pairing.supporter_id == supporter.id,
            Pairing.relay_number_id == number.id,
            Pairing.status == "active",
        )
    )
    if paired is None:
        return None
    member = session.get(Member, paired.member_id)
    response = VoiceResponse()
    if paired.request_id:
        peer_request = session.get(PeerRequest, paired.request_id)
        if peer_request is not None and peer_request.voicemail_enc:
            _say(response, "their_message", supporter.language)
            response.play(peer_request.voicemail_enc)
    dial = response.dial(caller_id=number.e164, answer_on_bridge=True)
    dial.number(member.phone)
    return str(response)
