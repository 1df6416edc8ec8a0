"""Crisis detection: every listed phrase, the false positives and the kind priority."""

from __future__ import annotations

import pytest

from smsline.rules.crisis import (
    KNOWN_FALSE_POSITIVES,
    NOT_CRISIS_EXAMPLES,
    OVERDOSE_PHRASES,
    SELF_HARM_PHRASES,
    SUICIDE_PHRASES,
    CrisisMatch,
    detect,
    normalise,
)

LISTED = (
    [("overdose", phrase) for phrase in OVERDOSE_PHRASES]
    + [("suicide", phrase) for phrase in SUICIDE_PHRASES]
    + [("self_harm", phrase) for phrase in SELF_HARM_PHRASES]
)


REQUIRED = [
    ("suicide", "want to die"),
    ("suicide", "wanna die"),
    ("suicide", "kill myself"),
    ("suicide", "kil myself"),
    ("suicide", "kms"),
    ("suicide", "end it all"),
    ("suicide", "end my life"),
    ("suicide", "suicide"),
    ("suicide", "suicidal"),
    ("suicide", "no reason to live"),
    ("suicide", "better off dead"),
    ("self_harm", "cut myself"),
    ("self_harm", "hurt myself"),
    ("self_harm", "self harm"),
    ("overdose", "od"),
    ("overdose", "o.d."),
    ("overdose", "overdose"),
    ("overdose", "overdosing"),
    ("overdose", "overdosed"),
    ("overdose", "took too many pills"),
    ("overdose", "not breathing"),
    ("suicide", "quiero morir"),
    ("suicide", "me quiero morir"),
    ("suicide", "me quiero matar"),
    ("suicide", "matarme"),
    ("suicide", "suicidarme"),
    ("suicide", "no quiero vivir"),
    ("overdose", "sobredosis"),
    ("self_harm", "cortarme"),
    ("self_harm", "hacerme daño"),
]


@pytest.mark.parametrize(("kind", "phrase"), REQUIRED)
def test_required_phrases_stay_listed(kind: str, phrase: str) -> None:
    assert (kind, phrase) in LISTED


@pytest.mark.parametrize(("kind", "phrase"), LISTED)
def test_every_listed_phrase_matches_itself(kind: str, phrase: str) -> None:
    assert detect(phrase) == CrisisMatch(kind=kind, phrase=phrase)


@pytest.mark.parametrize(("kind", "phrase"), LISTED)
def test_every_listed_phrase_matches_inside_a_sentence_shouting(kind: str, phrase: str) -> None:
    match = detect(f"honestly... {phrase.upper()}!!! idk")
    assert match is not None and match.kind == kind


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("I want to die", "suicide"),
        ("i just wanna die tbh", "suicide"),
        ("gonna kil myself", "suicide"),
        ("im going to kms", "suicide"),
        ("KMS", "suicide"),
        ("i think i'll end it all tonight", "suicide"),
        ("I want to end my life", "suicide"),
        ("thinking about suicide", "suicide"),
        ("feeling SUICIDAL", "suicide"),
        ("there's no reason to live", "suicide"),
        ("everyone would be better off dead... I mean me", "suicide"),
        ("I dont want to live anymore", "suicide"),
        ("I don’t want to live", "suicide"),
        ("I cut myself again", "self_harm"),
        ("I want to hurt myself", "self_harm"),
        ("self-harm urges", "self_harm"),
        ("i think he's od'ing", "overdose"),
        ("she OD'd", "overdose"),
        ("he is OD", "overdose"),
        ("my friend ODed last night", "overdose"),
        ("he might o.d.", "overdose"),
        ("I think I'm overdosing", "overdose"),
        ("she overdosed", "overdose"),
        ("I took too many pills", "overdose"),
        ("he's not breathing", "overdose"),
        ("she isnt breathing", "overdose"),
        ("cant wake him up", "overdose"),
        ("Quiero morir", "suicide"),
        ("ya me quiero morir", "suicide"),
        ("me quiero matar", "suicide"),
        ("voy a matarme", "suicide"),
        ("pienso en suicidarme", "suicide"),
        ("no quiero vivir más", "suicide"),
        ("creo que es una SOBREDOSIS", "overdose"),
        ("mi hermano no está respirando", "overdose"),
        ("quiero cortarme", "self_harm"),
        ("quiero hacerme daño", "self_harm"),
        ("quiero hacerme dano", "self_harm"),
        ("QUIERO HACERME DAÑO", "self_harm"),
    ],
)
def test_phrasings_and_misspellings(text: str, kind: str) -> None:
    match = detect(text)
    assert match is not None and match.kind == kind


