"""Voice calls: the same flows as texts, spoken. A call to the line runs the `menu` flow (a
check-in call of ours runs `checkin`: checkin_calls.py); each <Gather> posts back with the keys or
words heard, which move the conversation on like a text would. Asking for a peer rings the
supporters on call, and 0 gives the crisis options with 988 put through (voice_peer.py)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from smsline import conversations, crypto, flowstore, settings, twiml, voice_peer
from smsline.engine import run, voice
from smsline.models import Conversation, Member, utcnow
from smsline.texts import VOICE_WELCOME

if TYPE_CHECKING:
    from smsline.line import Line

log = logging.getLogger(__name__)
VOICE_FLOW = "menu"


def answer_call(line: Line, session: Session, caller: str | None, to: str) -> str:
    """TwiML for a new call: the voice menu, or the spoken welcome when we cannot run it."""
    if caller is None:
        return _welcome(session)
    member = _member(session, caller)
    try:
        outcome = conversations.start(session, member, VOICE_FLOW, utcnow(), channel="voice")
    except flowstore.UnknownFlow as error:
        log.error("no voice flow: %s", error)
        return _welcome(session)
    answer = render(line, session, member, outcome, to)
    line.commit(session)
    return answer


def continue_call(
    line: Line, session: Session, caller: str, to: str, conversation_id: int, heard: str
) -> str | None:
    """TwiML after a <Gather>: None when the conversation is not this caller's."""
    conversation = session.get(Conversation, conversation_id)
    member = session.get(Member, conversation.member_id) if conversation else None
    if member is None or member.phone_hash != crypto.current().index(caller):
        return None
    if conversation.status != "active":
        return twiml.spoken([])
    # Silence on a call is an answer we did not catch: asked again, never skipped past.
    event = run.Input("text", heard)
    outcome = conversations.feed(session, member, conversation, event, utcnow(), channel="voice")
    answer = render(line, session, member, outcome, to)
    line.commit(session)
    return answer


def render(line: Line, session: Session, member: Member, outcome, to: str) -> str:  # noqa: ANN001
    """Merge the plans of every step (a menu that started another flow) into one answer; `to` is
    the line's number on the call (a crisis page goes from it)."""
    says: list[tuple[str, str]] = []
    gather, hangup = None, False
    base = line.config.public_url or ""
    for flow, step, context in outcome.steps:
        if any(isinstance(effect, run.CrisisOptions) for effect in step.effects):
            session.flush()
            return voice_peer.crisis_options(base, session, member, to)
        if any(isinstance(e, run.Act) and e.name == "request_peer" for e in step.effects):
            session.flush()  # a peer by phone: every fitting supporter's phone rings at once
            return voice_peer.ring(base, session, member, to, utcnow())
        plan = voice.plan(step, flow, context)
        says.extend(plan.says)
        gather, hangup = plan.gather, plan.hangup
    session.flush()
    action = f"{base}/twilio/voice/answer?c={outcome.conversation.id}"
    return twiml.voice_plan(says, gather, hangup, action)


def _member(session: Session, caller: str) -> Member:
    from sqlalchemy import select

    phone_hash = crypto.current().index(caller)
    member = session.scalar(select(Member).where(Member.phone_hash == phone_hash))
    if member is None:
        member = Member(status="new")
        member.phone = caller
        session.add(member)
        session.flush()
    return member


def _welcome(session: Session) -> str:
    program = settings.get(session, "program_name")
    return twiml.spoken(
        [
            (VOICE_WELCOME["en"].format(program=program), "en-US"),
            (VOICE_WELCOME["es"].format(program=program), "es-US"),
        ]
    )
