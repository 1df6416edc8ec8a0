"""Read a reply (a text, keypad digits or speech as text) as the answer a wait asks for.

Matching ignores case, accents, punctuation and a few polite fillers at either end ("yes
please", "no gracias", "I want to check in"), and accepts English and Spanish whatever the
member's language, so "sí" works for an English speaker and "two" for a Spanish one.

Time of day without am/pm: 1 to 6 is afternoon or evening (a check-in at 5 is 17:00), 7 to 11
is morning, 12 is noon, 0 and 13 to 23 are read as 24-hour times.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from smsline.engine.format import Option, Wait

MAX_REPLY = 200  # longer replies are never a choice, number, time, ZIP or language

NUMBER_WORDS = {
    **{word: n for n, word in enumerate("zero one two three four five six seven eight nine ten".split())},
    **{word: n for n, word in enumerate("cero uno dos tres cuatro cinco seis siete ocho nueve diez".split())},
    "una": 1,
    "eleven": 11,
    "twelve": 12,
    "once": 11,
    "doce": 12,
}  # fmt: skip
COUNT_WORDS = {word: n for word, n in NUMBER_WORDS.items() if n <= 10}

YES = frozenset(
    {"y", "yes", "yeah", "yea", "yep", "yup", "ya", "ok", "okay", "k", "sure", "of course",
     "yes i do", "i do", "1", "si", "claro", "vale", "dale", "bueno", "por supuesto", "si quiero"}
)  # fmt: skip
NO = frozenset(
    {"n", "no", "nope", "nah", "not now", "no thanks", "2", "ahora no", "no quiero"}
)  # fmt: skip

ENGLISH = frozenset({"1", "en", "english", "ingles", "in english", "en ingles"})
SPANISH = frozenset({"2", "es", "spanish", "espanol", "castellano", "in spanish", "en espanol"})

LEADING_FILLERS = (
    "i want to", "i would like to", "id like to", "i wanna", "i want", "i would like", "id like",
    "quiero", "me gustaria", "press", "option", "number", "marca", "marco", "opcion", "numero",
    "um", "uh", "eh", "oh", "well", "pues",
)  # fmt: skip
TRAILING_FILLERS = (
    "please", "pls", "plz", "thanks", "thank you", "thankyou", "thx", "por favor", "gracias",
    "porfa", "now", "ahora",
)  # fmt: skip

NOON = frozenset({"noon", "midday", "12 noon", "mediodia", "medio dia", "al mediodia"})
MIDNIGHT = frozenset({"midnight", "12 midnight", "medianoche", "media noche"})
AM = frozenset(
    {"am", "a m", "a", "morning", "in the morning", "de la manana", "en la manana",
     "por la manana", "de la madrugada", "de manana"}
)  # fmt: skip
PM = frozenset(
    {"pm", "p m", "p", "afternoon", "evening", "in the afternoon", "in the evening",
     "de la tarde", "en la tarde", "por la tarde"}
)  # fmt: skip
NIGHT = frozenset({"at night", "tonight", "night", "de la noche", "en la noche", "por la noche"})
MINUTE_WORDS = {"y media": 30, "thirty": 30, "and a half": 30, "y cuarto": 15, "fifteen": 15,
                "forty five": 45, "y cuarenta y cinco": 45}  # fmt: skip
HOUR_WORDS = {word: n for word, n in NUMBER_WORDS.items() if 1 <= n <= 12}

TIME_DIGITS = re.compile(r"^([0-9]{1,2})(?:[:.h]([0-9]{2}))?(?:\s*(.*))?$")
TIME_COMPACT = re.compile(r"^([0-9]{3,4})(?:\s*(.*))?$")
ZIP = re.compile(r"^([0-9]{5})(?:-?([0-9]{4}))?$")
WHOLE = re.compile(r"^(-?[0-9]{1,9})$")
OUT_OF = re.compile(r"^([0-9]{1,9})\s*(?:/|out of|of|de|sobre)\s*[0-9]{1,9}$")


@dataclass(frozen=True)
class Answer:
    """A reply read against a wait: `ok` with the value to save, or why it did not fit."""

    ok: bool
    value: Any = None
    reason: str | None = None  # empty, no_match, out_of_range, too_long, unknown_zip
    skipped: bool = False  # ok, but one of the wait's skip words: no answer to save


def parse(wait: Wait, text: str, language: str) -> Answer:
    """Read `text` as the answer `wait` asks for, in `language` first, then any other.

    A reply that is one of the wait's `skip` words (in any language) is ok and `skipped`.
    """
    text = text if isinstance(text, str) else ""
    if not text.strip():
        return Answer(False, reason="empty")
    if wait.skip and len(text) <= MAX_REPLY and is_skip(wait, text):
        return Answer(True, skipped=True)
    if wait.answer == "text":
        return _text(wait, text)
    if len(text) > MAX_REPLY:
        return Answer(False, reason="no_match")
    reader = READERS.get(wait.answer)
    if reader is None:
        return Answer(False, reason="no_match")
    return reader(wait, text, language)


def accepts_zero(wait: Wait) -> bool:
    """Whether 0 is itself an answer (a number from 0 to 10); if not, 0 on a call is crisis help."""
    return wait.answer == "number" and wait.min is not None and wait.min <= 0 <= (wait.max or 0)


def is_skip(wait: Wait, text: str) -> bool:
    """Whether `text` is one of the wait's skip words ("skip", "paso", "skip please")."""
    words = skip_words(wait)
    return bool(words) and any(form in words for form in _forms(text))


