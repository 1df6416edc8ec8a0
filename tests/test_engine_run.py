"""The engine's step function on a small flow: every input kind, retries, timeouts, expiry,
discreet wording, language fallback, actions and the voice crisis key."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from smsline.engine.format import Flow, load
from smsline.engine.run import (
    Act,
    Ask,
    Context,
    CrisisOptions,
    Ended,
    Input,
    Position,
    Saved,
    Say,
    Step,
    start,
    step,
)


def checkin_flow(**changes: object) -> Flow:
    """A small check-in flow, with top-level fields replaced by `changes`."""
    data = {
        "flow": "checkin",
        "format": 1,
        "default_language": "en",
        "languages": ["en", "es"],
        "expires_after": "12h",
        "start": "mood",
        "states": {
            "mood": {
                "say": {
                    "en": "Hi $nickname. How are you today, 1 to 5?",
                    "es": "Hola $nickname. ¿Cómo estás hoy, del 1 al 5?",
                },
                "discreet": {"en": "Hi $nickname. How is your day, 1 to 5?"},
                "wait": {"answer": "number", "min": 1, "max": 5, "save": "mood", "timeout": "3h"},
                "routes": [{"when": "mood <= 2", "goto": "low"}, {"goto": "craving"}],
            },
            "craving": {
                "say": {"en": "Any cravings? 0 to 10."},  # no Spanish: falls back to English
                "wait": {
                    "answer": "number",
                    "min": 0,
                    "max": 10,
                    "save": "craving",
                    "timeout": "1h",
                    "on_timeout": "later",
                    "tries": 2,
                    "retry": {"en": "Just a number from 0 to 10, $nickname."},
                },
                "routes": [{"when": "craving >= 7", "goto": "low"}, {"goto": "thanks"}],
            },
            "low": {
                "say": {
                    "en": "Thanks for telling me. What would help?",
                    "es": "Gracias. ¿Qué te ayudaría?",
                },
                "wait": {
                    "answer": "choice",
                    "save": "help",
                    "options": [
                        {
                            "value": "peer",
                            "digit": 1,
                            "label": {"en": "talk to a peer", "es": "hablar con un compañero"},
                            "words": {"en": ["peer", "talk"], "es": ["hablar"]},
                            "goto": "peer",
                        },
                        {
                            "value": "meetings",
                            "digit": 2,
                            "label": {"en": "find a meeting", "es": "buscar una reunión"},
                            "words": {"en": ["meeting"], "es": ["reunion"]},
                        },
                    ],
                },
                "routes": [{"when": "help == 'meetings'", "goto": "meetings"}],
            },
            "peer": {
                "say": {"en": "OK. Finding someone now.", "es": "Bien. Buscando a alguien."},
                "actions": [{"request_peer": {"reason": "checkin mood $mood"}}],
                "routes": [{"goto": "thanks"}],
            },
            "meetings": {"actions": [{"start_flow": {"flow": "meetings"}}]},
            "later": {"say": {"en": "Still here when you're ready."}, "actions": ["end"]},
            "thanks": {
                "say": {
                    "en": "Thank you, $nickname. Today is $today.",
                    "es": "Gracias. Hoy es $today.",
                },
                "actions": ["save_checkin", "end"],
            },
        },
    }
    data.update(changes)
    return load(data, "checkin.yaml")


SMS = Context(language="en", nickname="Sam", today=date(2025, 3, 14))


def says(result: Step) -> list[str]:
    return [effect.text for effect in result.effects if isinstance(effect, Say)]


def ended(result: Step) -> str | None:
    return next((e.reason for e in result.effects if isinstance(e, Ended)), None)


def test_start_says_the_first_state_and_waits() -> None:
    result = start(checkin_flow(), SMS)
    assert says(result) == ["Hi Sam. How are you today, 1 to 5?"]
    assert isinstance(result.effects[-1], Ask)
    assert result.position == Position("mood", {})
    assert result.timeout == timedelta(hours=3)


def test_a_valid_answer_is_saved_and_routed() -> None:
    result = step(checkin_flow(), Position("mood"), Input("text", "4"), SMS)
    assert Saved("mood", 4) in result.effects
    assert result.position == Position("craving", {"mood": 4})
    assert says(result) == ["Any cravings? 0 to 10."]
    assert result.timeout == timedelta(hours=1)


def test_a_condition_picks_the_route() -> None:
    result = step(checkin_flow(), Position("mood"), Input("text", "two"), SMS)
    assert result.position is not None and result.position.state == "low"


def test_a_choice_goto_runs_actions_and_ends() -> None:
    position = Position("low", {"mood": 1})
    result = step(checkin_flow(), position, Input("text", "talk"), SMS)
    assert Saved("help", "peer") in result.effects
    assert Act("request_peer", {"reason": "checkin mood 1"}) in result.effects
    assert Act("save_checkin", {}) in result.effects
    assert says(result)[-1] == "Thank you, Sam. Today is Friday, March 14."
    assert result.position is None and ended(result) == "done"


def test_start_flow_ends_with_an_act_the_edge_follows() -> None:
    result = step(checkin_flow(), Position("low"), Input("text", "2"), SMS)
    assert Act("start_flow", {"flow": "meetings"}) in result.effects
    assert ended(result) == "start_flow" and result.position is None


def test_an_invalid_answer_reprompts_and_counts_a_try() -> None:
    result = step(checkin_flow(), Position("mood"), Input("text", "great"), SMS)
    assert says(result) == ["Please reply with a number from 1 to 5."]
    assert result.position == Position("mood", {}, tries=1)
    assert isinstance(result.effects[-1], Ask)


def test_the_state_retry_text_is_used_when_given() -> None:
    result = step(checkin_flow(), Position("craving"), Input("text", "lots"), SMS)
    assert says(result) == ["Just a number from 0 to 10, Sam."]


def test_after_the_last_try_the_flow_ends_gracefully() -> None:
    flow = checkin_flow()
    position = Position("mood")
    for _ in range(2):
        result = step(flow, position, Input("text", "nine"), SMS)
        assert result.position is not None
        position = result.position
    result = step(flow, position, Input("text", "nine"), SMS)
    assert says(result) == ["No problem, we can do this another time."]
    assert ended(result) == "tries" and result.position is None


def test_tries_is_per_wait() -> None:
    result = step(checkin_flow(), Position("craving", tries=1), Input("text", "x"), SMS)
    assert ended(result) == "tries"


def test_giving_up_in_spanish() -> None:
    result = step(checkin_flow(), Position("mood", tries=2), Input("text", "x"), Context("es"))
    assert says(result) == ["No hay problema, lo hacemos en otro momento."]


def test_timeout_goes_to_on_timeout() -> None:
    result = step(checkin_flow(), Position("craving", {"mood": 3}), Input("timeout"), SMS)
    assert says(result) == ["Still here when you're ready."]
    assert ended(result) == "done"


def test_timeout_without_on_timeout_reasks_once_then_ends_quietly() -> None:
    flow = checkin_flow()
    first = step(flow, Position("mood"), Input("timeout"), SMS)
    assert says(first) == ["Hi Sam. How are you today, 1 to 5?"]
    assert first.position == Position("mood", {}, timed_out=True)
    assert first.timeout == timedelta(hours=3)
    second = step(flow, first.position, Input("timeout"), SMS)
    assert second.effects == (Ended("timeout"),)
    assert second.position is None


def test_an_answer_after_a_reask_is_read_as_usual() -> None:
    result = step(checkin_flow(), Position("mood", timed_out=True), Input("text", "5"), SMS)
    assert result.position is not None and result.position.state == "craving"


def test_expiry_ends_quietly() -> None:
    result = step(checkin_flow(), Position("mood"), Input("expire"), SMS)
    assert result.effects == (Ended("expired"),)
    assert result.position is None


def test_a_start_input_restarts_the_flow() -> None:
    result = step(checkin_flow(), Position("craving", {"mood": 2}), Input("start"), SMS)
    assert result.position == Position("mood", {})


def test_discreet_wording_when_asked() -> None:
    result = start(checkin_flow(), Context(discreet=True, nickname="Sam"))
    assert says(result) == ["Hi Sam. How is your day, 1 to 5?"]


def test_discreet_prefers_the_discreet_text_in_the_default_language() -> None:
    result = start(checkin_flow(), Context(language="es", discreet=True, nickname="Sam"))
    assert result.effects[0] == Say("Hi Sam. How is your day, 1 to 5?", "en")


def test_discreet_falls_back_to_say() -> None:
    result = step(checkin_flow(), Position("mood"), Input("text", "4"), Context(discreet=True))
    assert says(result) == ["Any cravings? 0 to 10."]


def test_spanish_and_fallback_to_the_default_language() -> None:
    context = Context(language="es", nickname="Ana")
    first = start(checkin_flow(), context)
    assert first.effects[0] == Say("Hola Ana. ¿Cómo estás hoy, del 1 al 5?", "es")
    second = step(checkin_flow(), first.position, Input("text", "cuatro"), context)
    assert second.effects[-2] == Say("Any cravings? 0 to 10.", "en")


def test_spanish_reprompt() -> None:
    result = step(checkin_flow(), Position("mood"), Input("text", "bien"), Context("es"))
    assert says(result) == ["Responde con un número del 1 al 5."]


def test_voice_zero_gives_crisis_options_without_counting_a_try() -> None:
    voice = Context(channel="voice")
    result = step(checkin_flow(), Position("mood", tries=2), Input("text", "0"), voice)
    assert result.effects[0] == CrisisOptions()
    assert isinstance(result.effects[-1], Ask)
    assert result.position == Position("mood", {}, tries=2)


def test_voice_zero_then_asks_the_question_again() -> None:
    """After the crisis options the caller hears the question again, not only "Press 0"."""
    voice = Context(channel="voice", nickname="Sam", discreet=True)
    result = step(checkin_flow(), Position("mood", timed_out=True), Input("text", "0"), voice)
    assert result.effects == (
        CrisisOptions(),
        Say("Hi Sam. How is your day, 1 to 5?", "en"),
        Ask(checkin_flow().states["mood"].wait, "en"),
    )
    assert result.position == Position("mood", {}, timed_out=True)
    assert result.timeout == timedelta(hours=3)


def test_voice_zero_is_an_answer_where_zero_is_allowed() -> None:
    voice = Context(channel="voice")
    result = step(checkin_flow(), Position("craving"), Input("text", "0"), voice)
    assert Saved("craving", 0) in result.effects


def test_zero_by_text_is_an_ordinary_reply() -> None:
    result = step(checkin_flow(), Position("mood"), Input("text", "0"), SMS)
    assert CrisisOptions() not in result.effects
    assert result.position == Position("mood", {}, tries=1)


def test_voice_speech_is_read_like_text() -> None:
    voice = Context(channel="voice")
    result = step(checkin_flow(), Position("low"), Input("text", "Talk to a peer."), voice)
    assert Saved("help", "peer") in result.effects


def test_condition_over_context_names() -> None:
    flow = checkin_flow(
        start="hello",
        states={
            "hello": {"routes": [{"when": "channel == 'voice'", "goto": "call"}, {"goto": "text"}]},
            "call": {"say": {"en": "Hello caller", "es": "Hola"}},
            "text": {"say": {"en": "Hello texter", "es": "Hola"}},
        },
    )
    assert says(start(flow, Context(channel="voice"))) == ["Hello caller"]
    assert says(start(flow, Context())) == ["Hello texter"]


def test_set_language_changes_the_rest_of_the_step() -> None:
    flow = checkin_flow(
        start="lang",
        states={
            "lang": {
                "say": {"en": "1 English, 2 Español", "es": "1 English, 2 Español"},
                "wait": {"answer": "language", "save": "lang"},
                "routes": [{"goto": "set"}],
            },
            "set": {
                "actions": [{"set_language": {"value": "$lang"}}],
                "routes": [{"goto": "hello"}],
            },
            "hello": {"say": {"en": "Welcome!", "es": "¡Bienvenido!"}},
        },
    )
    result = step(flow, Position("lang"), Input("text", "español"), Context("en"))
    assert Act("set_language", {"value": "es"}) in result.effects
    assert result.effects[-2] == Say("¡Bienvenido!", "es")


STREAK_STATES = {
    "save": {
        "actions": ["save_checkin"],
        "routes": [
            {"when": "peer_offered_today", "goto": "again"},
            {"when": "streak in [3, 7]", "goto": "cheer"},
            {"goto": "thanks"},
        ],
    },
    "again": {"say": {"en": "Text PEER any time", "es": "Escribe HABLAR"}},
    "cheer": {"say": {"en": "$streak in a row!", "es": "¡$streak seguidos!"}},
    "thanks": {"say": {"en": "Thanks ($streak)", "es": "Gracias ($streak)"}},
}


def _streak_flow() -> Flow:
    return checkin_flow(start="save", states=STREAK_STATES)


def test_save_checkin_counts_today_in_the_streak_for_the_rest_of_the_step() -> None:
    flow = _streak_flow()
    assert says(start(flow, Context(streak=2))) == ["3 in a row!"]
    assert says(start(flow, Context(language="es", streak=6))) == ["¡7 seguidos!"]
    assert says(start(flow, Context(streak=3, checked_in_today=True))) == ["3 in a row!"]
    assert says(start(flow, Context(streak=3))) == ["Thanks (4)"]
    assert says(start(flow, Context())) == ["Thanks (1)"]


def test_peer_offered_today_is_a_context_name_and_flag_risk_sets_it() -> None:
    flow = _streak_flow()
    assert says(start(flow, Context(streak=2, peer_offered_today=True))) == ["Text PEER any time"]
    flagged = checkin_flow(
        start="flag",
        states={
            "flag": {"actions": ["flag_risk"], "routes": [{"goto": "save"}]},
            **STREAK_STATES,
        },
    )
    result = start(flagged, Context(streak=2))
    assert Act("flag_risk", {}) in result.effects
    assert says(result) == ["Text PEER any time"]


def test_a_lone_variable_parameter_passes_the_value_itself() -> None:
    flow = checkin_flow(
        start="zip",
        states={
            "zip": {
                "say": {"en": "Your ZIP?", "es": "¿Tu código postal?"},
                "wait": {"answer": "zip", "save": "home"},
                "routes": [{"goto": "keep"}],
            },
            "keep": {"actions": [{"set_field": {"field": "zip", "value": "$home"}}]},
        },
    )
    result = step(flow, Position("zip"), Input("text", "60614"), SMS)
    act = next(effect for effect in result.effects if isinstance(effect, Act))
    assert act.params["value"]["timezone"] == "America/Chicago"


def test_routes_that_loop_end_the_step_instead_of_hanging() -> None:
    flow = checkin_flow(
        start="a",
        states={"a": {"routes": [{"goto": "b"}]}, "b": {"routes": [{"goto": "a"}]}},
    )
    result = start(flow, SMS)
    assert ended(result) == "loop" and result.position is None


def test_a_position_at_an_unknown_state_ends_with_error() -> None:
    result = step(checkin_flow(), Position("gone"), Input("text", "hi"), SMS)
    assert ended(result) == "error" and "gone" in result.effects[-1].detail


def test_an_unknown_input_kind_ends_with_error() -> None:
    result = step(checkin_flow(), Position("mood"), Input("poke"), SMS)
    assert ended(result) == "error"


@pytest.mark.parametrize("nickname", [None, "A" * 100, "Sam\n\x00\u202eevil"])
def test_variables_are_plain_short_text(nickname: str | None) -> None:
    text = says(start(checkin_flow(), Context(nickname=nickname)))[0]
    assert "\n" not in text and "\x00" not in text and "\u202e" not in text
    assert len(text) <= len("Hi . How are you today, 1 to 5?") + 40


def skip_flow() -> Flow:
    """A note that can be skipped, then a state showing it and routing on it."""
    return checkin_flow(
        start="note",
        states={
            "note": {
                "say": {"en": "Anything else? A few words, or SKIP.", "es": "¿Algo más? O PASO."},
                "wait": {
                    "answer": "text",
                    "save": "note",
                    "skip": {"en": ["skip", "no"], "es": ["paso", "saltar", "no"]},
                },
                "routes": [{"goto": "pick"}],
            },
            "pick": {
                "say": {"en": "Note: '$note' (${note|none}).", "es": "Nota: '$note'."},
                "wait": {
                    "answer": "choice",
                    "save": "help",
                    "skip": {"en": ["skip"], "es": ["paso"]},
                    "options": [
                        {
                            "value": "peer",
                            "digit": 1,
                            "label": {"en": "peer", "es": "par"},
                            "goto": "peer",
                        }
                    ],
                },
                "routes": [
                    {"when": "note == none and help == none", "goto": "nothing"},
                    {"goto": "something"},
                ],
            },
            "peer": {"say": {"en": "Peer.", "es": "Par."}},
            "nothing": {"say": {"en": "Nothing saved.", "es": "Nada."}},
            "something": {"say": {"en": "Saved: $note.", "es": "Guardado."}},
        },
    )


@pytest.mark.parametrize(("text", "language"), [("SKIP", "en"), ("skip please", "en"), ("No.", "en"),
                                                 ("no gracias", "es"), ("Paso", "es"), ("saltar", "en")])  # fmt: skip
def test_a_skip_word_saves_nothing_and_routes_on(text: str, language: str) -> None:
    result = step(skip_flow(), Position("note"), Input("text", text), Context(language))
    assert not any(isinstance(effect, Saved) for effect in result.effects)
    assert result.position == Position("pick", {})
    shown = says(result)[0]
    assert shown in ("Note: '' (none).", "Nota: ''.")


def test_a_reply_that_is_not_a_skip_word_is_saved() -> None:
    result = step(skip_flow(), Position("note"), Input("text", "no sleep"), SMS)
    assert Saved("note", "no sleep") in result.effects
    assert says(result) == ["Note: 'no sleep' (no sleep)."]


def test_a_skip_is_not_a_try_and_routes_as_after_an_answer() -> None:
    result = step(skip_flow(), Position("pick", {}, tries=2), Input("text", "skip"), SMS)
    assert says(result) == ["Nothing saved."] and ended(result) == "done"
    answered = step(skip_flow(), Position("pick", {"note": "hi"}), Input("text", "skip"), SMS)
    assert says(answered) == ["Saved: hi."]
    picked = step(skip_flow(), Position("pick"), Input("text", "1"), SMS)
    assert Saved("help", "peer") in picked.effects and says(picked) == ["Peer."]


def test_a_saved_name_with_no_answer_shows_as_nothing() -> None:
    flow = checkin_flow(
        start="thanks",
        states={
            "thanks": {"say": {"en": "Thanks$mood.", "es": "Gracias."}},
            "never": {
                "wait": {"answer": "number", "min": 1, "max": 5, "save": "mood"},
            },
        },
    )
    assert says(start(flow, SMS)) == ["Thanks."]
