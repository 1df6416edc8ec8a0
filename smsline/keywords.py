"""Members' global keywords (DESIGN.md's reserved words): each starts its flow from any state,
interrupting the one that waits. HELP, STOP and START belong to the compliance layer, before this."""

from __future__ import annotations

import re

from smsline.engine.answers import NUMBER_WORDS
from smsline.rules.crisis import normalise

FLOWS = {
    "checkin": "checkin",
    "check in": "checkin",
    "registro": "checkin",
    "peer": "peer",
    "talk": "peer",
    "hablar": "peer",
    "meetings": "meetings",
    "meeting": "meetings",
    "reuniones": "meetings",
    "settings": "settings",
    "ajustes": "settings",
    "pause": "settings",
    "pausa": "settings",
    "resume": "resume",
    "reanudar": "resume",
    "lang": "language",
    "language": "language",
    "idioma": "language",
    "menu": "menu",
}
# Words that act at once instead of starting a flow (inbound.converse carries them out).
ACTIONS = {
    "later": "later",
    "luego": "later",
    "mas tarde": "later",
    "despues": "later",
}
# PAUSE with a number of days pauses at once (inbound.converse, through
# flow_actions.pause_by_keyword): "PAUSE 3", "pause 7 days", "pause for 2 weeks", "PAUSA 3 días".
PAUSE_DAYS = (1, 90)
PAUSE = re.compile(
    r"^(?:pause|pausa|pausar)(?: for| por)? (?P<count>[0-9]{1,4}|[a-z]+)"
    r"(?: (?P<unit>d|days?|dias?|w|wk|weeks?|semanas?|months?|mes|meses))?$"
)
UNIT_DAYS = {"w": 7, "wk": 7, "week": 7, "weeks": 7, "semana": 7, "semanas": 7}
UNIT_DAYS |= {"month": 30, "months": 30, "mes": 30, "meses": 30}
# Meeting reminders (inbound.converse, through flow_actions.remind_by_keyword; n is a number of
# the last meeting list shown): REMIND n, REMIND n 30 (minutes before), REMIND n OFF, REMIND OFF,
# bare REMIND (the member's reminders); RECORDAR n, RECORDAR n 30, RECORDAR n NO, RECORDAR NO.
REMIND = re.compile(
    r"^(?:remind|reminder|reminders|recordar|recordatorio|recordatorios|recuerdame)(?: me)?"
    r"(?: (?P<number>[0-9]{1,3}))?"
    r"(?: (?P<minutes>[0-9]{1,4}) ?(?:m|min|mins|minutes?|minutos?)?(?: before| antes)?)?"
    r"(?: (?P<off>off|no|cancel|cancelar|stop|parar|end|quitar|apagar|nomas))?$"
)


def remind_request(text: str) -> tuple[int | None, int | None, bool] | None:
    """A REMIND keyword as (list number, minutes before, off), any part None/False when not
    given; None when the text is not one."""
    match = REMIND.match(normalise(text))
    if match is None:
        return None
    number = int(match["number"]) if match["number"] else None
    minutes = int(match["minutes"]) if match["minutes"] else None
    return number, minutes, bool(match["off"])


# PEER WOMAN / TALK MAN / HABLAR MUJER: ask for a peer, saying who you would rather talk with
# (matched against supporters' `gender`); PEER ANYONE clears it.
PEER_PREFERENCE = re.compile(
    r"^(?:peer|talk|hablar)(?: (?:to|with|con))?(?: (?:a|an|una|un))? (?P<who>[a-z]+)$"
)
PREFERENCES = {
    "woman": "woman",
    "women": "woman",
    "mujer": "woman",
    "man": "man",
    "men": "man",
    "hombre": "man",
    "anyone": "",
    "anybody": "",
    "cualquiera": "",
    "alguien": "",
}
# MEETINGS with words after it ("MEETINGS 10001 tonight", "reuniones en español") searches at
# once with those words (inbound.converse, through flow_actions.meetings_by_keyword).
MEETING_WORDS = re.compile(r"^(?:meetings?|reuniones|reunion) (?P<words>.+)$")
# Before a stranger has said yes to the line, only asking for a person skips the welcome.
BEFORE_CONSENT = frozenset({"peer"})


def flow_for(text: str, consented: bool = True) -> str | None:
    """The flow a keyword starts: the whole text, any case, punctuation and accents trimmed.
    Before someone has joined, only PEER counts: the rest is an answer to the welcome."""
    flow = FLOWS.get(normalise(text))
    if flow is not None and not consented and flow not in BEFORE_CONSENT:
        return None
    return flow


def peer_preference(text: str) -> str | None:
    """Who a member would rather talk with, from "PEER WOMAN" and the like ("" for anyone); None
    when the text is not that."""
    match = PEER_PREFERENCE.match(normalise(text))
    return PREFERENCES.get(match["who"]) if match else None


def action_for(text: str) -> str | None:
    """The action a keyword asks for (LATER: the check-in again in an hour); the caller checks
    that the sender is an active member."""
    return ACTIONS.get(normalise(text))


def pause_days(text: str) -> int | None:
    """The days of a PAUSE typed with a number ("PAUSE 3"; "pausa 2 semanas" is 14, a month 30), in range
    or not (the caller checks PAUSE_DAYS); None when the text is not one."""
    match = PAUSE.match(normalise(text))
    if match is None:
        return None
    count = match["count"]
    number = int(count) if count.isdigit() else NUMBER_WORDS.get(count)
    if number is None:
        return None
    return number * UNIT_DAYS.get(match["unit"] or "", 1)


def meeting_words(text: str) -> str | None:
    """The words after MEETINGS / REUNIONES ("10001 tonight"), normalised; None when the text is
    not the keyword with words after it."""
    match = MEETING_WORDS.match(normalise(text))
    return match["words"] if match else None
