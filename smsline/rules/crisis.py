"""Crisis language in an inbound text: suicide, self-harm, overdose (English and Spanish).

Every inbound text is checked here first, whatever else it means. The check is plain phrase
matching on a normalised text (lowercase, accents stripped, punctuation read as spaces, whitespace
collapsed) at word boundaries, so "od" matches "OD" and "he's od'ing" but not "good", "food" or
"odd", and "kms" never matches inside another word.

The line errs toward sending resources when unsure: a needless 988 text costs a moment of
awkwardness; a missed one can cost a life. So phrases that are usually but not always crisis
("hurt myself", "kms", "od", "suicide") are on the list, and the matches they cause by mistake
are written down in KNOWN_FALSE_POSITIVES. What stays off the list is everyday idiom where the
crisis word is figurative and nearly never literal: "kill for a coffee", "killing me", "dying
to", "dead tired", "my phone died", "me muero de risa", "me mata el tráfico" (NOT_CRISIS_EXAMPLES).

"I'm dead lol" is not a crisis: "dead" alone is the commonest text-speak for laughing, and the
first-person wishes that are crisis language ("wish I was dead", "better off dead") are phrases
of their own. Recovery talk ("I can't stop using", "I stopped using") is not a crisis either: it
is what the line is for, and the conversation answers it.

When a text holds phrases of several kinds, overdose wins (the reply leads with 911 and
naloxone), then suicide, then self-harm.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# The order of KINDS is the priority when a text matches more than one kind.
KINDS = ("overdose", "suicide", "self_harm")

OVERDOSE_PHRASES_EN = (
    "overdose",
    "overdosing",
    "overdosed",
    "over dose",
    "over dosing",
    "over dosed",
    "od",
    "o.d.",
    "oding",
    "oded",
    "took too many pills",
    "taken too many pills",
    "too many pills",
    "not breathing",
    "isn't breathing",
    "stopped breathing",
    "can't wake him up",
    "can't wake her up",
    "can't wake them up",
    "won't wake up",
    "turning blue",
    "lips are blue",
)
OVERDOSE_PHRASES_ES = (
    "sobredosis",
    "no respira",
    "no está respirando",
    "dejó de respirar",
    "no despierta",
    "no se despierta",
    "me tomé todas las pastillas",
    "demasiadas pastillas",
)
OVERDOSE_PHRASES = OVERDOSE_PHRASES_EN + OVERDOSE_PHRASES_ES

SUICIDE_PHRASES_EN = (
    "suicide",
    "suicidal",
    "sucide",
    "suicde",
    "suiside",
    "sucidal",
    "suicidel",
    "want to die",
    "wanna die",
    "wana die",
    "want 2 die",
    "wants to die",
    "wish i was dead",
    "wish i were dead",
    "better off dead",
    "better off without me",
    "kill myself",
    "kil myself",
    "kill my self",
    "killmyself",
    "killing myself",
    "kms",
    "unalive myself",
    "end it all",
    "ending it all",
    "end my life",
    "ending my life",
    "take my own life",
    "take my life",
    "no reason to live",
    "nothing to live for",
    "don't want to live",
    "don't want to be alive",
    "don't want to wake up",
    "don't want to be here anymore",
    "hang myself",
    "jump off a bridge",
    "jump off the bridge",
    "shoot myself",
    "slit my wrists",
)
SUICIDE_PHRASES_ES = (
    "quiero morir",
    "me quiero morir",
    "quiero morirme",
    "me quiero matar",
    "quiero matarme",
    "matarme",
    "suicidarme",
    "suicidio",
    "suicida",
    "no quiero vivir",
    "no quiero seguir viviendo",
    "acabar con mi vida",
    "quitarme la vida",
    "mejor muerto",
    "mejor muerta",
    "no tengo razón para vivir",
    "sin razón para vivir",
    "ahorcarme",
    "cortarme las venas",
    "me corto las venas",
)
SUICIDE_PHRASES = SUICIDE_PHRASES_EN + SUICIDE_PHRASES_ES

SELF_HARM_PHRASES_EN = (
    "self harm",
    "selfharm",
    "self harming",
    "cut myself",
    "cutting myself",
    "cut my self",
    "hurt myself",
    "hurting myself",
    "harm myself",
    "harming myself",
    "burn myself",
    "burning myself",
)
SELF_HARM_PHRASES_ES = (
    "cortarme",
    "hacerme daño",
    "lastimarme",
    "autolesión",
    "autolesionarme",
    "herirme",
)
SELF_HARM_PHRASES = SELF_HARM_PHRASES_EN + SELF_HARM_PHRASES_ES


# A crisis reply goes back in the language the person wrote in.
SPANISH_PHRASES = frozenset(OVERDOSE_PHRASES_ES + SUICIDE_PHRASES_ES + SELF_HARM_PHRASES_ES)

# Everyday idiom and recovery talk that must never read as crisis.
NOT_CRISIS_EXAMPLES = (
    "I could kill for a coffee",
    "this traffic is killing me",
    "that joke killed me",
    "I'm dying to see you",
    "dead tired",
    "my phone died",
    "I'm dead lol",
    "kill the lights",
    "good food",
    "odd day",
    "odds are good",
    "I stopped using",
    "I can't stop using",
    "dying of laughter",
    "I'm killing it at work",
    "just killing time",
    "me muero de risa",
    "me muero de hambre",
    "me mata el tráfico",
    "vamos a matar el tiempo",
)

# Texts that match on purpose although they are probably not a crisis: the price of erring
# toward resources. Each costs a needless resources text and a page.
KNOWN_FALSE_POSITIVES = (
    "I hurt myself at the gym",
    "ran 5 kms today",
    "my sister is an O.D., an optometrist",
    "watching Suicide Squad tonight",
    "I take too many pills for my heart",
    "voy a cortarme el pelo",
)


@dataclass(frozen=True)
class CrisisMatch:
    """A crisis phrase found in a text."""

    kind: str  # "suicide" | "self_harm" | "overdose"
    phrase: str  # the list entry that matched

    @property
    def language(self) -> str | None:
        """ "es" for a Spanish phrase, None when the phrase says nothing about the language."""
        return "es" if self.phrase in SPANISH_PHRASES else None


# ASCII text (most texts) normalised by one table: lowercase letters and digits kept, everything
# else a space; the same result as the general way below, in a tenth of the time.
_ASCII_TABLE = {code: (chr(code).lower() if chr(code).isalnum() else " ") for code in range(128)}


def normalise(text: str) -> str:
    """Lowercase, strip accents, read punctuation as spaces and collapse whitespace."""
    if text.isascii():
        return " ".join(text.translate(_ASCII_TABLE).split())
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept: list[str] = []
    for char in decomposed:
        if unicodedata.combining(char):
            continue
        kept.append(char if char.isalnum() else " ")
    return " ".join("".join(kept).split())


def _forms(phrase: str) -> tuple[str, ...]:
    """The normalised forms of a phrase: "can't" matches both "can't" and "cant"."""
    forms = {normalise(phrase), normalise(phrase.replace("'", "").replace("\u2019", ""))}
    return tuple(form for form in forms if form)


def _extra_rule(entry: str) -> tuple[str, str]:
    """Split a coordinator's phrase into (kind, phrase); "overdose: fent" is an overdose phrase."""
    prefix, colon, rest = entry.partition(":")
    if colon and prefix.strip().lower() in KINDS:
        return prefix.strip().lower(), rest.strip()
    return "suicide", entry.strip()


