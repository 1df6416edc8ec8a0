"""crisis.detect's fast paths (an ASCII table, rules looked up by their first word) give exactly
the results of the plain phrase-by-phrase check, on random texts and random extra phrases."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from smsline.rules import crisis


def plain_normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = [
        char if char.isalnum() else " " for char in decomposed if not unicodedata.combining(char)
    ]
    return " ".join("".join(kept).split())


def plain_detect(text: str, extra_phrases: tuple[str, ...] = ()) -> crisis.CrisisMatch | None:
    """The check as first written: every rule, in order, against the padded text."""
    padded = f" {plain_normalise(text)} "
    rules = crisis._BUILT_IN + crisis._rules(crisis._extra_rule(e) for e in extra_phrases)
    best = None
    for kind, phrase, forms in rules:
        if any(f" {form} " in padded for form in forms):
            match = crisis.CrisisMatch(kind=kind, phrase=phrase)
            if best is None or crisis._rank(match) < crisis._rank(best):
                best = match
    return best


PHRASES = [phrase for _, phrase, _ in crisis._BUILT_IN]
WORDS = sorted({word for phrase in PHRASES for word in plain_normalise(phrase).split()})
pieces = st.one_of(
    st.sampled_from(PHRASES),
    st.sampled_from(WORDS),
    st.text(max_size=12),
    st.sampled_from([" ", ", ", "'", "\u2019", "!", "\n", "É", "ñ", "\u0301", "ﬁ", "２"]),
)
texts = st.lists(pieces, max_size=10).map("".join)
extras = st.lists(
    st.one_of(
        st.sampled_from(["overdose:", "self_harm:", "suicide:", "other:", ""]).flatmap(
            lambda prefix: st.one_of(st.sampled_from(WORDS), st.text(max_size=8)).map(
                lambda rest: prefix + rest
            )
        ),
        texts,
    ),
    max_size=3,
).map(tuple)


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_normalise_matches_the_plain_way(text: str) -> None:
    assert crisis.normalise(text) == plain_normalise(text)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_normalise_matches_the_plain_way(text: str) -> None:
    assert crisis.normalise(text) == plain_normalise(text)


@settings(max_examples=1000, deadline=None)
@given(texts, extras)
def test_detect_matches_the_plain_way(text: str, extra: tuple[str, ...]) -> None:
    assert crisis.detect(text, extra) == plain_detect(text, extra)
    assert crisis.detect(text) == plain_detect(text)


def test_every_known_example_matches_the_plain_way() -> None:
    for text in [*PHRASES, *crisis.NOT_CRISIS_EXAMPLES, *crisis.KNOWN_FALSE_POSITIVES]:
        text = text if isinstance(text, str) else text[0]
        assert crisis.detect(text) == plain_detect(text)
        assert crisis.detect(text.upper() + "!!") == plain_detect(text.upper() + "!!")
