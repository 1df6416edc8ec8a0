"""Voice plans: what a call says and gathers for an engine step."""

from __future__ import annotations

from smsline.engine.format import load
from smsline.engine.run import Context, Input, Position, start, step
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
