"""Members' global keywords (DESIGN.md's reserved words): each starts its flow from any state,
interrupting the one that waits. HELP, STOP and START belong to the compliance layer, before this."""

from __future__ import annotations

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
# Before a stranger has said yes to the line, only asking for a person skips the welcome.
BEFORE_CONSENT = frozenset({"peer"})


def flow_for(text: str, consented: bool = True) -> str | None:
    """The flow a keyword starts: the whole text, any case, punctuation and accents trimmed.
    Before someone has joined, only PEER counts: the rest is an answer to the welcome."""
    flow = FLOWS.get(normalise(text))
    if flow is not None and not consented and flow not in BEFORE_CONSENT:
        return None
    return flow


def action_for(text: str) -> str | None:
    """The action a keyword asks for (LATER: the check-in again in an hour); the caller checks
    that the sender is an active member."""
    return ACTIONS.get(normalise(text))
