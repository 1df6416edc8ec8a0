"""Reading replies: every answer kind, in English and Spanish, typed, keyed or spoken."""

from __future__ import annotations

import pytest

from smsline.engine.answers import parse, reprompt
from smsline.engine.format import Option, Wait

MENU = Wait(
    "choice",
    options=(
        Option(
            "checkin",
            1,
            {"en": "check in", "es": "registrarte"},
            {"en": ("check in", "checkin"), "es": ("registrar", "registro")},
        ),
        Option(
            "peer",
            2,
            {"en": "talk to a peer", "es": "hablar con un compañero"},
            {"en": ("peer", "talk"), "es": ("hablar", "companero")},
        ),
    ),
)
MOOD = Wait("number", min=1, max=5)
CRAVING = Wait("number", min=0, max=10)


@pytest.mark.parametrize(
    ("text", "language", "value"),
    [
        ("1", "en", "checkin"),
        (" 2. ", "en", "peer"),
        ("two", "en", "peer"),  # a digit said aloud
        ("dos", "es", "peer"),
        ("checkin", "en", "checkin"),  # the value
        ("Check in.", "en", "checkin"),  # speech
        ("CHECK-IN!", "en", "checkin"),
        ("I want to check in please", "en", "checkin"),
        ("talk to a peer", "en", "peer"),  # the label
        ("Hablar", "es", "peer"),
        ("compañero", "es", "peer"),  # accents ignored
        ("hablar", "en", "peer"),  # the other language's words work too
        ("peer", "es", "peer"),
        ("quiero registrar por favor", "es", "checkin"),
    ],
)
def test_choice(text: str, language: str, value: str) -> None:
    assert parse(MENU, text, language).value == value


@pytest.mark.parametrize("text", ["3", "0", "", "   ", "check", "peer check in", "x" * 1000])
def test_choice_no_match(text: str) -> None:
    assert not parse(MENU, text, "en").ok


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        ("5", 5),
        ("4/5", 4),
        ("5 out of 5", 5),
        ("three", 3),
        ("Tres.", 3),
        ("uno", 1),
        ("4!", 4),
        (" 2 ", 2),
        ("number 2", 2),
        ("２", 2),
    ],
)
def test_number(text: str, value: int) -> None:
    assert parse(MOOD, text, "en").value == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0", "out_of_range"),
        ("6", "out_of_range"),
        ("-1", "out_of_range"),
        ("7/10", "out_of_range"),
        ("3.5", "no_match"),
        ("good", "no_match"),
        ("9" * 5000, "no_match"),
        ("", "empty"),
    ],
)
def test_number_not_ok(text: str, reason: str) -> None:
    answer = parse(MOOD, text, "en")
    assert not answer.ok and answer.reason == reason


def test_number_zero_and_ten_words() -> None:
    assert parse(CRAVING, "zero", "en").value == 0
    assert parse(CRAVING, "diez", "es").value == 10
    assert parse(CRAVING, "7/10", "en").value == 7


@pytest.mark.parametrize(
    "text",
    [
        "y",
        "Yes",
        "YES!",
        "yeah",
        "yep",
        "ok",
        "sure",
        "1",
        "si",
        "sí",
        "Sí, claro",
        "claro",
        "yes please",
        "Yes, please.",
        "👍",
        "of course",
    ],
)
def test_yes(text: str) -> None:
    assert parse(Wait("yesno"), text, "en").value is True


@pytest.mark.parametrize(
    "text", ["n", "no", "No.", "nope", "nah", "2", "no gracias", "No, thanks", "not now", "👎"]
)
def test_no(text: str) -> None:
    assert parse(Wait("yesno"), text, "es").value is False


@pytest.mark.parametrize("text", ["maybe", "not sure", "yes no", "3", "I don't know"])
def test_yesno_no_match(text: str) -> None:
    assert not parse(Wait("yesno"), text, "en").ok


def test_text() -> None:
    wait = Wait("text", max_length=10)
    assert parse(wait, "  feeling ok  ", "en").value == "feeling ok"
    assert parse(wait, "x" * 11, "en").reason == "too_long"
    assert parse(wait, " \n ", "en").reason == "empty"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("9", "09:00"),
        ("9am", "09:00"),
        ("9 am", "09:00"),
        ("9 AM", "09:00"),
        ("9:30 pm", "21:30"),
        ("9:30 p.m.", "21:30"),
        ("21:30", "21:30"),
        ("7:15", "07:15"),
        ("5", "17:00"),  # a bare 1-6 is afternoon or evening
        ("6:45", "18:45"),
        ("12", "12:00"),
        ("12am", "00:00"),
        ("12pm", "12:00"),
        ("930", "09:30"),
        ("2130", "21:30"),
        ("noon", "12:00"),
        ("midnight", "00:00"),
        ("at 7", "07:00"),
        ("seven thirty pm", "19:30"),
        ("9 o'clock", "09:00"),
        ("nueve", "09:00"),
        ("a las 8", "08:00"),
        ("9 de la noche", "21:00"),
        ("9 de la mañana", "09:00"),
        ("3 de la tarde", "15:00"),
        ("nueve y media de la noche", "21:30"),
        ("12 de la noche", "00:00"),
        ("mediodía", "12:00"),
        ("medianoche", "00:00"),
    ],
)
def test_time(text: str, value: str) -> None:
    assert parse(Wait("time"), text, "en").value == value