def skip_words(wait: Wait) -> frozenset[str]:
    """The wait's skip words in every language, normalised."""
    return frozenset(
        form for words in wait.skip.values() for word in words if (form := normalise(word))
    )


@functools.lru_cache(maxsize=4096)  # a choice normalises every option's words on each reply
def normalise(text: str) -> str:
    """Lowercase, no accents, apostrophes dropped, other punctuation read as spaces."""
    text = text.replace("👍", " yes ").replace("👎", " no ")
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = []
    for char in decomposed:
        if unicodedata.combining(char) or char in "'’`":
            continue
        kept.append(char if char.isalnum() else " ")
    return " ".join("".join(kept).split())


def without_fillers(text: str) -> str:
    """Drop polite fillers at either end of a normalised text ("yes please" is "yes")."""
    changed = True
    while changed and text:
        changed = False
        for filler in LEADING_FILLERS:
            if text.startswith(filler + " "):
                text, changed = text[len(filler) + 1 :], True
        for filler in TRAILING_FILLERS:
            if text.endswith(" " + filler):
                text, changed = text[: -len(filler) - 1], True
    return text


def _forms(text: str) -> tuple[str, ...]:
    """The normalised reply, then without fillers (when that differs)."""
    plain = normalise(text)
    short = without_fillers(plain)
    return (plain, short) if short != plain else (plain,)


def _text(wait: Wait, text: str) -> Answer:
    text = text.strip()
    if len(text) > wait.max_length:
        return Answer(False, reason="too_long")
    return Answer(True, text)


def _choice(wait: Wait, text: str, language: str) -> Answer:
    """An option's digit (or the digit said as a word), value, label or one of its words."""
    for form in _forms(text):
        if form in COUNT_WORDS:
            form = str(COUNT_WORDS[form])
        for option in wait.options:
            if form == str(option.digit):
                return Answer(True, option.value)
        for words_language in _languages_first(wait, language):
            for option in wait.options:
                if form in _option_words(option, words_language):
                    return Answer(True, option.value)
    return Answer(False, reason="no_match")


def _languages_first(wait: Wait, language: str) -> list[str]:
    """The member's language first, then the other languages the options are written in."""
    others = {lang for option in wait.options for lang in (*option.label, *option.words)}
    return [language, *sorted(others - {language})]


def _option_words(option: Option, language: str) -> set[str]:
    """What names an option in a language: its value, its label and its words, normalised."""
    words = {normalise(option.value)}
    if language in option.label:
        words.add(normalise(option.label[language]))
    words.update(normalise(word) for word in option.words.get(language, ()))
    return words - {""}


def _number(wait: Wait, text: str, language: str) -> Answer:
    """A whole number ("7", "7/10", "seven", "siete") from min to max."""
    value = read_number(text)
    if value is None:
        return Answer(False, reason="no_match")
    if (wait.min is not None and value < wait.min) or (wait.max is not None and value > wait.max):
        return Answer(False, value, reason="out_of_range")
    return Answer(True, value)


def read_number(text: str) -> int | None:
    """A whole number written in digits, as "n/10", or as a word from zero to ten."""
    raw = text.strip().rstrip(".!?")
    for candidate in (raw, raw.lower()):
        match = WHOLE.match(candidate) or OUT_OF.match(candidate)
        if match:
            return int(match.group(1))
    for form in _forms(text):
        if form in COUNT_WORDS:
            return COUNT_WORDS[form]
        if WHOLE.match(form):
            return int(form)
    return None


