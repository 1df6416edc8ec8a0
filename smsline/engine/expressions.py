"""Route conditions: a small, safe expression language evaluated with simpleeval, never `eval`.

A condition may use names, constants (numbers, quoted strings, `true`/`false`/`none`), lists and
tuples of constants, comparisons (`== != < <= > >=`), `in` / `not in`, and `and`, `or`, `not`.
Nothing else parses: no calls, attributes, subscripts or arithmetic. A name with no value yet is
`none`, and an ordering comparison that makes no sense (`none < 3`, `'a' < 3`) is false rather
than an error, so a condition over an unanswered question simply does not hold.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Collection, Mapping
from functools import lru_cache

from simpleeval import EvalWithCompoundTypes

MAX_LENGTH = 500
CONSTANT_NAMES = {"true": True, "false": False, "none": None}

ALLOWED_NODES = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.List,
    ast.Tuple,
)


class ExpressionError(ValueError):
    """A condition that is not in the allowed language."""


def _ordered(compare: Callable[[object, object], bool]) -> Callable[[object, object], bool]:
    """An ordering comparison that is false, not an error, for none or mismatched types."""

    def safe(left: object, right: object) -> bool:
        if left is None or right is None:
            return False
        try:
            return bool(compare(left, right))
        except TypeError:
            return False

    return safe


def _contains(item: object, container: object) -> bool:
    """`item in container`, false when the container is none or the types do not mix."""
    if container is None:
        return False
    try:
        return item in container  # type: ignore[operator]
    except TypeError:
        return False


OPERATORS: dict[type, Callable[..., object]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: _ordered(operator.lt),
    ast.LtE: _ordered(operator.le),
    ast.Gt: _ordered(operator.gt),
    ast.GtE: _ordered(operator.ge),
    ast.In: _contains,
    ast.NotIn: lambda item, container: not _contains(item, container),
    ast.Not: operator.not_,
    ast.USub: operator.neg,
}


class _Names(dict):
    """Names for the evaluator: a name with no value is none."""

    def __missing__(self, key: str) -> None:
        return None


class _Evaluator(EvalWithCompoundTypes):
    """simpleeval with only the nodes and operators of the condition language."""

    def __init__(self, names: Mapping[str, object]) -> None:
        super().__init__(operators=OPERATORS, functions={}, names=_Names(names))
        self.nodes = {
            node: handler
            for node, handler in self.nodes.items()
            if node
            in (ast.Name, ast.Constant, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.List, ast.Tuple)
        }


def check(expression: str, known_names: Collection[str]) -> str | None:
    """What is wrong with `expression` (a message), or None when it is a valid condition."""
    try:
        tree = _parse(expression)
    except ExpressionError as error:
        return str(error)
    unknown = sorted(
        {
            node.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Name)
            and node.id not in known_names
            and node.id not in CONSTANT_NAMES
        }
    )
    if unknown:
        return f"unknown name '{unknown[0]}' in the condition"
    return None


def evaluate(expression: str, names: Mapping[str, object]) -> bool:
    """Whether `expression` holds over `names`; raises ExpressionError if it is not allowed."""
    tree = _parse(expression)
    values = {**names, **CONSTANT_NAMES}
    return bool(_Evaluator(values).eval(expression, previously_parsed=tree.body))


@lru_cache(maxsize=2048)
def _parse(expression: str) -> ast.Expression:
    """Parse a condition and reject anything outside the allowed language."""
    if not isinstance(expression, str) or not expression.strip():
        raise ExpressionError("the condition is empty")
    if len(expression) > MAX_LENGTH:
        raise ExpressionError(f"the condition is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as error:
        raise ExpressionError(f"not a valid condition: {error.msg}") from None
    for node in ast.walk(tree):
        if not isinstance(node, ALLOWED_NODES):
            raise ExpressionError(
                f"{_describe(node)} is not allowed in a condition "
                "(use comparisons, and, or, not, in)"
            )
        if isinstance(node, ast.Constant) and not isinstance(
            node.value, str | int | float | bool | type(None)
        ):
            raise ExpressionError(f"the constant {node.value!r} is not allowed in a condition")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            if not (isinstance(node.operand, ast.Constant) and _is_number(node.operand.value)):
                raise ExpressionError("a minus sign may only come before a number")
        if isinstance(node, ast.List | ast.Tuple) and not all(
            isinstance(item, ast.Constant) for item in node.elts
        ):
            raise ExpressionError("a list in a condition may hold only constants")
    return tree


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _describe(node: ast.AST) -> str:
    """A short, readable name for a piece of syntax."""
    names = {
        ast.Call: "a function call",
        ast.Attribute: "attribute access (.)",
        ast.Subscript: "indexing ([])",
        ast.BinOp: "arithmetic",
        ast.Is: "'is'",
        ast.IsNot: "'is not'",
        ast.IfExp: "if/else",
        ast.Lambda: "lambda",
    }
    return names.get(type(node), f"'{type(node).__name__}'")
