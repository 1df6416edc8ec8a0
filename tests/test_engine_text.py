"""Message text: variables filled in as short plain text, fallbacks for empty values, and the
variables a text uses."""

from __future__ import annotations

from datetime import date

import pytest

from smsline.engine.text import fallbacks, format_date, longest, render, unreadable, variables


def test_render_fills_known_variables_and_leaves_the_rest() -> None:
    assert render("Hi $nickname, ${mood}/5 $$5 $other", {"nickname": "Sam", "mood": 4}) == (
        "Hi Sam, 4/5 $5 $other"
    )


def test_values_are_one_short_line_of_plain_text() -> None:
    values = {"a": "x\ny\x00z\u202e", "b": "long " * 20, "c": None, "d": True, "e": {"zip": "1"}}
    assert render("$a|$b|$c|$d|$e", values) == "x y z|" + ("long " * 8).strip() + "||yes|"


def test_a_value_cannot_reach_anything_else() -> None:
    assert (
        render("$nickname", {"nickname": "${program} {0.__class__}"}) == "${program} {0.__class__}"
    )


def test_variables() -> None:
    assert variables("Hi $nickname, ${mood} $$ $5") == {"nickname", "mood"}
    assert variables("no variables") == set()


def test_dates_in_the_member_language() -> None:
    assert format_date(date(2025, 3, 14), "en") == "Friday, March 14"
    assert format_date(date(2025, 3, 14), "es") == "viernes 14 de marzo"


@pytest.mark.parametrize("nickname", [None, "", "   ", "\x00", {"zip": "60614"}])
def test_a_fallback_shows_when_the_value_is_empty(nickname: object) -> None:
    assert render("Hi ${nickname|friend}!", {"nickname": nickname}) == "Hi friend!"


def test_a_fallback_shows_for_a_value_not_given() -> None:
    assert render("Hi ${nickname|friend}, $other", {}) == "Hi friend, $other"


def test_a_value_wins_over_its_fallback() -> None:
    assert render("Hi ${nickname|friend}!", {"nickname": " Sam "}) == "Hi Sam!"
    assert render("${done|not yet}", {"done": False}) == "no"  # "no" is a value, not empty
    assert render("${count|none}", {"count": 0}) == "0"


def test_a_fallback_is_plain_text_and_nothing_is_read_twice() -> None:
    values = {"nickname": "${program|x} $program", "program": "Line"}
    assert render("${nickname|friend}", values) == "${program|x} $program"
    assert render("${nickname|mi amigo, ¿qué tal?}", {}) == "mi amigo, ¿qué tal?"
    assert render("$${nickname|friend} $$5", {"nickname": "Sam"}) == "${nickname|friend} $5"
    # a fallback holding $ or { is no fallback (the validator reports it): only the given
    # values are still all it can show
    assert render("${nickname|$program}", {"nickname": None, "program": "Line"}) == (
        "${nickname|Line}"
    )


def test_missing_values_can_show_as_nothing() -> None:
    assert render("Note: $note.", {}, "") == "Note: ."
    assert render("Note: ${note|none}.", {}, "") == "Note: none."


def test_variables_with_a_fallback_and_what_cannot_be_read() -> None:
    assert variables("Hi ${nickname|friend}, $$${mood} ${bad name} $${x|y}") == {"nickname", "mood"}
    assert fallbacks("Hi ${nickname|friend} ${today|today} $mood") == ["friend", "today"]
    assert unreadable("ok ${nickname|friend} $${no} ${bad name} ${a|b$c} ${a|{b}} ${") == [
        "${bad name}",
        "${a|b$c}",
        "${a|{b}",
        "${",
    ]


def test_longest_counts_a_fallback_with_its_own_letters() -> None:
    assert longest("Hi ${nickname|friend}!", "x" * 10) == "Hi friendxxxx!"
    assert longest("Hi ${nickname|a very good friend}!", "x" * 10) == "Hi a very good friend!"
    assert longest("Hi $nickname at $program", "x" * 10, {"program": "Line"}) == (
        "Hi xxxxxxxxxx at Line"
    )