@pytest.mark.parametrize("text", NOT_CRISIS_EXAMPLES)
def test_false_positives_do_not_match(text: str) -> None:
    assert detect(text) is None


@pytest.mark.parametrize(
    "text",
    ["good", "food", "odd", "mood", "god", "odds", "kmsx", "akms", "bookmarks", "episode"],
)
def test_short_phrases_match_only_as_whole_words(text: str) -> None:
    assert detect(text) is None


@pytest.mark.parametrize("text", KNOWN_FALSE_POSITIVES)
def test_known_false_positives_match_on_purpose(text: str) -> None:
    assert detect(text) is not None


@pytest.mark.parametrize("text", ["", "   ", "!!!", "🙏", "hi", "CHECKIN"])
def test_ordinary_or_empty_text_does_not_match(text: str) -> None:
    assert detect(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "I want to die, I took too many pills",
        "kms... I overdosed",
        "quiero morir, me tomé todas las pastillas",
        "I cut myself and he's OD",
    ],
)
def test_overdose_wins_over_other_kinds(text: str) -> None:
    match = detect(text)
    assert match is not None and match.kind == "overdose"


def test_suicide_wins_over_self_harm() -> None:
    assert detect("I cut myself and I want to die") == CrisisMatch("suicide", "want to die")


def test_longest_phrase_within_a_kind_is_reported() -> None:
    assert detect("me quiero morir") == CrisisMatch("suicide", "me quiero morir")
    assert detect("quiero matarme") == CrisisMatch("suicide", "quiero matarme")


def test_extra_phrase_defaults_to_suicide() -> None:
    assert detect("I'm going to jump", ["going to jump"]) == CrisisMatch("suicide", "going to jump")


@pytest.mark.parametrize(
    ("entry", "text", "expected"),
    [
        ("overdose: nodding out", "he's NODDING OUT", CrisisMatch("overdose", "nodding out")),
        (
            "self_harm:scratching myself",
            "scratching myself",
            CrisisMatch("self_harm", "scratching myself"),
        ),
        ("Overdose: está morado", "esta morado!", CrisisMatch("overdose", "está morado")),
        ("suicide: no aguanto más", "ya no aguanto mas", CrisisMatch("suicide", "no aguanto más")),
    ],
)
def test_extra_phrase_kind_prefix(entry: str, text: str, expected: CrisisMatch) -> None:
    assert detect(text, [entry]) == expected


def test_extra_phrase_matches_on_word_boundaries() -> None:
    assert detect("the blues are on tonight", ["blue"]) is None
    assert detect("I feel blue", ["blue"]) == CrisisMatch("suicide", "blue")


def test_extra_overdose_phrase_wins_over_built_in_suicide() -> None:
    match = detect("I want to die, took the fent", ["overdose: the fent"])
    assert match == CrisisMatch("overdose", "the fent")


@pytest.mark.parametrize("entry", ["", "   ", "overdose:", "!!!", "self_harm:  "])
def test_empty_extra_phrases_are_ignored(entry: str) -> None:
    assert detect("hello there", [entry]) is None


def test_extra_phrases_do_not_remove_built_ins() -> None:
    assert detect("I want to die", ["something else"]) == CrisisMatch("suicide", "want to die")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Hello,   WORLD!! ", "hello world"),
        ("He's OD'ing", "he s od ing"),
        ("Está respirando", "esta respirando"),
        ("hacerme daño", "hacerme dano"),
        ("O.D.", "o d"),
        ("a\tb\nc", "a b c"),
        ("ＫＭＳ", "kms"),
        ("🙏stop🙏", "stop"),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_match_is_frozen() -> None:
    match = CrisisMatch("suicide", "kms")
    with pytest.raises(AttributeError):
        match.kind = "overdose"  # type: ignore[misc]
