"""Plan what a call says and gathers for one engine step; the edge builds the TwiML from it.

Each `Say` is spoken in its language's voice. A wait becomes a gather of keypad digits and
speech, always both (a free-text wait too, so 0 for crisis help is always heard): a menu is read
as "Press 1 for check in. Press 2 for talk to a peer." and, wherever 0 is not itself an answer,
"Press 0 at any time for crisis help." The edge should put the says inside the `<Gather>` so a
caller can answer before the end, and hang up when `hangup` is set.
"""

from __future__ import annotations

from dataclasses import dataclass

from smsline.engine.answers import accepts_zero
from smsline.engine.format import Flow, Wait
from smsline.engine.run import Ask, Context, Ended, Say, Step

LANGUAGE_TAGS = {"en": "en-US", "es": "es-US"}
GATHER_SECONDS = 5  # seconds of silence before the gather gives up (Twilio's default)

WORDS = {
    "en": {
        "press": "Press {digit} for {label}.",
        "yesno": "Press 1 for yes. Press 2 for no.",
        "crisis": "Press 0 at any time for crisis help.",
        "yes": "yes",
        "no": "no",
    },
    "es": {
        "press": "Marca {digit} para {label}.",
        "yesno": "Marca 1 para sí. Marca 2 para no.",
        "crisis": "Marca 0 en cualquier momento para ayuda en crisis.",
        "yes": "sí",
        "no": "no",
    },
}
LANGUAGE_MENU = (("Press 1 for English.", "en-US"), ("Marque 2 para español.", "es-US"))


@dataclass(frozen=True)
class Gather:
    """A `<Gather>`: what it listens for, how many keys end it, silence allowed, speech hints."""

    input: str = "dtmf speech"
    num_digits: int | None = None
    timeout_s: int = GATHER_SECONDS
    language: str = "en-US"
    hints: tuple[str, ...] = ()


@dataclass(frozen=True)
class VoicePlan:
    """What to say (text, language tag) in order, what to gather after, and whether to hang up."""

    says: tuple[tuple[str, str], ...]
    gather: Gather | None
    hangup: bool


def language_tag(language: str) -> str:
    """The voice language for a flow language: en-US, es-US."""
    return LANGUAGE_TAGS.get(language, "en-US")


def plan(step: Step, flow: Flow, context: Context) -> VoicePlan:
    """Turn a step's effects into what the call says and gathers next."""
    says: list[tuple[str, str]] = []
    gather = None
    for effect in step.effects:
        if isinstance(effect, Say):
            says.append((effect.text, language_tag(effect.language)))
        elif isinstance(effect, Ask):
            says.extend(_menu(effect.wait, effect.language, flow.default_language))
            gather = _gather(effect.wait, effect.language, flow.default_language)
    ended = next((effect for effect in step.effects if isinstance(effect, Ended)), None)
    hangup = ended is not None and ended.reason != "start_flow"
    return VoicePlan(tuple(says), gather, hangup)


def _words(language: str) -> dict[str, str]:
    return WORDS.get(language, WORDS["en"])


def _menu(wait: Wait, language: str, default_language: str) -> list[tuple[str, str]]:
    """What is read out for a wait besides the state's own text."""
    words, tag = _words(language), language_tag(language if language in WORDS else "en")
    lines: list[tuple[str, str]] = []
    if wait.answer == "choice":
        for option in wait.options:
            label = option.label.get(language) or option.label.get(default_language) or option.value
            lines.append((words["press"].format(digit=option.digit, label=label), tag))
    elif wait.answer == "yesno":
        lines.append((words["yesno"], tag))
    elif wait.answer == "language":
        lines.extend(LANGUAGE_MENU)
    if not accepts_zero(wait):
        lines.append((words["crisis"], tag))
    return lines


def _gather(wait: Wait, language: str, default_language: str) -> Gather:
    """How to listen for the answer: keys to expect and words to help speech recognition."""
    words = _words(language)
    num_digits = None
    hints: tuple[str, ...] = ()
    if wait.answer == "choice":
        num_digits = 1
        hints = tuple(
            dict.fromkeys(
                hint
                for option in wait.options
                for hint in (
                    option.label.get(language) or option.label.get(default_language) or "",
                    *option.words.get(language, ()),
                )
                if hint
            )
        )
    elif wait.answer in ("yesno", "language"):
        num_digits = 1
        hints = (words["yes"], words["no"]) if wait.answer == "yesno" else ("English", "español")
    elif wait.answer == "zip":
        num_digits = 5
    elif wait.answer == "number" and wait.min is not None and wait.max is not None:
        if 0 <= wait.min and wait.max <= 9:
            num_digits = 1
    skip = wait.skip.get(language) or wait.skip.get(default_language) or ()
    hints = tuple(dict.fromkeys((*hints, *skip)))
    # Keys and speech on every gather, a free-text one too: 0 is crisis help wherever it is
    # not itself an answer, so the keypad must always be heard.
    return Gather("dtmf speech", num_digits, GATHER_SECONDS, language_tag(language), hints)