def _rules(entries: Iterable[tuple[str, str]]) -> list[tuple[str, str, tuple[str, ...]]]:
    """(kind, phrase, forms) for each entry, leaving out phrases that normalise to nothing."""
    rules: list[tuple[str, str, tuple[str, ...]]] = []
    for kind, phrase in entries:
        forms = _forms(phrase)
        if forms:
            rules.append((kind, phrase, forms))
    return rules


_BUILT_IN = _rules(
    [("overdose", phrase) for phrase in OVERDOSE_PHRASES]
    + [("suicide", phrase) for phrase in SUICIDE_PHRASES]
    + [("self_harm", phrase) for phrase in SELF_HARM_PHRASES]
)


def detect(text: str, extra_phrases: Iterable[str] = ()) -> CrisisMatch | None:
    """Return the crisis phrase in `text`, or None.

    With several matches the most urgent kind wins (overdose, suicide, self-harm), and within a
    kind the longest phrase, so "me quiero morir" reports itself rather than "quiero morir".
    """
    padded = f" {normalise(text)} "
    rules, by_first_word = _indexed(tuple(extra_phrases))
    # Only rules with a form starting with one of the text's words can match; checked in list order.
    candidates = {index for word in padded.split() for index in by_first_word.get(word, ())}
    best: CrisisMatch | None = None
    for index in sorted(candidates):
        kind, phrase, forms = rules[index]
        if not any(f" {form} " in padded for form in forms):
            continue
        match = CrisisMatch(kind=kind, phrase=phrase)
        if best is None or _rank(match) < _rank(best):
            best = match
    return best


@functools.lru_cache(maxsize=8)
def _indexed(
    extra_phrases: tuple[str, ...],
) -> tuple[list[tuple[str, str, tuple[str, ...]]], dict[str, tuple[int, ...]]]:
    """The built-in rules and the extra phrases' (a setting, so few distinct lists), and which
    rules have a form beginning with each word."""
    rules = _BUILT_IN + _rules(_extra_rule(entry) for entry in extra_phrases)
    by_first_word: dict[str, list[int]] = {}
    for index, (_, _, forms) in enumerate(rules):
        for form in forms:
            by_first_word.setdefault(form.split(" ", 1)[0], []).append(index)
    return rules, {word: tuple(indexes) for word, indexes in by_first_word.items()}


def _rank(match: CrisisMatch) -> tuple[int, int]:
    return KINDS.index(match.kind), -len(match.phrase)
