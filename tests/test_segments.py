"""SMS segment counting: GSM-7 and UCS-2 limits, extension characters, emoji."""

from __future__ import annotations

import pytest

from smsline.segments import GSM_BASIC, GSM_EXTENSION, Segments, count


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Segments("GSM-7", 0, 0)),
        ("a", Segments("GSM-7", 1, 1)),
        ("a" * 160, Segments("GSM-7", 160, 1)),
        ("a" * 161, Segments("GSM-7", 161, 2)),
        ("a" * 306, Segments("GSM-7", 306, 2)),
        ("a" * 307, Segments("GSM-7", 307, 3)),
        ("a" * 459, Segments("GSM-7", 459, 3)),
        ("a" * 460, Segments("GSM-7", 460, 4)),
    ],
)
def test_gsm_limits(text: str, expected: Segments) -> None:
    assert count(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("á", Segments("UCS-2", 1, 1)),
        ("á" * 70, Segments("UCS-2", 70, 1)),
        ("á" * 71, Segments("UCS-2", 71, 2)),
        ("á" * 134, Segments("UCS-2", 134, 2)),
        ("á" * 135, Segments("UCS-2", 135, 3)),
        ("a" * 69 + "á", Segments("UCS-2", 70, 1)),
        ("a" * 70 + "á", Segments("UCS-2", 71, 2)),
    ],
)
def test_ucs2_limits(text: str, expected: Segments) -> None:
    assert count(text) == expected


@pytest.mark.parametrize("char", sorted(GSM_EXTENSION))
def test_extension_characters_take_two_septets(char: str) -> None:
    assert count(char) == Segments("GSM-7", 2, 1)
    assert count(char * 80) == Segments("GSM-7", 160, 1)
    assert count("a" + char * 80) == Segments("GSM-7", 161, 2)


def test_extension_characters_listed() -> None:
    assert set("^{}\\[~]|€") <= GSM_EXTENSION


def test_extension_character_never_splits_across_parts() -> None:
    # 152 + 2 + 152 = 306 septets would fit two parts of 153, but the euro cannot straddle them.
    assert count("a" * 152 + "€" + "a" * 152) == Segments("GSM-7", 306, 3)
    assert count("a" * 151 + "€" + "a" * 153) == Segments("GSM-7", 306, 2)


def test_emoji_is_two_code_units() -> None:
    assert count("😀") == Segments("UCS-2", 2, 1)
    assert count("😀" * 35) == Segments("UCS-2", 70, 1)
    assert count("a" + "😀" * 35) == Segments("UCS-2", 71, 2)


def test_emoji_never_splits_across_parts() -> None:
    assert count("á" * 66 + "😀" + "á" * 66) == Segments("UCS-2", 134, 3)
    assert count("á" * 65 + "😀" + "á" * 67) == Segments("UCS-2", 134, 2)


@pytest.mark.parametrize(
    "text",
    [
        "ñ",
        "Ñ",
        "é",
        "É",
        "ü",
        "à",
        "¿Qué?",
        "£5",
        "@home",
        "line one\nline two",
        "_",
        "§",
        "¡hola!",
    ],
)
def test_gsm_characters(text: str) -> None:
    assert count(text).encoding == "GSM-7"


@pytest.mark.parametrize("char", ["á", "í", "ó", "ú", "ç", "’", "“", "—", "`", "€€ñ😀"])
def test_non_gsm_characters_force_ucs2(char: str) -> None:
    assert count(char).encoding == "UCS-2"


def test_spanish_with_n_tilde_stays_gsm() -> None:
    assert count("mañana a las 9") == Segments("GSM-7", 14, 1)


def test_one_accented_letter_turns_the_whole_text_ucs2() -> None:
    text = "a" * 100 + "á"
    assert count(text) == Segments("UCS-2", 101, 2)


def test_basic_set_size() -> None:
    assert len(GSM_BASIC) == 127  # 128 code points less the escape to the extension table
