"""TwiML answers, built with the twilio library."""

from __future__ import annotations

from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import Gather as TwimlGather
from twilio.twiml.voice_response import VoiceResponse

from smsline.engine.voice import Gather


def messages(replies: list[tuple[str, str | None]]) -> str:
    """A messaging answer: each (body, status-callback URL) as one <Message>.

    Written directly, byte for byte what twilio's MessagingResponse writes (ElementTree's escaping,
    attributes sorted, an empty element closed as " />"), in a third of the time; a text that
    UTF-8 cannot encode (a lone surrogate) goes through the library, which writes a character
    reference for it."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?><Response>']
    for body, action in replies:
        tag = f'<Message action="{_attribute(action)}" method="POST"' if action else "<Message"
        parts.append(f"{tag}>{_cdata(body)}</Message>" if body else f"{tag} />")
    if len(parts) == 1:
        return _EMPTY
    parts.append("</Response>")
    answer = "".join(parts)
    try:
        answer.encode()
    except UnicodeEncodeError:
        return _library_messages(replies)
    return answer


def _library_messages(replies: list[tuple[str, str | None]]) -> str:
    response = MessagingResponse()
    for body, action in replies:
        if action:
            response.message(body, action=action, method="POST")
        else:
            response.message(body)
    return str(response)


def _cdata(text: str) -> str:
    """Element text escaped as ElementTree escapes it."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _attribute(text: str) -> str:
    """An attribute value escaped as ElementTree escapes it."""
    text = _cdata(text)
    for char, reference in (('"', "&quot;"), ("\r", "&#13;"), ("\n", "&#10;"), ("\t", "&#09;")):
        if char in text:
            text = text.replace(char, reference)
    return text


_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response />'


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
            if words:
                node.say(words, language=language)
            else:  # an empty say is a pause (between meetings read out, say)
                node.pause(length=1)
        response.append(node)
        return str(response)
    for words, language in says:
        if words:
            response.say(words, language=language)
        else:
            response.pause(length=1)
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