def _yesno(wait: Wait, text: str, language: str) -> Answer:
    """Yes or no in English or Spanish, with fillers ("yes please", "no gracias")."""
    for form in _forms(text):
        if form in YES:
            return Answer(True, True)
        if form in NO:
            return Answer(True, False)
        words = form.split()
        if len(words) > 1 and all(word in YES for word in words):
            return Answer(True, True)
        if len(words) > 1 and all(word in NO for word in words):
            return Answer(True, False)
    return Answer(False, reason="no_match")


def _language(wait: Wait, text: str, language: str) -> Answer:
    """English or Spanish, by number, name or code."""
    for form in _forms(text):
        if form in ENGLISH:
            return Answer(True, "en")
        if form in SPANISH:
            return Answer(True, "es")
    return Answer(False, reason="no_match")


def _zip(wait: Wait, text: str, language: str) -> Answer:
    """A US ZIP code that exists: its place and time zone, from the zipcodes package."""
    compact = re.sub(r"[\s.]", "", text)
    match = ZIP.match(compact)
    if match is None:
        return Answer(False, reason="no_match")
    import zipcodes  # loads its table on first use, not at import

    found = zipcodes.matching(match.group(1))
    if not found:
        return Answer(False, match.group(1), reason="unknown_zip")
    place = found[0]
    return Answer(
        True,
        {
            "zip": match.group(1),
            "city": place.get("city"),
            "state": place.get("state"),
            "timezone": place.get("timezone") or None,
        },
    )


def _time(wait: Wait, text: str, language: str) -> Answer:
    """A time of day as "HH:MM"; see the module docstring for times without am/pm."""
    value = read_time(text)
    if value is None:
        return Answer(False, reason="no_match")
    return Answer(True, value)


def read_time(text: str) -> str | None:
    """Read "9", "9am", "9:30 pm", "21:30", "noon", "nueve", "9 de la noche" as "HH:MM"."""
    form = _time_form(text)
    if form in NOON:
        return "12:00"
    if form in MIDNIGHT:
        return "00:00"
    hour = minute = None
    suffix = ""
    if form == "0":
        return None  # a bare 0 is not a time (and on a call it asks for crisis help)
    if match := TIME_COMPACT.match(form):
        number, suffix = int(match.group(1)), match.group(2) or ""
        hour, minute = divmod(number, 100)
    elif match := TIME_DIGITS.match(form):
        hour, minute, suffix = int(match.group(1)), int(match.group(2) or 0), match.group(3) or ""
    else:
        hour, minute, suffix = _time_words(form)
    if hour is None or minute is None:
        return None
    return _clock(hour, minute, suffix.strip())


@dataclass(frozen=True)
class Window:
    """A daily window of local time from `opens` (included) to `closes` (excluded), both "HH:MM";
    it may run past midnight, and one that closes when it opens is the whole day. In conditions,
    `checkin_time in texting_window` holds for a time inside it."""

    opens: str
    closes: str

    def __contains__(self, at: object) -> bool:
        if not isinstance(at, str):
            return False
        if self.opens < self.closes:
            return self.opens <= at < self.closes
        return at >= self.opens or at < self.closes


def show_time(at: str) -> str:
    """ "HH:MM" as people write it in a text: "9am", "8:30pm", "12pm" (the same in Spanish, as in
    our examples "9am o 7:30pm")."""
    try:
        hour, minute = (int(part) for part in at.split(":"))
    except (AttributeError, ValueError):
        return ""
    suffix = "am" if hour < 12 else "pm"
    hour = hour % 12 or 12
    return f"{hour}{suffix}" if minute == 0 else f"{hour}:{minute:02d}{suffix}"


def _time_form(text: str) -> str:
    """A reply made ready for reading a time: lowercase, no accents, no filler words."""
    form = unicodedata.normalize("NFKD", text.casefold())
    form = "".join(char for char in form if not unicodedata.combining(char))
    form = re.sub(r"[^\w:.\s]", " ", form)
    form = re.sub(r"\b([ap])\.\s*m\b\.?", r"\1m", form)  # a.m. / p.m.
    form = " ".join(
        form.replace("o clock", "").replace("oclock", "").replace("en punto", "").split()
    )
    form = form.rstrip(".")
    for lead in ("around ", "about ", "at ", "a las ", "a la ", "como a las ", "tipo "):
        if form.startswith(lead):
            form = form[len(lead) :]
    return form


