"""Route conditions: what they may say, how they evaluate, and what they can never reach."""

from __future__ import annotations

import pytest

from smsline.engine.expressions import ExpressionError, check, evaluate

KNOWN = {"mood", "craving", "used", "topic", "language", "discreet", "channel", "nickname"}


@pytest.mark.parametrize(
    ("expression", "names", "expected"),
    [
        ("mood <= 2", {"mood": 1}, True),
        ("mood <= 2", {"mood": 3}, False),
        ("mood <= 2 or craving >= 7", {"mood": 4, "craving": 8}, True),
        ("mood <= 2 and craving >= 7", {"mood": 1, "craving": 3}, False),
        ("not used", {"used": False}, True),
        ("used == true", {"used": True}, True),
        ("used == True", {"used": True}, True),
        ("topic in ['peer', 'talk']", {"topic": "talk"}, True),
        ("topic not in ('peer', 'talk')", {"topic": "talk"}, False),
        ("language == 'es'", {"language": "es"}, True),
        ("1 <= mood <= 3", {"mood": 2}, True),
        ("mood > -1", {"mood": 0}, True),
        ("craving == none", {}, True),  # a name with no value yet is none
    ],
)
def test_evaluate(expression: str, names: dict, expected: bool) -> None:
    assert evaluate(expression, names) is expected


@pytest.mark.parametrize(
    ("expression", "names"),
    [
        ("mood < 3", {}),
        ("mood >= 3", {"mood": None}),
        ("mood > 'a'", {"mood": 3}),
        ("topic in craving", {"topic": "a"}),
        ("'a' in mood", {"mood": 3}),
        ("mood in ['a', 'b']", {}),
    ],
)
def test_unanswered_or_mismatched_comparisons_are_false_not_errors(
    expression: str, names: dict
) -> None:
    assert evaluate(expression, names) is False


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("mood.__class__", "attribute access"),
        ("__import__('os')", "function call"),
        ("open('x')", "function call"),
        ("mood[0]", "indexing"),
        ("mood + 1 > 2", "arithmetic"),
        ("2 ** 999999", "arithmetic"),
        ("1 << 100", "arithmetic"),
        ("mood is None", "'is'"),
        ("x if mood else y", "if/else"),
        ("lambda: 1", "lambda"),
        ("[m for m in 'abc']", "ListComp"),
        ("{'a': 1}", "Dict"),
        ("-mood", "minus sign"),
        ("topic in [mood]", "only constants"),
        ("mood = 3", "not a valid condition"),
        ("(mood", "not a valid condition"),
        ("", "empty"),
        ("mood == 1" + " or mood == 1" * 60, "longer than"),
        ("zz > 1", "unknown name 'zz'"),
    ],
)
def test_check_rejects(expression: str, message: str) -> None:
    problem = check(expression, KNOWN)
    assert problem is not None and message in problem


def test_check_accepts_the_documented_language() -> None:
    for expression in [
        "mood <= 2",
        "wants_peer",
        "topic in ['peer', 'talk'] and not discreet",
        "channel == 'voice' or nickname != none",
        "craving >= 7 or used == true",
    ]:
        assert check(expression, KNOWN | {"wants_peer"}) is None


def test_evaluate_refuses_what_check_rejects() -> None:
    with pytest.raises(ExpressionError):
        evaluate("__import__('os').system('true')", {})
    with pytest.raises(ExpressionError):
        evaluate("mood.real", {"mood": 1})
