"""Message text: variables filled in as short plain text, and the variables a text uses."""

from __future__ import annotations

from datetime import date

from smsline.engine.text import format_date, render, variables


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
