"""Voice plans: what a call says and gathers for an engine step."""

from __future__ import annotations

import pytest

from smsline.engine.format import load
from smsline.engine.run import Context, CrisisOptions, Input, Position, Saved, start, step
from smsline.engine.voice import plan

MENU = load(
    {
        "flow": "voice_menu",
        "format": 1,
        "default_language": "en",
        "languages": ["en", "es"],
        "expires_after": "1h",
        "start": "menu",
        "states": {
            "menu": {
                "say": {"en": "Welcome to the line.", "es": "Bienvenido a la línea."},
                "wait": {
                    "answer": "choice",
                    "save": "choice",
                    "options": [
                        {
                            "value": "checkin",
                            "digit": 1,
                            "label": {"en": "check in", "es": "registrarte"},
                            "words": {"en": ["check in"], "es": ["registrar"]},
                        },
                        {
                            "value": "peer",
                            "digit": 2,
                            "label": {"en": "talk to a peer", "es": "hablar con un compañero"},
                        },
                    ],
                },
                "routes": [{"goto": "craving"}],
            },
            "craving": {
                "say": {"en": "Cravings, 0 to 10?", "es": "¿Antojos, del 0 al 10?"},
                "wait": {"answer": "number", "min": 0, "max": 10, "save": "craving"},
                "routes": [{"goto": "bye"}],
            },
            "bye": {"say": {"en": "Goodbye.", "es": "Adiós."}},
        },
    }
)


def test_a_choice_is_read_as_press_1_for() -> None:
    context = Context(channel="voice")
    voice = plan(start(MENU, context), MENU, context)
    assert voice.says == (
        ("Welcome to the line.", "en-US"),
        ("Press 1 for check in.", "en-US"),
        ("Press 2 for talk to a peer.", "en-US"),
        ("Press 0 at any time for crisis help.", "en-US"),
    )
    assert voice.gather is not None
    assert voice.gather.input == "dtmf speech" and voice.gather.num_digits == 1
    assert voice.gather.language == "en-US"
    assert "check in" in voice.gather.hints
    assert not voice.hangup


def test_spanish_voice() -> None:
    context = Context(language="es", channel="voice")
    voice = plan(start(MENU, context), MENU, context)
    assert voice.says[0] == ("Bienvenido a la línea.", "es-US")
    assert ("Marca 1 para registrarte.", "es-US") in voice.says
    assert voice.gather is not None and voice.gather.language == "es-US"


def test_zero_is_not_offered_for_crisis_where_it_is_an_answer() -> None:
    context = Context(channel="voice")
    result = step(MENU, Position("menu"), Input("text", "1"), context)
    voice = plan(result, MENU, context)
    assert all("crisis" not in text for text, _tag in voice.says)
    assert voice.gather is not None and voice.gather.num_digits is None  # 10 needs two keys


def test_the_end_of_a_flow_hangs_up() -> None:
    context = Context(channel="voice")
    result = step(MENU, Position("craving"), Input("text", "3"), context)
    voice = plan(result, MENU, context)
    assert voice.says == (("Goodbye.", "en-US"),)
    assert voice.gather is None and voice.hangup


# A wait of every kind, each with its own question, to check what a call hears and gathers.
KINDS = {
    "choice": {
        "answer": "choice",
        "options": [{"value": "peer", "digit": 1, "label": {"en": "a peer", "es": "un compañero"}}],
    },
    "number": {"answer": "number", "min": 1, "max": 5},
    "yesno": {"answer": "yesno"},
    "text": {"answer": "text", "skip": {"en": ["skip"], "es": ["paso"]}},
    "time": {"answer": "time"},
    "zip": {"answer": "zip"},
    "language": {"answer": "language"},
}
EVERY_KIND = load(
    {
        "flow": "every_kind",
        "format": 1,
        "default_language": "en",
        "languages": ["en", "es"],
        "expires_after": "1h",
        "start": "choice",
        "states": {
            kind: {
                "say": {"en": f"Your {kind}?", "es": f"¿Tu {kind}?"},
                "wait": {**wait, "save": f"{kind}_answer"},
            }
            for kind, wait in KINDS.items()
        },
    }
)


def test_a_free_text_wait_listens_for_keys_and_speech() -> None:
    """A free-text question still says "Press 0 at any time": the keypad must be heard."""
    context = Context(channel="voice")
    voice = plan(step(EVERY_KIND, Position("text"), Input("timeout"), context), EVERY_KIND, context)
    assert voice.says[-1] == ("Press 0 at any time for crisis help.", "en-US")
    assert voice.gather is not None
    assert voice.gather.input == "dtmf speech" and voice.gather.num_digits is None


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_gather_hears_keys_and_speech(kind: str) -> None:
    context = Context(channel="voice")
    voice = plan(step(EVERY_KIND, Position(kind), Input("timeout"), context), EVERY_KIND, context)
    assert voice.gather is not None and voice.gather.input == "dtmf speech"


def test_0_on_a_free_text_wait_is_crisis_help() -> None:
    context = Context(channel="voice")
    result = step(EVERY_KIND, Position("text"), Input("text", " 0 "), context)
    assert result.effects[0] == CrisisOptions()
    assert not any(isinstance(effect, Saved) for effect in result.effects)
    assert result.position == Position("text")


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("language", ["en", "es"])
def test_after_the_crisis_options_the_question_is_asked_again(kind: str, language: str) -> None:
    """0 gives the crisis options, then the state's text and, for a menu, its options: the
    caller hears the question again (not a try)."""
    context = Context(language=language, channel="voice")
    asked = plan(step(EVERY_KIND, Position(kind), Input("timeout"), context), EVERY_KIND, context)
    result = step(EVERY_KIND, Position(kind, tries=1), Input("text", "0"), context)
    assert result.effects[0] == CrisisOptions()
    assert result.position == Position(kind, tries=1)
    assert plan(result, EVERY_KIND, context).says == asked.says
    question = (f"Your {kind}?", "en-US") if language == "en" else (f"¿Tu {kind}?", "es-US")
    assert asked.says[0] == question


def test_a_menu_after_the_crisis_options_reads_its_text_and_options() -> None:
    context = Context(channel="voice")
    voice = plan(step(MENU, Position("menu"), Input("text", "0"), context), MENU, context)
    assert voice.says == (
        ("Welcome to the line.", "en-US"),
        ("Press 1 for check in.", "en-US"),
        ("Press 2 for talk to a peer.", "en-US"),
        ("Press 0 at any time for crisis help.", "en-US"),
    )


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_language_retry_on_a_call_reads_the_choice_once(language: str) -> None:
    context = Context(language=language, channel="voice")
    voice = plan(
        step(EVERY_KIND, Position("language"), Input("text", "5"), context), EVERY_KIND, context
    )
    spoken = [text for text, _tag in voice.says]
    assert spoken.count("Press 1 for English.") == 1
    assert sum("Marque 2 para español." in text for text in spoken) == 1
    sorry = "Sorry, I didn't catch that." if language == "en" else "Perdón, no te entendí."
    assert spoken[0] == sorry


def test_skip_words_help_speech_recognition() -> None:
    context = Context(language="es", channel="voice")
    voice = plan(step(EVERY_KIND, Position("text"), Input("timeout"), context), EVERY_KIND, context)
    assert voice.gather is not None and voice.gather.hints == ("paso",)
