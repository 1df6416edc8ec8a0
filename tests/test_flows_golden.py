"""Golden transcripts of the flows the line ships with (`flows/*.yaml`), run through the pure engine.

Each transcript is a conversation: a list of (what the member says, what the line does) pairs.
The first pair starts the flow (a stranger's first text, a keyword, a call, a due check-in); each
later one is a reply, or TIMEOUT / EXPIRE from the clock. What the line does is written as:

    "en: ..." / "es: ..."           a text it sends, in that language
    "saved mood = 2"                 an answer saved
    "act request_peer {...}"         an action, with its parameters
    "crisis options"                 0 pressed at a wait on a call (the question follows again)
    "ended done"                     the flow ended, and why
    "timeout 4h"                     (texts only) the wait times out after this long
    "en-US: ..." / "gather ..."      (calls) what is spoken, then what is listened for
    "hangup"                         (calls) the call ends

Between steps the member is updated as the line would (language, discreet wording, nickname),
and `start_flow` starts the next flow in the same turn, as `conversations.py` does.
The rest of the file checks every flow file as a whole: it validates with no problem, every text
fits its SMS segments, discreet wording is discreet, calls never say "reply", and every keyword a
text mentions is one the line knows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import cache
from pathlib import Path

import pytest

from smsline import keywords, segments
from smsline.engine import answers, expressions, run, voice
from smsline.engine.format import Flow
from smsline.engine.run import Act, Ask, Context, CrisisOptions, Ended, Input, Saved, Say, Step
from smsline.engine.text import longest
from smsline.engine.validate import PLACEHOLDER, flow_files, load_file, validate_path
from smsline.rules import compliance

FLOWS = Path(__file__).resolve().parent.parent / "flows"
SHIPPED = {"welcome", "menu", "checkin", "peer", "meetings", "settings", "language", "resume"}

TIMEOUT = Input("timeout")
EXPIRE = Input("expire")
DUE = "(the check-in is due)"
CALL = "(calls the line)"

STRANGER = Context()
STRANGER_ES = Context(language="es")
NO_NAME = Context()
NO_NAME_ES = Context(language="es")
SAM = Context(nickname="Sam")
SAM_DISCREET = replace(SAM, discreet=True)
LUPE = Context(language="es", nickname="Lupe")
LUPE_DISCREET = replace(LUPE, discreet=True)
SAM_CALL = replace(SAM, channel="voice")
LUPE_CALL = replace(LUPE, channel="voice")
LUPE_CALL_DISCREET = replace(LUPE_CALL, discreet=True)


@dataclass(frozen=True)
class Transcript:
    """A scripted conversation with one flow: its name, the member, and the turns."""

    name: str
    flow: str
    context: Context
    turns: list[tuple[str | Input, list[str]]]


@cache
def flow(name: str) -> Flow:
    """A shipped flow, loaded as the line loads it (warnings allowed, errors not)."""
    return load_file(FLOWS / f"{name}.yaml")


def play(transcript: Transcript) -> list[tuple[str | Input, list[str]]]:
    """Run the transcript's inputs through the engine; return each input with what the line did."""
    current, context = flow(transcript.flow), transcript.context
    lines_of = _voice_lines if context.channel == "voice" else _text_lines
    position = None
    played = []
    for index, (said, _expected) in enumerate(transcript.turns):
        if index == 0:
            step = run.start(current, context)
        else:
            assert position is not None, f"the flow ended before {said!r}"
            event = said if isinstance(said, Input) else Input("text", said)
            step = run.step(current, position, event, context)
        lines = _checked(step, current, context, lines_of)
        context = _learn(step, context)
        while (next_flow := _started(step)) is not None:
            current = flow(next_flow)
            step = run.start(current, context)
            lines += _checked(step, current, context, lines_of)
            context = _learn(step, context)
        position = step.position
        played.append((said, lines))
    return played


def _checked(step: Step, current: Flow, context: Context, lines_of) -> list[str]:  # noqa: ANN001
    """A step's lines, after checking it waits (with an Ask) exactly when it has not ended."""
    ended = any(isinstance(effect, Ended) for effect in step.effects)
    asks = any(isinstance(effect, Ask) for effect in step.effects)
    assert (step.position is None) == ended and asks == (not ended), step.effects
    return lines_of(step, current, context)


def _started(step: Step) -> str | None:
    """The flow a `start_flow` action hands over to, when the step ended with one."""
    if not any(
        isinstance(effect, Ended) and effect.reason == "start_flow" for effect in step.effects
    ):
        return None
    return next(
        e.params["flow"] for e in step.effects if isinstance(e, Act) and e.name == "start_flow"
    )


def _learn(step: Step, context: Context) -> Context:
    """What the line remembers of the member after a step: language, discreet wording, nickname,
    the check-in streak and today's peer offer."""
    for effect in step.effects:
        if isinstance(effect, Act):
            value = effect.params.get("value")
            if effect.name == "set_language":
                context = replace(context, language=value)
            elif effect.name == "set_discreet":
                context = replace(context, discreet=value)
            elif effect.name == "set_field" and effect.params.get("field") == "nickname":
                context = replace(context, nickname=value)
            elif effect.name == "save_checkin" and not context.checked_in_today:
                context = replace(context, streak=context.streak + 1, checked_in_today=True)
            elif effect.name == "flag_risk":
                context = replace(context, peer_offered_today=True)
    return context


def _line(effect: object) -> str | None:
    if isinstance(effect, Say):
        return f"{effect.language}: {effect.text}"
    if isinstance(effect, Saved):
        return f"saved {effect.key} = {effect.value!r}"
    if isinstance(effect, Act):
        return f"act {effect.name} {effect.params!r}" if effect.params else f"act {effect.name}"
    if isinstance(effect, CrisisOptions):
        return "crisis options"
    if isinstance(effect, Ended):
        return f"ended {effect.reason}"
    return None  # Ask: a text conversation simply waits


def _text_lines(step: Step, current: Flow, context: Context) -> list[str]:
    lines = [line for effect in step.effects if (line := _line(effect))]
    if step.timeout is not None:
        lines.append(f"timeout {_duration(step.timeout)}")
    return lines


