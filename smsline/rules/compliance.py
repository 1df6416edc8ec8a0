"""Compliance keywords: opt out (STOP), opt back in (START) and HELP, in English and Spanish.

A text is a compliance word only when it is the whole message: case, accents, punctuation and
emoji around it are ignored ("Stop.", " stop!! ", "STOP 🙏" all opt out), and so are a few polite
fillers at either end ("please stop", "stop now thanks", "no más mensajes por favor"). Anything
longer is not read as one, so crisis and recovery talk ("I can't stop using", "end of my rope",
"don't stop texting me") never opts anyone out; those texts go on to the rest of the routing.

Plain-language opt-outs ("stop texting me", "no me manden más mensajes") are honoured like STOP:
the law asks us to honour an opt-out made by any reasonable means, not just the carrier keywords.
YES, Y and SÍ opt back in only from someone who is opted out, as Twilio does.
"""

from __future__ import annotations

from smsline.rules.crisis import normalise

# Whole-message keywords, in the normalised form `_key` gives (lowercase, no accents).
STOP_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout", "parar"}
)
START_WORDS = frozenset({"start", "unstop"})
YES_WORDS = frozenset({"yes", "y", "si"})  # START only when already opted out
HELP_WORDS = frozenset({"help", "info", "ayuda"})

ENGLISH_OPT_OUTS = (
    "please stop",
    "stop texting me",
    "stop texting",
    "stop texting this number",
    "stop sending me messages",
    "stop sending me texts",
    "stop sending messages",
    "stop sending texts",
    "stop messaging me",
    "stop contacting me",
    "stop all",
    "stop all messages",
    "no more texts",
    "no more messages",
    "no more text messages",
    "unsubscribe me",
    "opt out",
    "opt me out",
    "take me off your list",
    "take me off the list",
    "take me off this list",
    "remove me from your list",
    "remove me from the list",
    "remove me from this list",
    "don't text me anymore",
    "don't text me",
    "do not text me",
    "don't message me",
    "don't contact me",
    "do not contact me",
)

SPANISH_OPT_OUTS = (
    "no me manden más mensajes",
    "no me manden mensajes",
    "no me envíen más mensajes",
    "no me envíen mensajes",
    "no quiero más mensajes",
    "ya no quiero mensajes",
    "ya no quiero recibir mensajes",
    "dejen de mandarme mensajes",
    "dejen de enviarme mensajes",
    "dejen de escribirme",
    "no me escriban más",
    "no más mensajes",
    "no más textos",
    "baja",
    "darme de baja",
    "dame de baja",
    "denme de baja",
    "quiero darme de baja",
)

# Polite words trimmed from either end before matching ("please stop", "stop thanks").
FILLERS = (
    ("please",),
    ("pls",),
    ("plz",),
    ("just",),
    ("ok",),
    ("okay",),
    ("now",),
    ("thanks",),
    ("thank", "you"),
    ("thx",),
    ("ty",),
    ("anymore",),
    ("any", "more"),
    ("por", "favor"),
    ("porfavor",),
    ("porfa",),
    ("gracias",),
)


def _key(text: str) -> str:
    """The text normalised, apostrophes dropped ("don't" is "dont") and fillers trimmed."""
    words = normalise(text.replace("'", "").replace("\u2019", "")).split()
    trimmed = True
    while trimmed:
        trimmed = False
        for filler in FILLERS:
            size = len(filler)
            if len(words) > size and tuple(words[:size]) == filler:
                words, trimmed = words[size:], True
            if len(words) > size and tuple(words[-size:]) == filler:
                words, trimmed = words[:-size], True
    return " ".join(words)


_ENGLISH_OPT_OUT_KEYS = frozenset(_key(phrase) for phrase in ENGLISH_OPT_OUTS)
_SPANISH_OPT_OUT_KEYS = frozenset(_key(phrase) for phrase in SPANISH_OPT_OUTS)
_SPANISH_WORDS = frozenset({"parar", "ayuda", "si"})
_SHARED_WORDS = frozenset({"info", "y"})  # used alike by English and Spanish speakers


def classify(text: str, opted_out: bool = False) -> str | None:
    """Return "stop", "start", "help" or None for an inbound text.

    `opted_out` says whether the sender is opted out now: only then does YES opt back in.
    """
    key = _key(text)
    words = key.split()
    if words and all(word in STOP_WORDS for word in words):  # "STOP", "stop stop stop"
        return "stop"
    if key in _ENGLISH_OPT_OUT_KEYS or key in _SPANISH_OPT_OUT_KEYS:
        return "stop"
    if key in START_WORDS or (opted_out and key in YES_WORDS):
        return "start"
    if key in HELP_WORDS:
        return "help"
    return None


def language_hint(text: str) -> str | None:
    """The language of a compliance word or phrase: "es", "en", or None.

    None for any other text, and for INFO and Y, which both languages use.
    """
    key = _key(text)
    if key in _SPANISH_WORDS or key in _SPANISH_OPT_OUT_KEYS:
        return "es"
    if key in _SHARED_WORDS:
        return None
    keywords = STOP_WORDS | START_WORDS | YES_WORDS | HELP_WORDS
    if key in keywords or key in _ENGLISH_OPT_OUT_KEYS:
        return "en"
    return None