@pytest.mark.parametrize("text", ["0", "25", "9:75", "13am", "tomorrow", "9 de la luna", ""])
def test_time_no_match(text: str) -> None:
    assert not parse(Wait("time"), text, "en").ok


def test_zip() -> None:
    answer = parse(Wait("zip"), "60614", "en")
    assert answer.value == {
        "zip": "60614",
        "city": "Chicago",
        "state": "IL",
        "timezone": "America/Chicago",
    }
    assert parse(Wait("zip"), "60614-1234", "en").value["zip"] == "60614"
    assert parse(Wait("zip"), "6 0 6 1 4", "en").ok  # speech reads digits apart


@pytest.mark.parametrize(("text", "reason"), [("00000", "unknown_zip"), ("6061", "no_match")])
def test_zip_not_ok(text: str, reason: str) -> None:
    assert parse(Wait("zip"), text, "en").reason == reason


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", "en"),
        ("English", "en"),
        ("inglés", "en"),
        ("ingles", "en"),
        ("en", "en"),
        ("2", "es"),
        ("Spanish", "es"),
        ("español", "es"),
        ("espanol", "es"),
        ("es", "es"),
        ("español por favor", "es"),
    ],
)
def test_language(text: str, value: str) -> None:
    assert parse(Wait("language"), text, "en").value == value


def test_reprompts_say_what_would_fit() -> None:
    assert reprompt(MOOD, "en") == "Please reply with a number from 1 to 5."
    assert reprompt(MOOD, "es") == "Responde con un número del 1 al 5."
    assert reprompt(MENU, "en") == "Reply 1 for check in, 2 for talk to a peer."
    assert reprompt(MENU, "es") == "Responde 1 para registrarte, 2 para hablar con un compañero."
    assert reprompt(Wait("yesno"), "en") == "Please reply YES or NO."
    assert reprompt(Wait("text", max_length=5), "en", "too_long").endswith("under 5 characters.")
    assert "ZIP" in reprompt(Wait("zip"), "en", "unknown_zip")
    assert reprompt(MENU, "en", channel="voice") == "Sorry, I didn't catch that."
    assert reprompt(MOOD, "fr") == "Please reply with a number from 1 to 5."  # English fallback


def test_every_kind_has_a_reprompt_in_both_languages() -> None:
    for kind in ("choice", "number", "yesno", "text", "time", "zip", "language"):
        wait = MENU if kind == "choice" else Wait(kind, min=1, max=5)
        for language in ("en", "es"):
            for channel in ("sms", "voice"):
                assert reprompt(wait, language, channel=channel)


NOTE = Wait("text", skip={"en": ("skip", "no", "nothing else"), "es": ("paso", "nada más")})


@pytest.mark.parametrize(
    "text", ["skip", "SKIP", "Skip!", "skip please", "no", "No thanks", "nothing else", "Paso",
             "nada mas", "Nada más, gracias", "paso por favor"]
)  # fmt: skip
def test_a_skip_word_is_ok_and_skipped_in_any_language(text: str) -> None:
    for language in ("en", "es"):
        answer = parse(NOTE, text, language)
        assert answer.ok and answer.skipped and answer.value is None, (text, language)


@pytest.mark.parametrize("text", ["no sleep last night", "skipped lunch", "nothing", "0"])
def test_other_replies_at_a_wait_with_skip_words_are_answers(text: str) -> None:
    answer = parse(NOTE, text, "en")
    assert answer.ok and not answer.skipped and answer.value == text


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_reply_is_never_a_skip(text: str) -> None:
    assert not parse(NOTE, text, "en").ok


def test_skip_words_on_a_number() -> None:
    wait = Wait("number", min=1, max=5, skip={"en": ("skip",)})
    assert parse(wait, "skip", "en").skipped
    assert parse(wait, "3", "en").value == 3 and not parse(wait, "3", "en").skipped


def test_a_language_reprompt_on_a_call_does_not_repeat_the_menu() -> None:
    """The call reads "Press 1 for English. Marque 2 para español." with the gather already."""
    for language, sorry in (
        ("en", "Sorry, I didn't catch that."),
        ("es", "Perdón, no te entendí."),
    ):
        assert reprompt(Wait("language"), language, channel="voice") == sorry
    assert reprompt(Wait("language"), "en") == "Reply 1 for English. Responde 2 para español."