def _time_words(form: str) -> tuple[int | None, int | None, str]:
    """An hour said in words, optionally "y media"/"thirty", then a part of the day."""
    for word, hour in HOUR_WORDS.items():
        if form == word or form.startswith(word + " "):
            rest = form[len(word) :].strip()
            for minute_words, minute in MINUTE_WORDS.items():
                if rest == minute_words or rest.startswith(minute_words + " "):
                    return hour, minute, rest[len(minute_words) :]
            return hour, 0, rest
    return None, None, ""


def _clock(hour: int, minute: int, suffix: str) -> str | None:
    """24-hour "HH:MM" from an hour, minutes and a part of the day (or none)."""
    if minute > 59:
        return None
    if suffix in AM:
        if not 1 <= hour <= 12:
            return None
        hour = 0 if hour == 12 else hour
    elif suffix in PM:
        if 1 <= hour <= 11:
            hour += 12
        elif hour not in (12, *range(13, 24)):
            return None
    elif suffix in NIGHT:
        if not 1 <= hour <= 12:
            return None
        hour = 0 if hour == 12 else hour if hour <= 4 else hour + 12
    elif suffix:
        return None
    elif 1 <= hour <= 6:
        hour += 12
    elif hour > 23:
        return None
    return f"{hour:02d}:{minute:02d}"


def reprompt(
    wait: Wait,
    language: str,
    reason: str | None = None,
    channel: str = "sms",
    default_language: str = "en",
) -> str:
    """A short, friendly line saying what would fit, in `language` (English if we have none).

    On a call, a menu's re-prompt (a choice, yes/no or language) is only "Sorry, I didn't catch
    that.": the options are read again with the gather (see voice.py), so they are heard once.
    """
    words = REPROMPTS.get(language, REPROMPTS["en"])
    kind = wait.answer
    if reason in ("too_long", "unknown_zip"):
        key = reason
    elif channel == "voice":
        key = f"{kind}_voice" if f"{kind}_voice" in words else "voice"
    else:
        key = kind
    if key == "choice":
        choices = ", ".join(
            words["choice_item"].format(
                digit=option.digit, label=_label(option, language, default_language)
            )
            for option in wait.options
        )
        return words["choice"].format(choices=choices)
    return words[key].format(min=wait.min, max=wait.max, max_length=wait.max_length)


def _label(option: Option, language: str, default_language: str) -> str:
    """An option's label in the language, else the default language, else its value."""
    return option.label.get(language) or option.label.get(default_language) or option.value


REPROMPTS = {
    "en": {
        "number": "Please reply with a number from {min} to {max}.",
        "number_voice": "Please say or press a number from {min} to {max}.",
        "choice": "Reply {choices}.",
        "choice_item": "{digit} for {label}",
        "yesno": "Please reply YES or NO.",
        "text": "Please reply with a few words.",
        "too_long": "Please keep it under {max_length} characters.",
        "time": "Please reply with a time, like 9am or 7:30pm.",
        "time_voice": "Please say a time, like nine a m or seven thirty p m.",
        "zip": "Please reply with your 5-digit ZIP code.",
        "zip_voice": "Please enter your 5 digit ZIP code on the keypad.",
        "unknown_zip": "I couldn't find that ZIP code. Please reply with your 5-digit ZIP code.",
        "language": "Reply 1 for English. Responde 2 para español.",
        "voice": "Sorry, I didn't catch that.",
    },
    "es": {
        "number": "Responde con un número del {min} al {max}.",
        "number_voice": "Di o marca un número del {min} al {max}.",
        "choice": "Responde {choices}.",
        "choice_item": "{digit} para {label}",
        "yesno": "Responde SÍ o NO.",
        "text": "Responde con unas palabras.",
        "too_long": "Escribe menos de {max_length} caracteres, por favor.",
        "time": "Responde con una hora, por ejemplo 9am o 7:30pm.",
        "time_voice": "Di una hora, por ejemplo nueve de la mañana.",
        "zip": "Responde con tu código postal de 5 dígitos.",
        "zip_voice": "Marca tu código postal de 5 dígitos en el teclado.",
        "unknown_zip": "No encontré ese código postal. Responde con tu código postal de 5 dígitos.",
        "language": "Reply 1 for English. Responde 2 para español.",
        "voice": "Perdón, no te entendí.",
    },
}


READERS = {
    "choice": _choice,
    "number": _number,
    "yesno": _yesno,
    "language": _language,
    "zip": _zip,
    "time": _time,
}