def _voice_lines(step: Step, current: Flow, context: Context) -> list[str]:
    """What happened, then what the call says (with its voice) and gathers."""
    lines = [_line(effect) for effect in step.effects if not isinstance(effect, Say | Ask)]
    plan = voice.plan(step, current, context)
    lines += [f"{tag}: {text}" for text, tag in plan.says]
    if plan.gather is not None:
        digits = plan.gather.num_digits
        keys = "" if digits is None else f", {digits} digit{'s' if digits > 1 else ''}"
        lines.append(f"gather {plan.gather.input}{keys}")
    if plan.hangup:
        lines.append("hangup")
    return lines


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# The transcripts keep one turn to a few lines, as a conversation reads.
# fmt: off
TEXT_TRANSCRIPTS = [
    Transcript(
        "welcome: a stranger joins in English with a ZIP code, after a confused first reply",
        "welcome",
        STRANGER,
        [
            ("hi", [
                "en: Recovery Line: peer support by text. Reply YES for a daily check-in + replies. Msg & data rates may apply. HELP for help, STOP to opt out. Español: ESPAÑOL",
            ]),
            ("what is this?", [
                "en: Reply YES to join, or STOP if you'd rather not get texts. HELP for more info. Español: ESPAÑOL",
            ]),
            ("YES", [
                "saved consent = 'yes'",
                "act record_consent {'purpose': 'line', 'wording': 'consent'}",
                "act record_consent {'purpose': 'checkins', 'wording': 'consent'}",
                "en: Welcome! What should we call you? A first name or nickname is fine; no real names needed.",
                "timeout 1d",
            ]),
            ("Sam", [
                "saved name = 'Sam'",
                "en: Nice to meet you, Sam! Can you share your ZIP code? We use it only for your time zone and nearby meetings. Reply YES or NO.",
                "act set_field {'field': 'nickname', 'value': 'Sam'}",
                "timeout 1d",
            ]),
            ("yes", [
                "saved share_zip = True",
                "en: Great, what's your ZIP code?",
                "timeout 1d",
            ]),
            ("6061", [
                "en: Please reply with your 5-digit ZIP code.",
                "timeout 1d",
            ]),
            ("00000", [
                "en: I couldn't find that ZIP code. Please reply with your 5-digit ZIP code.",
                "timeout 1d",
            ]),
            ("60614", [
                "saved zip = {'zip': '60614', 'city': 'Chicago', 'state': 'IL', 'timezone': 'America/Chicago'}",
                "act set_field {'field': 'zip', 'value': {'zip': '60614', 'city': 'Chicago', 'state': 'IL', 'timezone': 'America/Chicago'}}",
                "en: What time of day should your check-in come? For example 9am or 7:30pm.",
                "timeout 1d",
            ]),
            ("whenever", [
                "en: Please reply with a time, like 9am or 7:30pm.",
                "timeout 1d",
            ]),
            ("7pm", [
                "saved checkin_time = '19:00'",
                "act set_checkin {'time': '19:00', 'days': 'daily'}",
                "en: Would you like texts in English or Spanish? Reply 1 for English, 2 para español.",
                "timeout 1d",
            ]),
            ("1", [
                "saved lang = 'en'",
                "act set_language {'value': 'en'}",
                "en: Last question: want discreet wording? Then our texts never mention recovery, drinking or drugs, in case someone sees your screen. Reply YES or NO.",
                "timeout 1d",
            ]),
            ("no", [
                "saved discreet_wording = False",
                "act set_discreet {'value': False}",
                "en: You're all set, Sam! Daily check-in at 19:00. Text PEER to reach a peer, CHECKIN to check in, MEETINGS, SETTINGS. STOP ends texts.",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "welcome: a stranger switches to Spanish, picks a time zone and discreet wording",
        "welcome",
        STRANGER,
        [
            ("Hola", [
                "en: Recovery Line: peer support by text. Reply YES for a daily check-in + replies. Msg & data rates may apply. HELP for help, STOP to opt out. Español: ESPAÑOL",
            ]),
            ("español", [
                "saved consent = 'spanish'",
                "act set_language {'value': 'es'}",
                "es: Recovery Line: apoyo entre pares por texto. Responde SI para recibir un check-in diario y respuestas. Pueden aplicar tarifas de mensajes y datos. AYUDA para ayuda, PARAR para salir. In English: ENGLISH",
            ]),
            ("sí", [
                "saved consent = 'yes'",
                "act record_consent {'purpose': 'line', 'wording': 'consent'}",
                "act record_consent {'purpose': 'checkins', 'wording': 'consent'}",
                "es: ¡Te damos la bienvenida! ¿Cómo te llamamos? Basta un nombre o apodo; no hace falta tu nombre real.",
                "timeout 1d",
            ]),
            ("Lupe", [
                "saved name = 'Lupe'",
                "es: ¡Mucho gusto, Lupe! ¿Nos compartes tu código postal? Solo lo usamos para tu zona horaria y reuniones cercanas. Responde SÍ o NO.",
                "act set_field {'field': 'nickname', 'value': 'Lupe'}",
                "timeout 1d",
            ]),
            ("no", [
                "saved share_zip = False",
                "es: Está bien. ¿En qué zona horaria estás? 1 Este, 2 Centro, 3 Montaña, 4 Arizona, 5 Pacífico, 6 Alaska, 7 Hawái, 8 Puerto Rico",
                "timeout 1d",
            ]),
            ("hora del pacífico", [
                "saved timezone = 'America/Los_Angeles'",
                "act set_field {'field': 'timezone', 'value': 'America/Los_Angeles'}",
                "es: ¿A qué hora quieres tu check-in diario? Por ejemplo 9am o 7:30pm.",
                "timeout 1d",
            ]),
            ("8 de la mañana", [  # before the texting window opens: asked again
                "saved checkin_time = '08:00'",
                "es: Solo escribimos entre las 9am y las 8pm para no despertarte. ¿Qué hora en ese horario te sirve?",
                "timeout 1d",
            ]),
            ("9:30 de la mañana", [
                "saved checkin_time = '09:30'",
                "act set_checkin {'time': '09:30', 'days': 'daily'}",
                "es: Por último: ¿mensajes discretos? Así no mencionamos recuperación, alcohol ni drogas, por si alguien ve tu pantalla. Responde SÍ o NO.",
                "timeout 1d",
            ]),
            ("si", [
                "saved discreet_wording = True",
                "act set_discreet {'value': True}",
                "es: ¡Listo, Lupe! Tu check-in llega a diario a las 09:30. Escribe HABLAR para hablar con un compañero, o CHECKIN, REUNIONES y AJUSTES cuando quieras. PARAR para salir.",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "welcome: a Spanish-speaking stranger switches to English",
        "welcome",
        STRANGER_ES,
        [
            ("hola", [
                "es: Recovery Line: apoyo entre pares por texto. Responde SI para recibir un check-in diario y respuestas. Pueden aplicar tarifas de mensajes y datos. AYUDA para ayuda, PARAR para salir. In English: ENGLISH",
            ]),
            ("english", [
                "saved consent = 'english'",
                "act set_language {'value': 'en'}",
                "en: Recovery Line: peer support by text. Reply YES for a daily check-in + replies. Msg & data rates may apply. HELP for help, STOP to opt out. Español: ESPAÑOL",
            ]),
            ("y", [
                "saved consent = 'yes'",
                "act record_consent {'purpose': 'line', 'wording': 'consent'}",
                "act record_consent {'purpose': 'checkins', 'wording': 'consent'}",
                "en: Welcome! What should we call you? A first name or nickname is fine; no real names needed.",
                "timeout 1d",
            ]),
            ("J", [
                "saved name = 'J'",
                "en: Nice to meet you, J! Can you share your ZIP code? We use it only for your time zone and nearby meetings. Reply YES or NO.",
                "act set_field {'field': 'nickname', 'value': 'J'}",
                "timeout 1d",
            ]),
        ],
    ),
    Transcript(
        "welcome: a stranger chooses a time zone by number, keeps English, says yes to discreet",
        "welcome",
        STRANGER,
        [
            ("Hey", [
                "en: Recovery Line: peer support by text. Reply YES for a daily check-in + replies. Msg & data rates may apply. HELP for help, STOP to opt out. Español: ESPAÑOL",
            ]),
            ("ok", [
                "saved consent = 'yes'",
                "act record_consent {'purpose': 'line', 'wording': 'consent'}",
                "act record_consent {'purpose': 'checkins', 'wording': 'consent'}",
                "en: Welcome! What should we call you? A first name or nickname is fine; no real names needed.",
                "timeout 1d",
            ]),
            ("Rae", [
                "saved name = 'Rae'",
                "en: Nice to meet you, Rae! Can you share your ZIP code? We use it only for your time zone and nearby meetings. Reply YES or NO.",
                "act set_field {'field': 'nickname', 'value': 'Rae'}",
                "timeout 1d",
            ]),
            ("no thanks", [
                "saved share_zip = False",
                "en: No problem. Which time zone are you in? 1 Eastern, 2 Central, 3 Mountain, 4 Arizona, 5 Pacific, 6 Alaska, 7 Hawaii, 8 Puerto Rico",
                "timeout 1d",
            ]),
            ("2", [
                "saved timezone = 'America/Chicago'",
                "act set_field {'field': 'timezone', 'value': 'America/Chicago'}",
                "en: What time of day should your check-in come? For example 9am or 7:30pm.",
                "timeout 1d",
            ]),
            ("nine", [
                "saved checkin_time = '09:00'",
                "act set_checkin {'time': '09:00', 'days': 'daily'}",
                "en: Would you like texts in English or Spanish? Reply 1 for English, 2 para español.",
                "timeout 1d",
            ]),
            ("english", [
                "saved lang = 'en'",
                "act set_language {'value': 'en'}",
                "en: Last question: want discreet wording? Then our texts never mention recovery, drinking or drugs, in case someone sees your screen. Reply YES or NO.",
                "timeout 1d",
            ]),
            ("yes", [
                "saved discreet_wording = True",
                "act set_discreet {'value': True}",
                "en: You're all set, Rae! Daily check-in at 09:00. Text PEER to reach a peer, CHECKIN to check in, MEETINGS, SETTINGS. STOP ends texts.",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "welcome: saying no gets a kind goodbye with 988",
        "welcome",
        STRANGER,
        [
            ("Hello", [
                "en: Recovery Line: peer support by text. Reply YES for a daily check-in + replies. Msg & data rates may apply. HELP for help, STOP to opt out. Español: ESPAÑOL",
            ]),
            ("no thanks", [
                "saved consent = 'no'",
                "en: OK, you won't get texts from us. If things ever get hard, call or text 988, day or night. And text us again any time if you change your mind.",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "welcome: saying no in Spanish",
        "welcome",
        STRANGER,
        [
            ("hola", [
                "en: Recovery Line: peer support by text. Reply YES for a daily check-in + replies. Msg & data rates may apply. HELP for help, STOP to opt out. Español: ESPAÑOL",
            ]),
            ("español", [
                "saved consent = 'spanish'",
                "act set_language {'value': 'es'}",
                "es: Recovery Line: apoyo entre pares por texto. Responde SI para recibir un check-in diario y respuestas. Pueden aplicar tarifas de mensajes y datos. AYUDA para ayuda, PARAR para salir. In English: ENGLISH",
            ]),
            ("no", [
                "saved consent = 'no'",
                "es: De acuerdo, no te escribiremos. Si algo se pone difícil, llama o escribe al 988, a cualquier hora. Si cambias de idea, escríbenos.",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "welcome: three replies that don't fit end gracefully (the next text starts over)",
        "welcome",
        STRANGER,
        [
            ("hi", [
                "en: Recovery Line: peer support by text. Reply YES for a daily check-in + replies. Msg & data rates may apply. HELP for help, STOP to opt out. Español: ESPAÑOL",
            ]),
            ("who is this", [
                "en: Reply YES to join, or STOP if you'd rather not get texts. HELP for more info. Español: ESPAÑOL",
            ]),
            ("?", [
                "en: Reply YES to join, or STOP if you'd rather not get texts. HELP for more info. Español: ESPAÑOL",
            ]),
            ("huh", [
                "en: No problem, we can do this another time.",
                "ended tries",
            ]),
        ],
    ),
    Transcript(
        "welcome: a question is asked again once after a day, then the wait ends quietly",
        "welcome",
        STRANGER,
        [
            ("hi", [
                "en: Recovery Line: peer support by text. Reply YES for a daily check-in + replies. Msg & data rates may apply. HELP for help, STOP to opt out. Español: ESPAÑOL",
            ]),
            ("yes", [
                "saved consent = 'yes'",
                "act record_consent {'purpose': 'line', 'wording': 'consent'}",
                "act record_consent {'purpose': 'checkins', 'wording': 'consent'}",
                "en: Welcome! What should we call you? A first name or nickname is fine; no real names needed.",
                "timeout 1d",
            ]),
            (TIMEOUT, [
                "en: Welcome! What should we call you? A first name or nickname is fine; no real names needed.",
                "timeout 1d",
            ]),
            ("Sam", [
                "saved name = 'Sam'",
                "en: Nice to meet you, Sam! Can you share your ZIP code? We use it only for your time zone and nearby meetings. Reply YES or NO.",
                "act set_field {'field': 'nickname', 'value': 'Sam'}",
                "timeout 1d",
            ]),
            (TIMEOUT, [
                "en: Nice to meet you, Sam! Can you share your ZIP code? We use it only for your time zone and nearby meetings. Reply YES or NO.",
                "timeout 1d",
            ]),
            (TIMEOUT, [
                "ended timeout",
            ]),
        ],
    ),
    Transcript(
        "welcome: the conversation expires after 3 days without a reply",
        "welcome",
        STRANGER,
        [
            ("hi", [
                "en: Recovery Line: peer support by text. Reply YES for a daily check-in + replies. Msg & data rates may apply. HELP for help, STOP to opt out. Español: ESPAÑOL",
            ]),
            ("yes", [
                "saved consent = 'yes'",
                "act record_consent {'purpose': 'line', 'wording': 'consent'}",
                "act record_consent {'purpose': 'checkins', 'wording': 'consent'}",
                "en: Welcome! What should we call you? A first name or nickname is fine; no real names needed.",
                "timeout 1d",
            ]),
            ("Sam", [
                "saved name = 'Sam'",
                "en: Nice to meet you, Sam! Can you share your ZIP code? We use it only for your time zone and nearby meetings. Reply YES or NO.",
                "act set_field {'field': 'nickname', 'value': 'Sam'}",
                "timeout 1d",
            ]),
            (EXPIRE, [
                "ended expired",
            ]),
        ],
    ),
    Transcript(
        "menu: a known member texts, gets the menu, picks a peer after a wrong digit",
        "menu",
        SAM,
        [
            ("hey", [
                "en: Hi, good to hear from you. Reply 1 to check in, 2 to talk to a peer, 3 for meetings, 4 for settings, 9 for language/idioma.",
            ]),
            ("5", [
                "en: Reply 1 for your check-in, 2 for a peer, 3 for meetings, 4 for settings, 9 for language, idioma.",
            ]),
            ("2", [
                "saved choice = 'peer'",
                "act start_flow {'flow': 'peer'}",
                "ended start_flow",
                "act request_peer {'reason': 'asked'}",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "menu: in Spanish, 3 leads to the meetings flow",
        "menu",
        LUPE,
        [
            ("hola", [
                "es: Hola, qué gusto saber de ti. Responde 1 para reportarte, 2 para hablar con un compañero, 3 reuniones, 4 ajustes, 9 idioma/language.",
            ]),
            ("3", [
                "saved choice = 'meetings'",
                "act start_flow {'flow': 'meetings'}",
                "ended start_flow",
                "es: Con gusto te ayudo a buscar una reunión. ¿De qué tipo? Responde 1 en persona, cerca de un código postal, 2 en línea, 3 por teléfono.",
            ]),
        ],
    ),
    Transcript(
        "menu: words work as well as digits",
        "menu",
        SAM,
        [
            ("hi", [
                "en: Hi, good to hear from you. Reply 1 to check in, 2 to talk to a peer, 3 for meetings, 4 for settings, 9 for language/idioma.",
            ]),
            ("check in", [
                "saved choice = 'checkin'",
                "act start_flow {'flow': 'checkin'}",
                "ended start_flow",
                "en: Hi Sam, how are you today, from 1 (rough) to 5 (great)?",
                "timeout 4h",
            ]),
        ],
    ),
    Transcript(
        "menu: settings by word, Spanish",
        "menu",
        LUPE,
        [
            ("buenas", [
                "es: Hola, qué gusto saber de ti. Responde 1 para reportarte, 2 para hablar con un compañero, 3 reuniones, 4 ajustes, 9 idioma/language.",
            ]),
            ("ajustes", [
                "saved choice = 'settings'",
                "act start_flow {'flow': 'settings'}",
                "ended start_flow",
                "es: Ajustes: responde 1 hora del check-in, 2 pausar los check-ins, 3 reanudar los check-ins, 4 idioma, 5 mensajes discretos, 6 llamada o texto, 7 horario de mensajes, 8 recordatorios de reuniones, 9 tus opciones.",
            ]),
        ],
    ),
    Transcript(
        "menu: 9 opens the language choice",
        "menu",
        SAM,
        [
            ("hi", [
                "en: Hi, good to hear from you. Reply 1 to check in, 2 to talk to a peer, 3 for meetings, 4 for settings, 9 for language/idioma.",
            ]),
            ("9", [
                "saved choice = 'language'",
                "act start_flow {'flow': 'language'}",
                "ended start_flow",
                "en: Reply 1 for English. Responde 2 para español.",
            ]),
            ("2", [
                "saved lang = 'es'",
                "act set_language {'value': 'es'}",
                "es: Listo. A partir de ahora usaremos español.",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "menu: three wrong replies end gracefully",
        "menu",
        SAM,
        [
            ("hi", [
                "en: Hi, good to hear from you. Reply 1 to check in, 2 to talk to a peer, 3 for meetings, 4 for settings, 9 for language/idioma.",
            ]),
            ("what", [
                "en: Reply 1 for your check-in, 2 for a peer, 3 for meetings, 4 for settings, 9 for language, idioma.",
            ]),
            ("0", [
                "en: Reply 1 for your check-in, 2 for a peer, 3 for meetings, 4 for settings, 9 for language, idioma.",
            ]),
            ("12", [
                "en: No problem, we can do this another time.",
                "ended tries",
            ]),
        ],
    ),
    Transcript(
        "checkin: a good day, English",
        "checkin",
        SAM,
        [
            (DUE, [
                "en: Hi Sam, how are you today, from 1 (rough) to 5 (great)?",
                "timeout 4h",
            ]),
            ("4", [
                "saved mood = 4",
                "en: Thanks. Any cravings today, from 0 (none) to 10 (strong)?",
                "timeout 2h",
            ]),
            ("2", [
                "saved craving = 2",
                "en: Only if you want to say: have you used since we last checked in? Yes, no, or skip are all OK.",
                "timeout 2h",
            ]),
            ("no", [
                "saved used = 'no'",
                "en: Anything else on your mind? A few words, or SKIP.",
                "timeout 1h",
            ]),
            ("skip", [
                "act save_checkin",
                "en: Thanks for checking in. Glad you're here today.",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "checkin: a low day, a strong craving and a slip, Spanish; a peer is asked for",
        "checkin",
        LUPE,
        [
            (DUE, [
                "es: Hola Lupe, ¿cómo estás hoy? Del 1 (mal) al 5 (muy bien).",
                "timeout 4h",
            ]),
            ("2", [
                "saved mood = 2",
                "es: Gracias. ¿Qué tantas ganas de consumir tienes hoy? Del 0 (nada) al 10 (muchas).",
                "timeout 2h",
            ]),
            ("8/10", [
                "saved craving = 8",
                "es: Solo si quieres contarme: ¿has consumido desde la última vez? Sí, no o paso: todo está bien.",
                "timeout 2h",
            ]),
            ("sí", [
                "saved used = 'yes'",
                "es: Gracias por contarme. Un tropiezo no borra tu progreso. ¿Algo más que quieras contar? Unas palabras, o PASO.",
                "timeout 1h",
            ]),
            ("fue una noche difícil", [
                "saved note = 'fue una noche difícil'",
                "act save_checkin",
                "es: ¿Te ayudaría hablar con un compañero? Alguien de nuestro equipo puede escribirte hoy.",
                "act flag_risk",
                "timeout 2h",
            ]),
            ("sí", [
                "saved wants_peer = True",
                "act request_peer {'reason': 'checkin'}",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "checkin: a strong craving, discreet wording, the peer offer declined",
        "checkin",
        SAM_DISCREET,
        [
            (DUE, [
                "en: Hi Sam, how are you today, from 1 (rough) to 5 (great)?",
                "timeout 4h",
            ]),
            ("3", [
                "saved mood = 3",
                "en: Thanks. How strong is the pull today, from 0 (none) to 10 (strong)?",
                "timeout 2h",
            ]),
            ("eight", [
                "saved craving = 8",
                "en: Only if you want to say: any setbacks since we last checked in? Yes, no, or skip are all OK.",
                "timeout 2h",
            ]),
            ("nope", [
                "saved used = 'no'",
                "en: Anything else on your mind? A few words, or SKIP.",
                "timeout 1h",
            ]),
            ("work is a lot", [
                "saved note = 'work is a lot'",
                "act save_checkin",
                "en: Thanks for telling me. Sounds like a hard day. Want a peer to text you today?",
                "act flag_risk",
                "timeout 2h",
            ]),
            ("not now", [
                "saved wants_peer = False",
                "en: OK. Thanks for checking in today. If you want someone later, just text PEER.",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "checkin: a slip with discreet wording, Spanish",
        "checkin",
        LUPE_DISCREET,
        [
            (DUE, [
                "es: Hola Lupe, ¿cómo estás hoy? Del 1 (mal) al 5 (muy bien).",
                "timeout 4h",
            ]),
            ("3", [
                "saved mood = 3",
                "es: Gracias. ¿Qué tan fuertes están las ganas hoy? Del 0 (nada) al 10 (muchas).",
                "timeout 2h",
            ]),
            ("2", [
                "saved craving = 2",
                "es: Solo si quieres contarme: ¿algún tropiezo desde la última vez? Sí, no o paso: todo está bien.",
                "timeout 2h",
            ]),
            ("1", [
                "saved used = 'yes'",
                "es: Gracias por contarme. Un mal día no borra tu progreso. ¿Algo más que quieras contar? Unas palabras, o PASO.",
                "timeout 1h",
            ]),
            ("paso", [
                "act save_checkin",
                "es: ¿Te ayudaría hablar con un compañero? Alguien de nuestro equipo puede escribirte hoy.",
                "act flag_risk",
                "timeout 2h",
            ]),
            ("no", [
                "saved wants_peer = False",
                "es: Está bien. Gracias por reportarte hoy. Si luego quieres hablar con alguien, escribe HABLAR.",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "checkin: rather not say is a real answer; no nickname yet",
        "checkin",
        NO_NAME,
        [
            (DUE, [
                "en: Hi there, how are you today, from 1 (rough) to 5 (great)?",
                "timeout 4h",
            ]),
            ("5", [
                "saved mood = 5",
                "en: Thanks. Any cravings today, from 0 (none) to 10 (strong)?",
                "timeout 2h",
            ]),
            ("0", [
                "saved craving = 0",
                "en: Only if you want to say: have you used since we last checked in? Yes, no, or skip are all OK.",
                "timeout 2h",
            ]),
            ("prefer not to say", [
                "saved used = 'skip'",
                "en: Anything else on your mind? A few words, or SKIP.",
                "timeout 1h",
            ]),
            ("Good week", [
                "saved note = 'Good week'",
                "act save_checkin",
                "en: Thanks for checking in. Glad you're here today.",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "checkin: answers that don't fit are asked again, then it ends gracefully",
        "checkin",
        SAM,
        [
            (DUE, [
                "en: Hi Sam, how are you today, from 1 (rough) to 5 (great)?",
                "timeout 4h",
            ]),
            ("great", [
                "en: Please reply with a number from 1 to 5.",
                "timeout 4h",
            ]),
            ("0", [
                "en: Please reply with a number from 1 to 5.",
                "timeout 4h",
            ]),
            ("six", [
                "en: No problem, we can do this another time.",
                "ended tries",
            ]),
        ],
    ),
    Transcript(
        "checkin: a nudge after 4 hours; going quiet later still saves what was answered",
        "checkin",
        SAM,
        [
            (DUE, [
                "en: Hi Sam, how are you today, from 1 (rough) to 5 (great)?",
                "timeout 4h",
            ]),
            (TIMEOUT, [
                "en: Still here whenever you're ready. How's today, from 1 (rough) to 5 (great)?",
            ]),
            ("1", [
                "saved mood = 1",
                "en: Thanks. Any cravings today, from 0 (none) to 10 (strong)?",
                "timeout 2h",
            ]),
            (TIMEOUT, [
                "act save_checkin",
                "en: Thanks for telling me. Sounds like a hard day. Want a peer to text you today?",
                "act flag_risk",
                "timeout 2h",
            ]),
            ("yes", [
                "saved wants_peer = True",
                "act request_peer {'reason': 'checkin'}",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "checkin: the nudge is the last reminder: it waits quietly until the check-in expires",
        "checkin",
        SAM,
        [
            (DUE, [
                "en: Hi Sam, how are you today, from 1 (rough) to 5 (great)?",
                "timeout 4h",
            ]),
            (TIMEOUT, [
                "en: Still here whenever you're ready. How's today, from 1 (rough) to 5 (great)?",
            ]),
            (EXPIRE, [
                "ended expired",
            ]),
        ],
    ),
    Transcript(
        "checkin: quiet at the optional note still saves the check-in",
        "checkin",
        LUPE,
        [
            (DUE, [
                "es: Hola Lupe, ¿cómo estás hoy? Del 1 (mal) al 5 (muy bien).",
                "timeout 4h",
            ]),
            ("4", [
                "saved mood = 4",
                "es: Gracias. ¿Qué tantas ganas de consumir tienes hoy? Del 0 (nada) al 10 (muchas).",
                "timeout 2h",
            ]),
            ("1", [
                "saved craving = 1",
                "es: Solo si quieres contarme: ¿has consumido desde la última vez? Sí, no o paso: todo está bien.",
                "timeout 2h",
            ]),
            ("no", [
                "saved used = 'no'",
                "es: ¿Algo más que quieras contar? Unas palabras, o PASO.",
                "timeout 1h",
            ]),
            (TIMEOUT, [
                "act save_checkin",
                "es: Gracias por reportarte. Qué bueno que estás aquí hoy.",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "checkin: no nickname yet, Spanish; NADA skips the note, which is not saved",
        "checkin",
        NO_NAME_ES,
        [
            (DUE, [
                "es: Hola de nuevo, ¿cómo estás hoy? Del 1 (mal) al 5 (muy bien).",
                "timeout 4h",
            ]),
            ("3", [
                "saved mood = 3",
                "es: Gracias. ¿Qué tantas ganas de consumir tienes hoy? Del 0 (nada) al 10 (muchas).",
                "timeout 2h",
            ]),
            ("2", [
                "saved craving = 2",
                "es: Solo si quieres contarme: ¿has consumido desde la última vez? Sí, no o paso: todo está bien.",
                "timeout 2h",
            ]),
            ("paso", [
                "saved used = 'skip'",
                "es: ¿Algo más que quieras contar? Unas palabras, o PASO.",
                "timeout 1h",
            ]),
            ("Nada más, gracias", [
                "act save_checkin",
                "es: Gracias por reportarte. Qué bueno que estás aquí hoy.",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "checkin: expiry ends it quietly",
        "checkin",
        SAM,
        [
            (DUE, [
                "en: Hi Sam, how are you today, from 1 (rough) to 5 (great)?",
                "timeout 4h",
            ]),
            ("4", [
                "saved mood = 4",
                "en: Thanks. Any cravings today, from 0 (none) to 10 (strong)?",
                "timeout 2h",
            ]),
            (EXPIRE, [
                "ended expired",
            ]),
        ],
    ),
    Transcript(
        "checkin: a 7th check-in in a row is cheered",
        "checkin",
        replace(SAM, streak=6),
        [
            (DUE, [
                "en: Hi Sam, how are you today, from 1 (rough) to 5 (great)?",
                "timeout 4h",
            ]),
            ("4", [
                "saved mood = 4",
                "en: Thanks. Any cravings today, from 0 (none) to 10 (strong)?",
                "timeout 2h",
            ]),
            ("1", [
                "saved craving = 1",
                "en: Only if you want to say: have you used since we last checked in? Yes, no, or skip are all OK.",
                "timeout 2h",
            ]),
            ("no", [
                "saved used = 'no'",
                "en: Anything else on your mind? A few words, or SKIP.",
                "timeout 1h",
            ]),
            ("skip", [
                "act save_checkin",
                "en: Thanks for checking in. That's 7 check-ins in a row. Proud of you for showing up.",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "checkin: a second check-in the same day keeps the streak (30, not 31); Spanish, discreet",
        "checkin",
        replace(LUPE_DISCREET, streak=30, checked_in_today=True),
        [
            (DUE, [
                "es: Hola Lupe, ¿cómo estás hoy? Del 1 (mal) al 5 (muy bien).",
                "timeout 4h",
            ]),
            ("5", [
                "saved mood = 5",
                "es: Gracias. ¿Qué tan fuertes están las ganas hoy? Del 0 (nada) al 10 (muchas).",
                "timeout 2h",
            ]),
            ("0", [
                "saved craving = 0",
                "es: Solo si quieres contarme: ¿algún tropiezo desde la última vez? Sí, no o paso: todo está bien.",
                "timeout 2h",
            ]),
            ("no", [
                "saved used = 'no'",
                "es: ¿Algo más que quieras contar? Unas palabras, o PASO.",
                "timeout 1h",
            ]),
            ("nada", [
                "act save_checkin",
                "es: Gracias por reportarte. Ya van 30 check-ins seguidos. ¡Qué orgullo que sigas presente!",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "checkin: no milestone, the usual thanks (a streak is never counted down)",
        "checkin",
        replace(SAM, streak=7),
        [
            (DUE, [
                "en: Hi Sam, how are you today, from 1 (rough) to 5 (great)?",
                "timeout 4h",
            ]),
            ("5", [
                "saved mood = 5",
                "en: Thanks. Any cravings today, from 0 (none) to 10 (strong)?",
                "timeout 2h",
            ]),
            (TIMEOUT, [
                "act save_checkin",
                "en: Thanks for checking in. Glad you're here today.",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "checkin: a hard day after today's peer offer: no second offer, no second flag",
        "checkin",
        replace(SAM, peer_offered_today=True),
        [
            (DUE, [
                "en: Hi Sam, how are you today, from 1 (rough) to 5 (great)?",
                "timeout 4h",
            ]),
            ("1", [
                "saved mood = 1",
                "en: Thanks. Any cravings today, from 0 (none) to 10 (strong)?",
                "timeout 2h",
            ]),
            ("9", [
                "saved craving = 9",
                "en: Only if you want to say: have you used since we last checked in? Yes, no, or skip are all OK.",
                "timeout 2h",
            ]),
            ("skip", [
                "saved used = 'skip'",
                "en: Anything else on your mind? A few words, or SKIP.",
                "timeout 1h",
            ]),
            ("skip", [
                "act save_checkin",
                "en: Thanks for checking in. We're still here for you; if you want someone to talk to, just text PEER.",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "checkin: a slip after today's peer offer, Spanish: no second offer",
        "checkin",
        replace(LUPE, peer_offered_today=True),
        [
            (DUE, [
                "es: Hola Lupe, ¿cómo estás hoy? Del 1 (mal) al 5 (muy bien).",
                "timeout 4h",
            ]),
            ("3", [
                "saved mood = 3",
                "es: Gracias. ¿Qué tantas ganas de consumir tienes hoy? Del 0 (nada) al 10 (muchas).",
                "timeout 2h",
            ]),
            ("3", [
                "saved craving = 3",
                "es: Solo si quieres contarme: ¿has consumido desde la última vez? Sí, no o paso: todo está bien.",
                "timeout 2h",
            ]),
            ("sí", [
                "saved used = 'yes'",
                "es: Gracias por contarme. Un tropiezo no borra tu progreso. ¿Algo más que quieras contar? Unas palabras, o PASO.",
                "timeout 1h",
            ]),
            ("paso", [
                "act save_checkin",
                "es: Gracias por reportarte. Aquí seguimos para ti; si quieres hablar con alguien, escribe HABLAR.",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "peer: asking for a peer, English",
        "peer",
        SAM,
        [
            ("PEER", [
                "act request_peer {'reason': 'asked'}",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "resume: check-ins back on, English",
        "resume",
        SAM,
        [
            ("RESUME", [
                "en: Check-ins are back on. Glad you're here.",
                "act resume_checkins",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "resume: check-ins back on, Spanish",
        "resume",
        LUPE,
        [
            ("REANUDAR", [
                "es: Los check-ins están activos otra vez. Qué bueno tenerte aquí.",
                "act resume_checkins",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "peer: asking for a peer, Spanish",
        "peer",
        LUPE,
        [
            ("HABLAR", [
                "act request_peer {'reason': 'asked'}",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "meetings: near a ZIP code, then a number and MORE after the list",
        "meetings",
        SAM,
        [
            ("MEETINGS", [
                "en: Happy to help you find a meeting. What kind? Reply 1 in person near a ZIP code, 2 online, 3 by phone.",
            ]),
            ("near me", [
                "saved meeting_kind = 'in_person'",
                "en: What ZIP code should I look near?",
            ]),
            ("606", [
                "en: Please reply with your 5-digit ZIP code.",
            ]),
            ("60614", [  # the list itself comes from the action (meetings/replies.py)
                "saved zip = {'zip': '60614', 'city': 'Chicago', 'state': 'IL', 'timezone': 'America/Chicago'}",
                "act search_meetings {'query': {'zip': '60614', 'city': 'Chicago', 'state': 'IL', 'timezone': 'America/Chicago'}}",
                "timeout 2h",
            ]),
            ("2", [
                "saved reply = '2'",
                "act search_meetings {'query': '2'}",
                "timeout 2h",
            ]),
            ("more", [
                "saved reply = 'more'",
                "act search_meetings {'query': 'more'}",
                "timeout 2h",
            ]),
            (TIMEOUT, [  # silence: it stops waiting without a word
                "timeout 2h",
            ]),
            (TIMEOUT, [
                "ended timeout",
            ]),
        ],
    ),
    Transcript(
        "meetings: online, Spanish, then a number",
        "meetings",
        LUPE,
        [
            ("REUNIONES", [
                "es: Con gusto te ayudo a buscar una reunión. ¿De qué tipo? Responde 1 en persona, cerca de un código postal, 2 en línea, 3 por teléfono.",
            ]),
            ("en línea", [
                "saved meeting_kind = 'online'",
                "act search_meetings {'query': 'online'}",
                "timeout 2h",
            ]),
            ("   ", [
                "es: Responde el número de una reunión para ver detalles, o MÁS para ver más.",
                "timeout 2h",
            ]),
            ("1", [
                "saved reply = '1'",
                "act search_meetings {'query': '1'}",
                "timeout 2h",
            ]),
        ],
    ),
    Transcript(
        "meetings: by phone; a reply that doesn't fit is asked again",
        "meetings",
        SAM,
        [
            ("meetings", [
                "en: Happy to help you find a meeting. What kind? Reply 1 in person near a ZIP code, 2 online, 3 by phone.",
            ]),
            ("AA", [
                "en: Reply 1 for meetings near you, 2 for online meetings, 3 for phone meetings.",
            ]),
            ("3", [
                "saved meeting_kind = 'phone'",
                "act search_meetings {'query': 'phone'}",
                "timeout 2h",
            ]),
            ("", [
                "en: Reply a number from the list for details, or MORE for more meetings.",
                "timeout 2h",
            ]),
            ("tonight", [  # another search: the action reads any reply
                "saved reply = 'tonight'",
                "act search_meetings {'query': 'tonight'}",
                "timeout 2h",
            ]),
        ],
    ),
    Transcript(
        "settings: check-in time and days",
        "settings",
        SAM,
        [
            ("SETTINGS", [
                "en: Settings: reply 1 check-in time, 2 pause check-ins, 3 restart them, 4 language, 5 discreet wording, 6 call or text, 7 texting hours, 8 reminders, 9 choices.",
            ]),
            ("1", [
                "saved setting = 'time'",
                "en: What time should your check-in come? For example 9am or 7:30pm.",
            ]),
            ("7:30am", [  # before the line's texting window opens: explained, asked again
                "saved checkin_time = '07:30'",
                "en: We only text between 9am and 8pm so we never wake you. What time in that window works?",
            ]),
            ("10pm", [
                "saved checkin_time = '22:00'",
                "en: We only text between 9am and 8pm so we never wake you. What time in that window works?",
            ]),
            ("9:15am", [
                "saved checkin_time = '09:15'",
                "en: Which days: every day, weekdays, or weekends?",
            ]),
            ("weekdays", [
                "saved checkin_days = 'weekdays'",
                "en: Done. Your check-in now comes at 09:15.",
                "act set_checkin {'time': '09:15', 'days': 'weekdays'}",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "settings: an early check-in inside the member's own texting window",
        "settings",
        replace(SAM, texting_window=("07:00", "22:00")),
        [
            ("SETTINGS", [
                "en: Settings: reply 1 check-in time, 2 pause check-ins, 3 restart them, 4 language, 5 discreet wording, 6 call or text, 7 texting hours, 8 reminders, 9 choices.",
            ]),
            ("1", [
                "saved setting = 'time'",
                "en: What time should your check-in come? For example 9am or 7:30pm.",
            ]),
            ("7:30am", [
                "saved checkin_time = '07:30'",
                "en: Which days: every day, weekdays, or weekends?",
            ]),
            ("every day", [
                "saved checkin_days = 'daily'",
                "en: Done. Your check-in now comes at 07:30.",
                "act set_checkin {'time': '07:30', 'days': 'daily'}",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "settings: texting hours, the latest asked again until it comes after the earliest",
        "settings",
        SAM,
        [
            ("settings", [
                "en: Settings: reply 1 check-in time, 2 pause check-ins, 3 restart them, 4 language, 5 discreet wording, 6 call or text, 7 texting hours, 8 reminders, 9 choices.",
            ]),
            ("texting hours", [
                "saved setting = 'texting_hours'",
                "en: We text you between 9am and 8pm. What's the earliest we may text you? For example 8am.",
            ]),
            ("7:30am", [
                "saved earliest = '07:30'",
                "en: And the latest? For example 9pm.",
            ]),
            ("7", [  # read as 7 in the morning: not after the earliest
                "saved latest = '07:00'",
                "en: The latest time needs to come after the earliest. What's the latest we may text you? For example 9pm.",
            ]),
            ("9:30pm", [
                "saved latest = '21:30'",
                "act set_texting_window {'from': '07:30', 'until': '21:30'}",
                "en: Done. We'll only text you between 7:30am and 9:30pm. Replies to your texts still come any time.",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "settings: texting hours, Spanish",
        "settings",
        LUPE,
        [
            ("ajustes", [
                "es: Ajustes: responde 1 hora del check-in, 2 pausar los check-ins, 3 reanudar los check-ins, 4 idioma, 5 mensajes discretos, 6 llamada o texto, 7 horario de mensajes, 8 recordatorios de reuniones, 9 tus opciones.",
            ]),
            ("7", [
                "saved setting = 'texting_hours'",
                "es: Te escribimos entre las 9am y las 8pm. ¿Desde qué hora podemos escribirte? Por ejemplo 8am.",
            ]),
            ("10 de la mañana", [
                "saved earliest = '10:00'",
                "es: ¿Y hasta qué hora? Por ejemplo 9pm.",
            ]),
            ("6 de la tarde", [
                "saved latest = '18:00'",
                "act set_texting_window {'from': '10:00', 'until': '18:00'}",
                "es: Listo. Solo te escribiremos entre las 10am y las 6pm. Si nos escribes, te respondemos a cualquier hora.",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "settings: a pause of 14 days, Spanish, after a reply that doesn't fit",
        "settings",
        LUPE,
        [
            ("AJUSTES", [
                "es: Ajustes: responde 1 hora del check-in, 2 pausar los check-ins, 3 reanudar los check-ins, 4 idioma, 5 mensajes discretos, 6 llamada o texto, 7 horario de mensajes, 8 recordatorios de reuniones, 9 tus opciones.",
            ]),
            ("pausa", [
                "saved setting = 'pause'",
                "es: ¿Por cuántos días pausamos los check-ins? Por ejemplo 7. O 0 para pausar hasta que escribas RESUME.",
            ]),
            ("dos semanas", [
                "es: Manda un número de días del 1 al 90, o 0 para pausar hasta que escribas RESUME.",
            ]),
            ("14", [
                "saved pause_days = 14",
                "es: Listo, pausamos los check-ins por 14 días. Escribe RESUME para volver antes. Seguimos aquí: escribe HABLAR cuando quieras.",
                "act pause_checkins {'days': 14}",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "settings: a pause until RESUME",
        "settings",
        SAM,
        [
            ("PAUSE", [
                "en: Settings: reply 1 check-in time, 2 pause check-ins, 3 restart them, 4 language, 5 discreet wording, 6 call or text, 7 texting hours, 8 reminders, 9 choices.",
            ]),
            ("2", [
                "saved setting = 'pause'",
                "en: Pause check-ins for how many days? For example 7. Or 0 to pause until you text RESUME.",
            ]),
            ("0", [
                "saved pause_days = 0",
                "en: OK, check-ins are paused until you text RESUME. We're still here: text PEER any time.",
                "act pause_checkins",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "settings: a pause of one day; too many days is asked again",
        "settings",
        SAM,
        [
            ("settings", [
                "en: Settings: reply 1 check-in time, 2 pause check-ins, 3 restart them, 4 language, 5 discreet wording, 6 call or text, 7 texting hours, 8 reminders, 9 choices.",
            ]),
            ("take a break", [
                "saved setting = 'pause'",
                "en: Pause check-ins for how many days? For example 7. Or 0 to pause until you text RESUME.",
            ]),
            ("365", [
                "en: Please send a number of days from 1 to 90, or 0 to pause until you text RESUME.",
            ]),
            ("1", [
                "saved pause_days = 1",
                "en: OK, check-ins are paused for 1 day. We're still here: text PEER any time.",
                "act pause_checkins {'days': 1}",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "settings: resume, Spanish",
        "settings",
        LUPE,
        [
            ("RESUME", [
                "es: Ajustes: responde 1 hora del check-in, 2 pausar los check-ins, 3 reanudar los check-ins, 4 idioma, 5 mensajes discretos, 6 llamada o texto, 7 horario de mensajes, 8 recordatorios de reuniones, 9 tus opciones.",
            ]),
            ("3", [
                "saved setting = 'resume'",
                "es: Los check-ins están activos otra vez. Qué bueno tenerte aquí.",
                "act resume_checkins",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "settings: news from the line, yes (the consent ledger keeps the question's words)",
        "settings",
        SAM,
        [
            ("SETTINGS", [
                "en: Settings: reply 1 check-in time, 2 pause check-ins, 3 restart them, 4 language, 5 discreet wording, 6 call or text, 7 texting hours, 8 reminders, 9 choices.",
            ]),
            ("9", [
                "saved setting = 'news'",
                "en: Your choices: reply 1 news texts, 2 daily check-ins, 3 meeting reminders, 4 sharing answers with your peer, 5 peer offers after a hard day.",
            ]),
            ("1", [
                "saved privacy = 'news'",
                "en: News from the line: want a text now and then with news like holiday hours? YES to get them, NO for none.",
            ]),
            ("yes", [
                "saved news = True",
                "en: Done: we'll text you news from the line now and then. Text SETTINGS to change that.",
                "act record_consent {'purpose': 'announcements', 'wording': 'news'}",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "settings: news from the line, no, Spanish",
        "settings",
        LUPE,
        [
            ("AJUSTES", [
                "es: Ajustes: responde 1 hora del check-in, 2 pausar los check-ins, 3 reanudar los check-ins, 4 idioma, 5 mensajes discretos, 6 llamada o texto, 7 horario de mensajes, 8 recordatorios de reuniones, 9 tus opciones.",
            ]),
            ("noticias", [
                "saved setting = 'news'",
                "es: Tus opciones: responde 1 noticias, 2 check-ins diarios, 3 recordatorios, 4 compartir respuestas con tu compañero, 5 ofertas de compañero.",
            ]),
            ("noticias", [
                "saved privacy = 'news'",
                "es: Noticias de la línea: ¿quieres un mensaje de vez en cuando, como horarios de fiestas? SÍ para recibirlos, NO para ninguno.",
            ]),
            ("no", [
                "saved news = False",
                "es: Listo: no te mandaremos noticias de la línea. Escribe AJUSTES para cambiarlo.",
                "act record_consent {'purpose': 'announcements', 'wording': 'news', 'granted': False}",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "settings: language leads to the language flow",
        "settings",
        SAM,
        [
            ("settings", [
                "en: Settings: reply 1 check-in time, 2 pause check-ins, 3 restart them, 4 language, 5 discreet wording, 6 call or text, 7 texting hours, 8 reminders, 9 choices.",
            ]),
            ("4", [
                "saved setting = 'language'",
                "act start_flow {'flow': 'language'}",
                "ended start_flow",
                "en: Reply 1 for English. Responde 2 para español.",
            ]),
            ("español", [
                "saved lang = 'es'",
                "act set_language {'value': 'es'}",
                "es: Listo. A partir de ahora usaremos español.",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "settings: discreet wording on, asked in discreet words",
        "settings",
        SAM_DISCREET,
        [
            ("settings", [
                "en: Settings: reply 1 check-in time, 2 pause check-ins, 3 restart them, 4 language, 5 discreet wording, 6 call or text, 7 texting hours, 8 reminders, 9 choices.",
            ]),
            ("5", [
                "saved setting = 'discreet'",
                "en: Want discreet wording? It keeps our texts neutral, in case someone sees your screen. YES turns it on, NO turns it off.",
            ]),
            ("yes", [
                "saved discreet_wording = True",
                "en: Done: discreet wording is on.",
                "act set_discreet {'value': True}",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "settings: discreet wording off, Spanish",
        "settings",
        LUPE,
        [
            ("ajustes", [
                "es: Ajustes: responde 1 hora del check-in, 2 pausar los check-ins, 3 reanudar los check-ins, 4 idioma, 5 mensajes discretos, 6 llamada o texto, 7 horario de mensajes, 8 recordatorios de reuniones, 9 tus opciones.",
            ]),
            ("mensajes discretos", [
                "saved setting = 'discreet'",
                "es: ¿Mensajes discretos? No mencionaremos recuperación, alcohol ni drogas, por si alguien ve tu pantalla. SÍ los activa, NO los apaga.",
            ]),
            ("no", [
                "saved discreet_wording = False",
                "es: Listo: los mensajes discretos están desactivados.",
                "act set_discreet {'value': False}",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "settings: weekends, Spanish",
        "settings",
        LUPE,
        [
            ("ajustes", [
                "es: Ajustes: responde 1 hora del check-in, 2 pausar los check-ins, 3 reanudar los check-ins, 4 idioma, 5 mensajes discretos, 6 llamada o texto, 7 horario de mensajes, 8 recordatorios de reuniones, 9 tus opciones.",
            ]),
            ("1", [
                "saved setting = 'time'",
                "es: ¿A qué hora quieres tu check-in? Por ejemplo 9am o 7:30pm.",
            ]),
            ("9 de la noche", [  # after the line's texting window closes
                "saved checkin_time = '21:00'",
                "es: Solo escribimos entre las 9am y las 8pm para no despertarte. ¿Qué hora en ese horario te sirve?",
            ]),
            ("7 de la tarde", [
                "saved checkin_time = '19:00'",
                "es: ¿Qué días: todos los días, entre semana o fines de semana?",
            ]),
            ("fines de semana", [
                "saved checkin_days = 'weekends'",
                "es: Listo. Ahora tu check-in llega a las 19:00.",
                "act set_checkin {'time': '19:00', 'days': 'weekends'}",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "settings: check-ins by phone call",
        "settings",
        SAM,
        [
            ("SETTINGS", [
                "en: Settings: reply 1 check-in time, 2 pause check-ins, 3 restart them, 4 language, 5 discreet wording, 6 call or text, 7 texting hours, 8 reminders, 9 choices.",
            ]),
            ("6", [
                "saved setting = 'checkin_by'",
                "en: How should your check-in come: by phone call or by text? If you miss a call, we'll text you instead.",
            ]),
            ("call me", [
                "saved checkin_by = 'call'",
                "en: Done: we'll call you at your check-in time. If you don't pick up, we'll text you instead.",
                "act set_checkin_by {'value': 'call'}",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "settings: check-ins by text again, Spanish",
        "settings",
        LUPE,
        [
            ("ajustes", [
                "es: Ajustes: responde 1 hora del check-in, 2 pausar los check-ins, 3 reanudar los check-ins, 4 idioma, 5 mensajes discretos, 6 llamada o texto, 7 horario de mensajes, 8 recordatorios de reuniones, 9 tus opciones.",
            ]),
            ("llamada", [
                "saved setting = 'checkin_by'",
                "es: ¿Cómo quieres tu check-in: por llamada o por texto? Si no contestas una llamada, te escribiremos.",
            ]),
            ("texto", [
                "saved checkin_by = 'sms'",
                "es: Listo: tu check-in llegará por texto.",
                "act set_checkin_by {'value': 'sms'}",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "language: English to Spanish",
        "language",
        SAM,
        [
            ("LANG", [
                "en: Reply 1 for English. Responde 2 para español.",
            ]),
            ("2", [
                "saved lang = 'es'",
                "act set_language {'value': 'es'}",
                "es: Listo. A partir de ahora usaremos español.",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "language: Spanish to English",
        "language",
        LUPE,
        [
            ("IDIOMA", [
                "es: Responde 2 para español. Reply 1 for English.",
            ]),
            ("english", [
                "saved lang = 'en'",
                "act set_language {'value': 'en'}",
                "en: Done. We'll use English from now on.",
                "ended done",
            ]),
        ],
    ),
    Transcript(
        "language: three replies that don't fit",
        "language",
        SAM,
        [
            ("LANG", [
                "en: Reply 1 for English. Responde 2 para español.",
            ]),
            ("french", [
                "en: Reply 1 for English. Responde 2 para español.",
            ]),
            ("3", [
                "en: Reply 1 for English. Responde 2 para español.",
            ]),
            ("??", [
                "en: No problem, we can do this another time.",
                "ended tries",
            ]),
        ],
    ),
]


CALL_TRANSCRIPTS = [
    Transcript(
        "menu by voice: 0 gives the crisis options, a wrong key is asked again, 1 checks in",
        "menu",
        SAM_CALL,
        [
            (CALL, [
                "en-US: Hi, thanks for calling Recovery Line.",
                "en-US: Press 1 for your check-in.",
                "en-US: Press 2 for a peer.",
                "en-US: Press 3 for meetings.",
                "en-US: Press 4 for settings.",
                "en-US: Press 9 for language, idioma.",
                "en-US: Press 0 at any time for crisis help.",
                "gather dtmf speech, 1 digit",
            ]),
            ("0", [
                "crisis options",
                "en-US: Hi, thanks for calling Recovery Line.",
                "en-US: Press 1 for your check-in.",
                "en-US: Press 2 for a peer.",
                "en-US: Press 3 for meetings.",
                "en-US: Press 4 for settings.",
                "en-US: Press 9 for language, idioma.",
                "en-US: Press 0 at any time for crisis help.",
                "gather dtmf speech, 1 digit",
            ]),
            ("7", [
                "en-US: Sorry, I didn't catch that.",
                "en-US: Press 1 for your check-in.",
                "en-US: Press 2 for a peer.",
                "en-US: Press 3 for meetings.",
                "en-US: Press 4 for settings.",
                "en-US: Press 9 for language, idioma.",
                "en-US: Press 0 at any time for crisis help.",
                "gather dtmf speech, 1 digit",
            ]),
            ("1", [
                "saved choice = 'checkin'",
                "act start_flow {'flow': 'checkin'}",
                "ended start_flow",
                "en-US: Hi Sam, how are you today, from 1 (rough) to 5 (great)?",
                "en-US: Press 0 at any time for crisis help.",
                "gather dtmf speech, 1 digit",
            ]),
        ],
    ),
    Transcript(
        "menu by voice, Spanish: 9 for language, 1 for English",
        "menu",
        LUPE_CALL,
        [
            (CALL, [
                "es-US: Hola, gracias por llamar a Recovery Line.",
                "es-US: Marca 1 para reportarte.",
                "es-US: Marca 2 para hablar con un compañero.",
                "es-US: Marca 3 para reuniones.",
                "es-US: Marca 4 para ajustes.",
                "es-US: Marca 9 para idioma, language.",
                "es-US: Marca 0 en cualquier momento para ayuda en crisis.",
                "gather dtmf speech, 1 digit",
            ]),
            ("9", [
                "saved choice = 'language'",
                "act start_flow {'flow': 'language'}",
                "ended start_flow",
                "en-US: Press 1 for English.",
                "es-US: Marque 2 para español.",
                "es-US: Marca 0 en cualquier momento para ayuda en crisis.",
                "gather dtmf speech, 1 digit",
            ]),
            ("1", [
                "saved lang = 'en'",
                "act set_language {'value': 'en'}",
                "ended done",
                "en-US: Done. We'll use English from now on.",
                "hangup",
            ]),
        ],
    ),
    Transcript(
        "menu by voice: silence asks again once, then the call ends",
        "menu",
        SAM_CALL,
        [
            (CALL, [
                "en-US: Hi, thanks for calling Recovery Line.",
                "en-US: Press 1 for your check-in.",
                "en-US: Press 2 for a peer.",
                "en-US: Press 3 for meetings.",
                "en-US: Press 4 for settings.",
                "en-US: Press 9 for language, idioma.",
                "en-US: Press 0 at any time for crisis help.",
                "gather dtmf speech, 1 digit",
            ]),
            (TIMEOUT, [
                "en-US: Hi, thanks for calling Recovery Line.",
                "en-US: Press 1 for your check-in.",
                "en-US: Press 2 for a peer.",
                "en-US: Press 3 for meetings.",
                "en-US: Press 4 for settings.",
                "en-US: Press 9 for language, idioma.",
                "en-US: Press 0 at any time for crisis help.",
                "gather dtmf speech, 1 digit",
            ]),
            (TIMEOUT, [
                "ended timeout",
                "hangup",
            ]),
        ],
    ),
    Transcript(
        "menu by voice: 2 asks for a peer",
        "menu",
        SAM_CALL,
        [
            (CALL, [
                "en-US: Hi, thanks for calling Recovery Line.",
                "en-US: Press 1 for your check-in.",
                "en-US: Press 2 for a peer.",
                "en-US: Press 3 for meetings.",
                "en-US: Press 4 for settings.",
                "en-US: Press 9 for language, idioma.",
                "en-US: Press 0 at any time for crisis help.",
                "gather dtmf speech, 1 digit",
            ]),
            ("2", [
                "saved choice = 'peer'",
                "act start_flow {'flow': 'peer'}",
                "ended start_flow",
                "act request_peer {'reason': 'asked'}",
                "ended done",
                "hangup",
            ]),
        ],
    ),
    Transcript(
        "checkin by voice: a low day, rather not say, silence at the note, a peer",
        "checkin",
        SAM_CALL,
        [
            (CALL, [
                "en-US: Hi Sam, how are you today, from 1 (rough) to 5 (great)?",
                "en-US: Press 0 at any time for crisis help.",
                "gather dtmf speech, 1 digit",
            ]),
            ("2", [
                "saved mood = 2",
                "en-US: Thanks. Any cravings today, from 0 (none) to 10 (strong)?",
                "gather dtmf speech",
            ]),
            ("5", [
                "saved craving = 5",
                "en-US: Only if you want to say: have you used since we last checked in? Yes, no, or skip are all OK.",
                "en-US: Press 1 for yes.",
                "en-US: Press 2 for no.",
                "en-US: Press 3 for rather not say.",
                "en-US: Press 0 at any time for crisis help.",
                "gather dtmf speech, 1 digit",
            ]),
            ("3", [
                "saved used = 'skip'",
                "en-US: Anything else on your mind? A few words, or SKIP.",
                "en-US: Press 0 at any time for crisis help.",
                "gather dtmf speech",
            ]),
            (TIMEOUT, [
                "act save_checkin",
                "act flag_risk",
                "en-US: Thanks for telling me. Sounds like a hard day. Want a peer to text you today?",
                "en-US: Press 1 for yes. Press 2 for no.",
                "en-US: Press 0 at any time for crisis help.",
                "gather dtmf speech, 1 digit",
            ]),
            ("1", [
                "saved wants_peer = True",
                "act request_peer {'reason': 'checkin'}",
                "ended done",
                "hangup",
            ]),
        ],
    ),
    Transcript(
        "checkin by voice: 0 at the note is crisis help and the note is asked again; no thanks skips it",
        "checkin",
        SAM_CALL,
        [
            (CALL, [
                "en-US: Hi Sam, how are you today, from 1 (rough) to 5 (great)?",
                "en-US: Press 0 at any time for crisis help.",
                "gather dtmf speech, 1 digit",
            ]),
            ("4", [
                "saved mood = 4",
                "en-US: Thanks. Any cravings today, from 0 (none) to 10 (strong)?",
                "gather dtmf speech",
            ]),
            ("1", [
                "saved craving = 1",
                "en-US: Only if you want to say: have you used since we last checked in? Yes, no, or skip are all OK.",
                "en-US: Press 1 for yes.",
                "en-US: Press 2 for no.",
                "en-US: Press 3 for rather not say.",
                "en-US: Press 0 at any time for crisis help.",
                "gather dtmf speech, 1 digit",
            ]),
            ("2", [
                "saved used = 'no'",
                "en-US: Anything else on your mind? A few words, or SKIP.",
                "en-US: Press 0 at any time for crisis help.",
                "gather dtmf speech",
            ]),
            ("0", [
                "crisis options",
                "en-US: Anything else on your mind? A few words, or SKIP.",
                "en-US: Press 0 at any time for crisis help.",
                "gather dtmf speech",
            ]),
            ("No thanks.", [
                "act save_checkin",
                "ended done",
                "en-US: Thanks for checking in. Glad you're here today.",
                "hangup",
            ]),
        ],
    ),
    Transcript(
        "checkin by voice, Spanish: 0 at the mood is crisis help, 0 at the craving is an answer",
        "checkin",
        LUPE_CALL,
        [
            (CALL, [
                "es-US: Hola Lupe, ¿cómo estás hoy? Del 1 (mal) al 5 (muy bien).",
                "es-US: Marca 0 en cualquier momento para ayuda en crisis.",
                "gather dtmf speech, 1 digit",
            ]),
            ("0", [
                "crisis options",
                "es-US: Hola Lupe, ¿cómo estás hoy? Del 1 (mal) al 5 (muy bien).",
                "es-US: Marca 0 en cualquier momento para ayuda en crisis.",
                "gather dtmf speech, 1 digit",
            ]),
            ("4", [
                "saved mood = 4",
                "es-US: Gracias. ¿Qué tantas ganas de consumir tienes hoy? Del 0 (nada) al 10 (muchas).",
                "gather dtmf speech",
            ]),
            ("0", [
                "saved craving = 0",
                "es-US: Solo si quieres contarme: ¿has consumido desde la última vez? Sí, no o paso: todo está bien.",
                "es-US: Marca 1 para sí.",
                "es-US: Marca 2 para no.",
                "es-US: Marca 3 para prefiero no decir.",
                "es-US: Marca 0 en cualquier momento para ayuda en crisis.",
                "gather dtmf speech, 1 digit",
            ]),
            ("2", [
                "saved used = 'no'",
                "es-US: ¿Algo más que quieras contar? Unas palabras, o PASO.",
                "es-US: Marca 0 en cualquier momento para ayuda en crisis.",
                "gather dtmf speech",
            ]),
            ("todo bien", [
                "saved note = 'todo bien'",
                "act save_checkin",
                "ended done",
                "es-US: Gracias por reportarte. Qué bueno que estás aquí hoy.",
                "hangup",
            ]),
        ],
    ),
    Transcript(
        "meetings by voice: phone meetings, texted",
        "meetings",
        SAM_CALL,
        [
            (CALL, [
                "en-US: Let's find a meeting. What kind are you looking for?",
                "en-US: Press 1 for meetings near you.",
                "en-US: Press 2 for online meetings.",
                "en-US: Press 3 for phone meetings.",
                "en-US: Press 0 at any time for crisis help.",
                "gather dtmf speech, 1 digit",
            ]),
            ("3", [  # the meetings themselves are read out by the action (meetings/replies.py)
                "saved meeting_kind = 'phone'",
                "act search_meetings {'query': 'phone'}",
                "en-US: Would you like these meetings sent to you by text message?",
                "en-US: Press 1 for yes. Press 2 for no.",
                "en-US: Press 0 at any time for crisis help.",
                "gather dtmf speech, 1 digit",
            ]),
            ("1", [
                "saved wants_text = True",
                "act text_meetings",
                "ended done",
                "en-US: I'm texting you the details now. Thank you for calling. Take care.",
                "hangup",
            ]),
        ],
    ),
    Transcript(
        "meetings by voice: near a ZIP code keyed in",
        "meetings",
        SAM_CALL,
        [
            (CALL, [
                "en-US: Let's find a meeting. What kind are you looking for?",
                "en-US: Press 1 for meetings near you.",
                "en-US: Press 2 for online meetings.",
                "en-US: Press 3 for phone meetings.",
                "en-US: Press 0 at any time for crisis help.",
                "gather dtmf speech, 1 digit",
            ]),
            ("1", [
                "saved meeting_kind = 'in_person'",
                "en-US: Please enter the 5 digit ZIP code to look near, on your keypad.",
                "en-US: Press 0 at any time for crisis help.",
                "gather dtmf speech, 5 digits",
            ]),
            ("60614", [
                "saved zip = {'zip': '60614', 'city': 'Chicago', 'state': 'IL', 'timezone': 'America/Chicago'}",
                "act search_meetings {'query': {'zip': '60614', 'city': 'Chicago', 'state': 'IL', 'timezone': 'America/Chicago'}}",
                "en-US: Would you like these meetings sent to you by text message?",
                "en-US: Press 1 for yes. Press 2 for no.",
                "en-US: Press 0 at any time for crisis help.",
                "gather dtmf speech, 1 digit",
            ]),
            ("2", [
                "saved wants_text = False",
                "ended done",
                "en-US: OK. Call or text us any time. Take care.",
                "hangup",
            ]),
        ],
    ),
    Transcript(
        "settings by voice, Spanish, discreet: discreet wording off",
        "settings",
        LUPE_CALL_DISCREET,
        [
            (CALL, [
                "es-US: Tus ajustes. ¿Qué quieres cambiar?",
                "es-US: Marca 1 para tu hora de check-in.",
                "es-US: Marca 2 para pausar los check-ins.",
                "es-US: Marca 3 para reanudar los check-ins.",
                "es-US: Marca 4 para idioma.",
                "es-US: Marca 5 para mensajes discretos.",
                "es-US: Marca 6 para llamada o texto.",
                "es-US: Marca 7 para horario de mensajes.",
                "es-US: Marca 8 para recordatorios de reuniones.",
                "es-US: Marca 9 para tus opciones.",
                "es-US: Marca 0 en cualquier momento para ayuda en crisis.",
                "gather dtmf speech, 1 digit",
            ]),
            ("5", [
                "saved setting = 'discreet'",
                "es-US: ¿Mensajes discretos? Así nuestros mensajes son neutros, por si alguien ve tu pantalla. SÍ los activa, NO los apaga.",
                "es-US: Marca 1 para sí. Marca 2 para no.",
                "es-US: Marca 0 en cualquier momento para ayuda en crisis.",
                "gather dtmf speech, 1 digit",
            ]),
            ("2", [
                "saved discreet_wording = False",
                "act set_discreet {'value': False}",
                "ended done",
                "es-US: Listo: los mensajes discretos están desactivados.",
                "hangup",
            ]),
        ],
    ),
    Transcript(
        "settings by voice: a pause, where 0 is an answer",
        "settings",
        SAM_CALL,
        [
            (CALL, [
                "en-US: Your settings. What would you like to change?",
                "en-US: Press 1 for check-in time.",
                "en-US: Press 2 for pausing check-ins.",
                "en-US: Press 3 for restarting check-ins.",
                "en-US: Press 4 for language.",
                "en-US: Press 5 for discreet wording.",
                "en-US: Press 6 for call or text.",
                "en-US: Press 7 for texting hours.",
                "en-US: Press 8 for meeting reminders.",
                "en-US: Press 9 for your choices.",
                "en-US: Press 0 at any time for crisis help.",
                "gather dtmf speech, 1 digit",
            ]),
            ("2", [
                "saved setting = 'pause'",
                "en-US: Pause check-ins for how many days? For example 7. Or 0 to pause until you text RESUME.",
                "gather dtmf speech",
            ]),
            ("0", [
                "saved pause_days = 0",
                "act pause_checkins",
                "ended done",
                "en-US: OK, check-ins are paused until you text RESUME. We're still here: text PEER any time.",
                "hangup",
            ]),
        ],
    ),
    Transcript(
        "language by voice: Spanish",
        "language",
        SAM_CALL,
        [
            (CALL, [
                "en-US: Press 1 for English.",
                "es-US: Marque 2 para español.",
                "en-US: Press 0 at any time for crisis help.",
                "gather dtmf speech, 1 digit",
            ]),
            ("2", [
                "saved lang = 'es'",
                "act set_language {'value': 'es'}",
                "ended done",
                "es-US: Listo. A partir de ahora usaremos español.",
                "hangup",
            ]),
        ],
    ),
    Transcript(
        "peer by voice, Spanish",
        "peer",
        LUPE_CALL,
        [
            (CALL, [
                "act request_peer {'reason': 'asked'}",
                "ended done",
                "hangup",
            ]),
        ],
    ),
    Transcript(
        "resume by voice, English",
        "resume",
        SAM_CALL,
        [
            (CALL, [
                "act resume_checkins",
                "ended done",
                "en-US: Check-ins are back on. Glad you're here.",
                "hangup",
            ]),
        ],
    ),
    Transcript(
        "resume by voice, Spanish",
        "resume",
        LUPE_CALL,
        [
            (CALL, [
                "act resume_checkins",
                "ended done",
                "es-US: Los check-ins están activos otra vez. Qué bueno tenerte aquí.",
                "hangup",
            ]),
        ],
    ),
    Transcript(
        "peer by voice, English",
        "peer",
        SAM_CALL,
        [
            (CALL, [
                "act request_peer {'reason': 'asked'}",
                "ended done",
                "hangup",
            ]),
        ],
    ),
    Transcript(
        "meetings by voice, Spanish: online meetings, not texted",
        "meetings",
        LUPE_CALL,
        [
            (CALL, [
                "es-US: Busquemos una reunión. ¿Qué tipo buscas?",
                "es-US: Marca 1 para reuniones cerca de ti.",
                "es-US: Marca 2 para reuniones en línea.",
                "es-US: Marca 3 para reuniones por teléfono.",
                "es-US: Marca 0 en cualquier momento para ayuda en crisis.",
                "gather dtmf speech, 1 digit",
            ]),
            ("2", [
                "saved meeting_kind = 'online'",
                "act search_meetings {'query': 'online'}",
                "es-US: ¿Quieres que te mande estas reuniones por mensaje de texto?",
                "es-US: Marca 1 para sí. Marca 2 para no.",
                "es-US: Marca 0 en cualquier momento para ayuda en crisis.",
                "gather dtmf speech, 1 digit",
            ]),
            ("2", [
                "saved wants_text = False",
                "ended done",
                "es-US: Está bien. Llámanos o escríbenos cuando quieras. Cuídate.",
                "hangup",
            ]),
        ],
    ),
    Transcript(
        "language by voice, Spanish: back to English after a key that doesn't fit",
        "language",
        LUPE_CALL,
        [
            (CALL, [
                "en-US: Press 1 for English.",
                "es-US: Marque 2 para español.",
                "es-US: Marca 0 en cualquier momento para ayuda en crisis.",
                "gather dtmf speech, 1 digit",
            ]),
            ("5", [
                "es-US: Perdón, no te entendí.",
                "en-US: Press 1 for English.",
                "es-US: Marque 2 para español.",
                "es-US: Marca 0 en cualquier momento para ayuda en crisis.",
                "gather dtmf speech, 1 digit",
            ]),
            ("1", [
                "saved lang = 'en'",
                "act set_language {'value': 'en'}",
                "ended done",
                "en-US: Done. We'll use English from now on.",
                "hangup",
            ]),
        ],
    ),
]

# fmt: on

TRANSCRIPTS = TEXT_TRANSCRIPTS + CALL_TRANSCRIPTS


@pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=lambda transcript: transcript.name)
def test_transcript(transcript: Transcript) -> None:
    played = play(transcript)
    for index, ((said, expected), (_said, actual)) in enumerate(
        zip(transcript.turns, played, strict=True)
    ):
        assert actual == expected, f"turn {index} ({said!r})"


def test_every_flow_is_played_in_both_languages_by_text_and_by_call() -> None:
    """Each flow has transcripts with English and Spanish texts, and calls in both voices (the
    welcome is by text only: a stranger joins by text)."""
    seen: set[tuple[str, str]] = set()
    for transcript in TRANSCRIPTS:
        lines = [line for _said, turn in transcript.turns for line in turn]
        for tag in ("en: ", "es: ", "en-US: ", "es-US: "):
            if any(line.startswith(tag) for line in lines):
                seen.add((transcript.flow, tag.strip(" :")))
    for name in SHIPPED - SPEAKS_THROUGH_ACTIONS:
        tags = ("en", "es") if name == "welcome" else ("en", "es", "en-US", "es-US")
        assert {(name, tag) for tag in tags} <= seen, name
    for name in SPEAKS_THROUGH_ACTIONS:  # played by text and by call, in both languages
        played = {
            (transcript.context.channel, transcript.context.language)
            for transcript in TRANSCRIPTS
            if transcript.flow == name
        }
        assert played == {("sms", "en"), ("sms", "es"), ("voice", "en"), ("voice", "es")}, name


# Flows whose words all come from their actions: `peer` says what pairing.request found (someone
# on call, or nobody, said honestly), so its transcripts show the action and no text.
SPEAKS_THROUGH_ACTIONS = {"peer"}


# The flow files as a whole.


def test_the_shipped_flows_are_all_there() -> None:
    assert {path.stem for path in flow_files(FLOWS)} == SHIPPED
    assert {flow(name).name for name in SHIPPED} == SHIPPED


# Validator warnings accepted on purpose, as (file name, state, field): none so far.
ALLOWED_WARNINGS: set[tuple[str, str | None, str]] = set()


def test_every_flow_file_validates_without_errors_or_warnings() -> None:
    problems = validate_path(FLOWS)
    assert [str(p) for p in problems if p.severity == "error"] == []
    unexpected = [
        str(p) for p in problems if (Path(p.source).name, p.state, p.field) not in ALLOWED_WARNINGS
    ]
    assert unexpected == []


SEGMENT_LIMIT = {"en": 1, "es": 2}  # Spanish accents force UCS-2: two segments are fair
# Texts allowed over the limit, as (flow, state, field, language): the settings menu's generated
# re-prompt, once eight options long (it comes only after an answer it could not read).
LONG_TEXTS: set[tuple[str, str, str, str]] = {
    ("settings", state, "re-prompt (no_match)", "en") for state in ("menu", "menu_call")
}


def _messages(current: Flow):  # noqa: ANN202
    """Every text a flow can send by SMS: (state, field, language, text), with the engine's
    re-prompts for waits without their own `retry`."""
    for state in current.states.values():
        for field, texts in (("say", state.say), ("discreet", state.discreet)):
            for language, text in texts.items():
                yield state.name, field, language, text
        if state.wait is None:
            continue
        for language in current.languages:
            if state.wait.retry:
                yield state.name, "retry", language, state.wait.retry[language]
                continue
            reasons = {"zip": ("no_match", "unknown_zip"), "text": ("too_long",)}
            for reason in reasons.get(state.wait.answer, ("no_match",)):
                text = answers.reprompt(
                    state.wait, language, reason, "sms", current.default_language
                )
                yield state.name, f"re-prompt ({reason})", language, text


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_text_fits_its_sms_segments(name: str) -> None:
    """At most 1 segment in English and 2 in Spanish, with each variable 10 characters long (or
    its fallback, when longer) and the program named as by default; the engine's own give-up
    text too."""
    too_long = []
    texts = list(_messages(flow(name)))
    texts += [("(any)", "give up", language, text) for language, text in run.GIVE_UP.items()]
    for state, field, language, text in texts:
        size = segments.count(longest(text, PLACEHOLDER, {"program": Context().program}))
        if (
            size.segments > SEGMENT_LIMIT[language]
            and (name, state, field, language) not in LONG_TEXTS
        ):
            too_long.append(f"{state} {field} {language}: {size.segments} segments: {text}")
    assert too_long == []


CAPITALS = re.compile(r"\b[A-ZÁÉÍÓÚÑ]{2,}\b")
NOT_ASKED_FOR = {"ZIP", "OK"}  # "ZIP code", "all OK": capitals, but nothing to send


def test_every_word_a_text_asks_for_is_understood() -> None:
    """A word in capitals ("Text PEER", "Reply YES", "PASO") is a keyword of the line, a
    compliance word, or an answer the state's own wait accepts."""
    not_understood = []
    for name in sorted(SHIPPED):
        for state in flow(name).states.values():
            texts = [*state.say.items(), *state.discreet.items()]
            texts += list(state.wait.retry.items()) if state.wait else []
            for language, text in texts:
                for word in set(CAPITALS.findall(text)) - NOT_ASKED_FOR:
                    understood = (
                        keywords.flow_for(word) is not None
                        or compliance.classify(word) in ("stop", "help")
                        or keywords.remind_request(word) is not None
                        or (state.wait is not None and answers.parse(state.wait, word, language).ok)
                    )
                    if not understood:
                        not_understood.append(f"{name}.{state.name} ({language}): {word}")
    assert not_understood == []


OFFERED_SKIPS = {"SKIP", "PASO"}


def test_a_text_that_offers_skip_can_be_skipped() -> None:
    """Where a text offers SKIP or PASO, the wait reads it as no answer (nothing saved), or, at a
    choice, as one of its options."""
    not_skippable = []
    for name in sorted(SHIPPED):
        for state in flow(name).states.values():
            for language, text in [*state.say.items(), *state.discreet.items()]:
                for word in set(CAPITALS.findall(text)) & OFFERED_SKIPS:
                    answer = state.wait and answers.parse(state.wait, word, language)
                    if not (answer and (answer.skipped or state.wait.answer == "choice")):
                        not_skippable.append(f"{name}.{state.name} ({language}): {word}")
    assert not_skippable == []


SENSITIVE = re.compile(
    r"recover|recupera|drink|drug|droga|alcohol|crav|sober|sobri|relaps|reca[ií]da|slip|"
    r"\bused\b|consum|addict|adicci",
    re.IGNORECASE,
)


def test_discreet_wording_says_nothing_about_recovery() -> None:
    """What a member in discreet mode reads (a state's discreet text, else its text) never
    mentions recovery, drinking or drugs. The welcome is exempt until discreet wording is chosen."""
    telling = []
    for name in sorted(SHIPPED):
        for state in flow(name).states.values():
            if name == "welcome" and state.name != "done":
                continue
            for language, text in (state.discreet or state.say).items():
                if SENSITIVE.search(text):
                    telling.append(f"{name}.{state.name} ({language}): {text}")
    assert telling == []


def _reached_on_a_call(current: Flow) -> set[str]:
    """The states a call can reach: routes on `channel` are followed as a call would."""
    reached, waiting = set(), [current.start]
    while waiting:
        name = waiting.pop()
        if name in reached:
            continue
        reached.add(name)
        state = current.states[name]
        if state.wait:
            waiting += [option.goto for option in state.wait.options if option.goto]
            waiting += [state.wait.on_timeout] if state.wait.on_timeout else []
        for route in state.routes:
            if route.when and "channel" in route.when:
                if expressions.evaluate(route.when, {"channel": "voice"}):
                    waiting.append(route.goto)
                    break
                continue
            waiting.append(route.goto)
    return reached


@pytest.mark.parametrize("name", sorted(SHIPPED - {"welcome"}))
def test_a_call_never_hears_reply(name: str) -> None:
    """On a call the options are read out ("Press 1 for ..."), so no text a call reaches tells
    the caller to reply with something."""
    current = flow(name)
    heard = [
        f"{state}: {text}"
        for state in _reached_on_a_call(current)
        for texts in (current.states[state].say, current.states[state].discreet)
        for text in texts.values()
        if re.search(r"\b(reply|responde)\b", text, re.IGNORECASE)
    ]
    assert heard == []


def _waits() -> list[tuple[str, str]]:
    return [
        (name, state.name)
        for name in sorted(SHIPPED)
        for state in flow(name).states.values()
        if state.wait is not None
    ]


@pytest.mark.parametrize(("name", "state"), _waits())
@pytest.mark.parametrize("member", [SAM, LUPE], ids=["en", "es"])
def test_no_wait_traps_a_member(name: str, state: str, member: Context) -> None:
    """At every wait: replies that never fit end gracefully after `tries`, in the member's
    language; the clock's timeout never breaks the flow; expiry ends it without a word."""
    current, wait = flow(name), flow(name).states[state].wait
    position = run.Position(state)
    for _ in range(wait.tries):
        step = run.step(current, position, Input("text", "   "), member)
        position = step.position or position
    assert step.effects[-2:] == (Say(run.GIVE_UP[member.language], member.language), Ended("tries"))

    timed_out = run.step(current, run.Position(state), TIMEOUT, member)
    assert not any(isinstance(e, Ended) and e.reason == "error" for e in timed_out.effects)
    assert any(isinstance(e, Say | Ask) for e in timed_out.effects), (
        "a timeout asks again or moves on"
    )

    assert run.step(current, run.Position(state), EXPIRE, member).effects == (Ended("expired"),)


@pytest.mark.parametrize(
    "text", ["hi", "", "🙂", "x" * 1000, "Who is this?", "yes please", "¿Qué es esto?", "0"]
)
@pytest.mark.parametrize("member", [STRANGER, STRANGER_ES], ids=["en", "es"])
def test_a_strangers_texts_always_get_an_answer(text: str, member: Context) -> None:
    """The welcome says something to a stranger's first text, and to whatever comes next."""
    welcome = flow("welcome")
    first = run.start(welcome, member)
    assert isinstance(first.effects[0], Say) and first.position is not None
    reply = run.step(welcome, first.position, Input("text", text), member)
    assert any(isinstance(effect, Say) for effect in reply.effects)


def test_the_consent_text_says_what_members_agree_to() -> None:
    """The double opt-in names the program, what is sent and how often, rates, HELP and STOP;
    it never times out (a stranger gets nothing unasked), and both consents record its wording."""
    consent = flow("welcome").states["consent"]
    must = {
        "en": [
            "$program",
            "Reply YES",
            "daily check-in",
            "Msg & data rates may apply",
            "HELP",
            "STOP",
        ],
        "es": [
            "$program",
            "Responde SI",
            "check-in diario",
            "tarifas de mensajes y datos",
            "AYUDA",
            "PARAR",
        ],
    }
    for language, parts in must.items():
        assert all(part in consent.say[language] for part in parts), language
    assert consent.wait is not None and consent.wait.timeout is None
    recorded = {
        (call.params["purpose"], call.params["wording"])
        for state in flow("welcome").states.values()
        for call in state.actions
        if call.name == "record_consent"
    }
    assert recorded == {("line", "consent"), ("checkins", "consent")}
