"""TwiML answers, built with the twilio library."""

from __future__ import annotations

from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse


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


def spoken(parts: list[tuple[str, str]]) -> str:
    """A voice answer saying each (text, language) in turn, then hanging up."""
    response = VoiceResponse()
    for words, language in parts:
        response.say(words, language=language)
        response.pause(length=1)
    response.hangup()
    return str(response)
