"""Problems found in a flow, each naming the file, the line, the state, the field and the value.

A place in a flow is a path of keys and list indexes, like ("states", "mood", "wait", "min").
A LineMap gives the line of each path that came from a file; a path without a line of its own
takes the line of the nearest enclosing one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Path = tuple[Any, ...]
LineMap = Mapping[Path, int]

MAX_VALUE_SHOWN = 60
_MISSING = object()


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a flow (an error) or worth a look (a warning)."""

    source: str
    line: int | None
    state: str | None
    field: str
    value: str | None
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        named = []
        if self.state is not None:
            named.append(f"state '{self.state}'")
        if self.field:
            named.append(f"field '{self.field}'")
        text = f"{where}: "
        if self.severity == "warning":
            text += "warning: "
        if named:
            text += ", ".join(named) + ": "
        text += self.message
        if self.value is not None:
            text += f" (value '{self.value}')"
        return text


def show(value: object) -> str:
    """A value as a problem shows it: one line, cut to 60 characters."""
    text = value if isinstance(value, str) else _plain_repr(value)
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    if len(text) > MAX_VALUE_SHOWN:
        text = text[: MAX_VALUE_SHOWN - 1] + "…"
    return text


def _plain_repr(value: object) -> str:
    """YAML-like text for a value: true/false/null, lists and mappings without Python quotes."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_plain_repr(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_plain_repr(v)}" for k, v in value.items()) + "}"
    return str(value)


def field_name(path: Path) -> str:
    """A path inside a state (or the flow) as a field name: `wait.options[1].digit`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


class Problems:
    """Collects the problems of one source, placing each by its path."""

    def __init__(self, source: str, lines: LineMap | None = None) -> None:
        self.source = source
        self.lines = lines or {}
        self.items: list[Problem] = []

    def line(self, path: Path) -> int | None:
        """The line of `path`, or of the nearest enclosing path that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None

    def add(
        self, path: Path, message: str, value: object = _MISSING, severity: str = "error"
    ) -> None:
        """Record a problem at `path`; a value of None is shown as null, none given as nothing."""
        state = None
        rest = path
        if len(path) >= 2 and path[0] == "states" and isinstance(path[1], str):
            state, rest = path[1], path[2:]
        shown = None if value is _MISSING else show(value)
        problem = Problem(
            self.source,
            self.line(path),
            state,
            field_name(rest),
            shown,
            message,
            severity,  # type: ignore[arg-type]
        )
        self.items.append(problem)

    def error(self, path: Path, message: str, value: object = _MISSING) -> None:
        self.add(path, message, value, "error")

    def warning(self, path: Path, message: str, value: object = _MISSING) -> None:
        self.add(path, message, value, "warning")
