"""Members' global keywords (DESIGN.md's reserved words): each starts its flow from any state,
interrupting the one that waits. HELP, STOP and START belong to the compliance layer, before this."""

from __future__ import annotations

from smsline.rules.crisis import normalise

FLOWS = {
    "checkin": "checkin",
    "check in": "checkin",
    "peer": "peer",
    "talk": "peer",
    "hablar": "peer",
    "meetings": "meetings",
    "meeting": "meetings",
    "reuniones": "meetings",
    "settings": "settings",
    "ajustes": "settings",
    "pause": "settings",
    "resume": "settings",
    "lang": "language",
    "language": "language",
    "idioma": "language",
    "menu": "menu",
}


def flow_for(text: str) -> str | None:
    """The flow a keyword starts: the whole text, any case, punctuation trimmed."""
    return FLOWS.get(normalise(text))
