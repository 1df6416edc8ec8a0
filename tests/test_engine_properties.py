"""Property tests: no input text of any kind makes the engine raise or end with an error."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsline.engine.answers import parse
from smsline.engine.expressions import evaluate
from smsline.engine.format import load
from smsline.engine.run import Context, Ended, Input, Position, Say, Step, step
from smsline.engine.text import render
from smsline.engine.voice import plan

KINDS = {
    "choice": {
        "answer": "choice",
        "options": [
            {"value": "checkin", "digit": 1, "label": {"en": "check in", "es": "registrarte"},
             "words": {"en": ["check in"], "es": ["registrar"]}},
            {"value": "peer", "digit": 2, "label": {"en": "peer", "es": "compañero"}},
        ],
    },
    "number": {"answer": "number", "min": 0, "max": 10},
    "yesno": {"answer": "yesno"},
    "text": {"answer": "text", "max_length": 160, "skip": {"en": ["skip", "no"], "es": ["paso"]}},
    "time": {"answer": "time"},
    "zip": {"answer": "zip"},
    "language": {"answer": "language"},
}  # fmt: skip

FLOW = load(
    {
        "flow": "every_kind",
        "format": 1,
        "default_language": "en",
        "languages": ["en", "es"],
        "expires_after": "1d",
        "start": "choice",
        "states": {
            **{
                kind: {
                    "say": {"en": f"Your {kind}, $nickname?", "es": f"¿Tu {kind}?"},
                    "wait": {**wait, "save": f"{kind}_answer"},
                    "routes": [
                        {"when": f"{kind}_answer == none", "goto": "done"},
                        {"when": "number_answer >= 5 or yesno_answer", "goto": "done"},
                        {"goto": "done"},
                    ],
                }
                for kind, wait in KINDS.items()
            },
            "done": {
                "say": {"en": "Thanks, ${text_answer|friend}.", "es": "Gracias, $text_answer."}
            },
        },
    }
)

replies = st.one_of(
    st.text(max_size=300),
    st.text(alphabet="0123456789 :/-.", max_size=30),
    st.sampled_from(["", "0", "1", "9am", "60614", "👍", "sí", "no gracias", "\x00", "\u202e"]),
    st.text(min_size=5000, max_size=20000),
)
contexts = st.builds(
    Context,
    language=st.sampled_from(["en", "es", "fr"]),
    discreet=st.booleans(),
    channel=st.sampled_from(["sms", "voice"]),
    nickname=st.one_of(st.none(), st.text(max_size=60)),
)
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_step(result: Step) -> None:
    """A step is well formed and never an internal error."""
    assert not any(isinstance(e, Ended) and e.reason == "error" for e in result.effects), result
    assert (result.position is None) == any(isinstance(e, Ended) for e in result.effects)
    for effect in result.effects:
        if isinstance(effect, Say):
            assert effect.text and effect.language in ("en", "es")


@FAST
@given(kind=st.sampled_from(sorted(KINDS)), text=replies, context=contexts, tries=st.integers(0, 5))
def test_no_reply_makes_step_raise(kind: str, text: str, context: Context, tries: int) -> None:
    result = step(FLOW, Position(kind, {}, tries=tries), Input("text", text), context)
    check_step(result)
    plan(result, FLOW, context)


@FAST
@given(
    kind=st.sampled_from(sorted(KINDS)),
    input_kind=st.sampled_from(["start", "timeout", "expire", "text", "nonsense"]),
    timed_out=st.booleans(),
    context=contexts,
)
def test_no_input_kind_makes_step_raise(
    kind: str, input_kind: str, timed_out: bool, context: Context
) -> None:
    result = step(FLOW, Position(kind, {}, timed_out=timed_out), Input(input_kind, "1"), context)
    assert result.position is not None or result.effects[-1].reason in (
        "done",
        "timeout",
        "expired",
        "tries",
        "error",  # only for the unknown input kind
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@FAST
@given(
    answers=st.dictionaries(st.sampled_from([f"{k}_answer" for k in KINDS]), json_values),
    text=replies,
    context=contexts,
)
def test_stored_answers_of_any_shape_never_break_routing(
    answers: dict, text: str, context: Context
) -> None:
    result = step(FLOW, Position("text", answers), Input("text", text), context)
    check_step(result)


@FAST
@given(kind=st.sampled_from(sorted(KINDS)), text=replies, language=st.text(max_size=3))
def test_parse_never_raises(kind: str, text: str, language: str) -> None:
    wait = FLOW.states[kind].wait
    assert wait is not None
    answer = parse(wait, text, language)
    assert answer.ok or answer.reason


@FAST
@given(values=st.dictionaries(st.text(max_size=10), json_values), template=st.text(max_size=200))
def test_render_never_raises(values: dict, template: str) -> None:
    render(template, values)


@FAST
@given(mood=json_values, topic=json_values)
def test_conditions_never_raise_on_odd_values(mood: object, topic: object) -> None:
    for expression in ("mood <= 2", "topic in ['a', 'b']", "'a' in topic", "not mood and topic"):
        assert evaluate(expression, {"mood": mood, "topic": topic}) in (True, False)
