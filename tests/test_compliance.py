"""Compliance keywords: STOP, START, HELP, plain-language opt-outs and what is not one."""

from __future__ import annotations

import pytest

from smsline.rules.compliance import (
    ENGLISH_OPT_OUTS,
    HELP_WORDS,
    SPANISH_OPT_OUTS,
    START_WORDS,
    STOP_WORDS,
    classify,
    language_hint,
)


def _dressed(word: str) -> list[str]:
    """A keyword as people send it: any case, spaces, punctuation, an emoji."""
    return [
        word.lower(),
        word.upper(),
        word.capitalize(),
        f"  {word} ",
        f"{word}.",
        f" {word.lower()}!! ",
        f"{word.upper()}!!!",
        f"{word} 🙏",
        f'"{word}"',
        f"{word}\n",
    ]


KEYWORD_STOP = [
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
    "PARAR",
]


def test_exported_word_sets() -> None:
    assert {w.lower() for w in KEYWORD_STOP} == STOP_WORDS
    assert START_WORDS == {"start", "unstop"}
    assert HELP_WORDS == {"help", "info", "ayuda"}
    assert all(isinstance(s, frozenset) for s in (STOP_WORDS, START_WORDS, HELP_WORDS))


@pytest.mark.parametrize("text", [form for word in KEYWORD_STOP for form in _dressed(word)])
def test_stop_keywords(text: str) -> None:
    assert classify(text) == "stop"
    assert classify(text, opted_out=True) == "stop"


@pytest.mark.parametrize(
    "text", ["stop stop stop", "STOP. STOP!", "stop unsubscribe", "please stop", "Stop please!"]
)
def test_repeated_or_polite_stop(text: str) -> None:
    assert classify(text) == "stop"


PLAIN_OPT_OUTS = [
    "please stop texting me",
    "Stop texting me",
    "stop sending me messages",
    "no more texts",
    "No more messages.",
    "unsubscribe me",
    "take me off your list",
    "don't text me anymore",
    "dont text me anymore",
    "Don’t text me anymore!",
    "please stop",
    "no me manden mas mensajes",
    "no me manden más mensajes",
    "No me manden más mensajes por favor",
    "ya no quiero mensajes",
    "dejen de mandarme mensajes",
    "no mas mensajes",
    "no más textos",
    "baja",
    "BAJA",
    "opt out",
    "stop texting me, thanks",
    "Please take me off your list. Thank you",
]


@pytest.mark.parametrize("text", PLAIN_OPT_OUTS)
def test_plain_language_opt_outs(text: str) -> None:
    assert classify(text) == "stop"


@pytest.mark.parametrize("text", ENGLISH_OPT_OUTS + SPANISH_OPT_OUTS)
def test_every_listed_opt_out_phrase(text: str) -> None:
    assert classify(text) == "stop"
    assert classify(text.upper() + "!") == "stop"


NOT_OPT_OUTS = [
    "I can't stop using",
    "I cant stop using",
    "I want to stop drinking",
    "stop drinking is hard",
    "how do I stop cravings",
    "I stopped using 30 days ago",
    "don't stop texting me",
    "please don't stop texting me",
    "the end",
    "end of my rope",
    "I'm at the end of my rope",
    "stop it",
    "stopping",
    "stopped",
    "cancel my reminder",
    "it's the end of the world",
    "I quit drinking today",
    "no quiero parar de recibir mensajes",
    "no puedo parar de consumir",
    "necesito ayuda",
    "help me",
    "I need help",
    "start over",
    "hello",
    "",
    "   ",
    "🙏",
    "please",
    "thanks",
]


@pytest.mark.parametrize("text", NOT_OPT_OUTS)
def test_not_opt_outs(text: str) -> None:
    assert classify(text) != "stop"
    assert classify(text, opted_out=True) != "stop"


@pytest.mark.parametrize(
    "text", ["I can't stop using", "end of my rope", "don't stop texting me", "hello", ""]
)
def test_not_a_keyword_at_all(text: str) -> None:
    assert classify(text) is None
    assert classify(text, opted_out=True) is None


@pytest.mark.parametrize("text", [form for word in ["START", "UNSTOP"] for form in _dressed(word)])
def test_start_keywords(text: str) -> None:
    assert classify(text) == "start"
    assert classify(text, opted_out=True) == "start"


@pytest.mark.parametrize(
    "text", ["YES", "yes", "Yes!", "Y", "y.", "SI", "si", "Sí", "SÍ", " sí! ", "yes please"]
)
def test_yes_opts_in_only_when_opted_out(text: str) -> None:
    assert classify(text, opted_out=True) == "start"
    assert classify(text, opted_out=False) is None
    assert classify(text) is None


@pytest.mark.parametrize("text", ["yes I want to", "yeah", "yess", "sip", "si claro"])
def test_longer_yes_is_not_start(text: str) -> None:
    assert classify(text, opted_out=True) is None


@pytest.mark.parametrize(
    "text", [form for word in ["HELP", "INFO", "AYUDA"] for form in _dressed(word)]
)
def test_help_keywords(text: str) -> None:
    assert classify(text) == "help"
    assert classify(text, opted_out=True) == "help"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PARAR", "es"),
        ("parar!", "es"),
        ("Ayuda", "es"),
        ("sí", "es"),
        ("no me manden más mensajes", "es"),
        ("ya no quiero mensajes", "es"),
        ("baja", "es"),
        ("dejen de mandarme mensajes", "es"),
        ("STOP", "en"),
        ("stopall", "en"),
        ("Unsubscribe", "en"),
        ("cancel", "en"),
        ("END", "en"),
        ("quit", "en"),
        ("revoke", "en"),
        ("optout", "en"),
        ("START", "en"),
        ("unstop", "en"),
        ("yes", "en"),
        ("HELP", "en"),
        ("please stop texting me", "en"),
        ("don't text me anymore", "en"),
        ("INFO", None),
        ("Y", None),
        ("hola", None),
        ("I can't stop using", None),
        ("", None),
    ],
)
def test_language_hint(text: str, expected: str | None) -> None:
    assert language_hint(text) == expected


@pytest.mark.parametrize("text", SPANISH_OPT_OUTS)
def test_every_spanish_opt_out_hints_spanish(text: str) -> None:
    assert language_hint(text) == "es"


@pytest.mark.parametrize("text", ENGLISH_OPT_OUTS)
def test_every_english_opt_out_hints_english(text: str) -> None:
    assert language_hint(text) == "en"
