"""TwiML answers, built with the twilio library."""

from __future__ import annotations

from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import Gather as TwimlGather
from twilio.twiml.voice_response import VoiceResponse

from smsline.engine.voice import Gather


def messages(replies: list[tuple[str, str | None]]) -> str:
    """A messaging answer: each (body, status-callback URL) as one <Message>."""
    response = MessagingResponse()
    for body, action in replies:
        if action:
            response.message(body, action=action, method="POST")
        else:
            response.message(body)
    return str(response)


def empty() -> str:
    return str(MessagingResponse())


def voice_plan(
    says: list[tuple[str, str]], gather: Gather | None, hangup: bool, action: str
) -> str:
    """A voice answer from the engine's plan: the says inside a <Gather> (so a caller can answer
    before the end) that posts back to `action`, even when nothing was pressed or said."""
    response = VoiceResponse()
    if gather is not None:
        node = TwimlGather(
            input=gather.input,
            action=action,
            method="POST",
            timeout=gather.timeout_s,
            language=gather.language,
            action_on_empty_result=True,
            num_digits=gather.num_digits,
            hints=", ".join(gather.hints) or None,
        )
        for words, language in says:
            node.say(words, language=language)
        response.append(node)
        return str(response)
    for words, language in says:
        response.say(words, language=language)
    if hangup:
        response.hangup()
    return str(response)


def spoken(parts: list[tuple[str, str]]) -> str:
    """A voice answer saying each (text, language) in turn, then hanging up."""
    response = VoiceResponse()
    for words, language in parts:
        response.say(words, language=language)
        response.pause(length=1)
    response.hangup()
    return str(response)


def hangup() -> str:
    """A voice answer that ends the call at once, saying nothing."""
    response = VoiceResponse()
    response.hangup()
    return str(response)
