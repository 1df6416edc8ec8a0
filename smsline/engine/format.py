"""The flow format: the dataclasses of a loaded flow, and `load` to build one from plain data.

`load` checks the shape of the data (known fields, types, durations, ranges) and raises
FlowError listing every problem it found. What needs the whole flow (states that exist and are
reached, translations, text lengths, actions, conditions, variables) is `validate.check`'s job.
Older format versions are upgraded first, one MIGRATIONS step at a time.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from smsline.engine.problems import LineMap, Path, Problem, Problems

__all__ = [
    "ActionCall",
    "Flow",
    "FlowError",
    "LineMap",
    "MIGRATIONS",
    "Option",
    "Problem",
    "Route",
    "State",
    "Wait",
    "current_format",
    "load",
    "parse_duration",
]

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
LANGUAGE = re.compile(r"^[a-z]{2}$")
DURATION = re.compile(r"^\s*([0-9]{1,6})\s*([smhd])\s*$")
DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}

ANSWER_KINDS = ("choice", "number", "yesno", "text", "time", "zip", "language")
DEFAULT_TRIES = 3
DEFAULT_MAX_LENGTH = 480

# Names a condition may use besides saved answers, and variables a text may show besides them.
CONTEXT_NAMES = frozenset(
    {
        "language",
        "discreet",
        "channel",
        "nickname",
        "streak",
        "peer_offered_today",
        "texting_window",
    }
)
TEXT_NAMES = frozenset({"nickname", "program", "today", "streak", "texting_from", "texting_until"})
RESERVED_NAMES = CONTEXT_NAMES | TEXT_NAMES | {"true", "false", "none"}

FLOW_FIELDS = (
    "flow",
    "format",
    "default_language",
    "languages",
    "expires_after",
    "start",
    "states",
)
STATE_FIELDS = ("say", "discreet", "actions", "wait", "routes")
WAIT_FIELDS = ("answer", "save", "timeout", "on_timeout", "tries", "retry", "skip")
KIND_FIELDS = {"choice": ("options",), "number": ("min", "max"), "text": ("max_length",)}
OPTION_FIELDS = ("value", "digit", "label", "words", "goto")
ROUTE_FIELDS = ("when", "goto")


@dataclass(frozen=True)
class Option:
    """One answer of a choice: its saved value, keypad digit, spoken label, synonyms, shortcut."""

    value: str
    digit: int
    label: dict[str, str]
    words: dict[str, tuple[str, ...]] = field(default_factory=dict)
    goto: str | None = None


@dataclass(frozen=True)
class Wait:
    """What answer a state waits for, where it is saved, and what happens without one."""

    answer: str
    save: str | None = None
    min: int | None = None
    max: int | None = None
    max_length: int = DEFAULT_MAX_LENGTH
    options: tuple[Option, ...] = ()
    timeout: timedelta | None = None
    on_timeout: str | None = None
    tries: int = DEFAULT_TRIES
    retry: dict[str, str] = field(default_factory=dict)
    # Replies that mean "no answer", per language: nothing is saved and the routes are followed.
    skip: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    """Go to `goto` when `when` holds (always, without `when`)."""

    when: str | None
    goto: str


@dataclass(frozen=True)
class ActionCall:
    """An action a state runs, by registry name, with its parameters."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class State:
    """A step of a flow: says, runs actions, then waits for an answer or follows routes."""

    name: str
    say: dict[str, str] = field(default_factory=dict)
    discreet: dict[str, str] = field(default_factory=dict)
    actions: tuple[ActionCall, ...] = ()
    wait: Wait | None = None
    routes: tuple[Route, ...] = ()
    line: int | None = None


@dataclass(frozen=True)
class Flow:
    """A whole flow, as loaded from a file or a stored version."""

    name: str
    format: int
    default_language: str
    languages: tuple[str, ...]
    expires_after: timedelta
    start: str
    states: dict[str, State]
    source: str = "<flow>"


class FlowError(ValueError):
    """A flow that cannot be loaded, with every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


# From format version N to a function that upgrades a flow's plain data from N to N + 1, so old
# files and stored versions keep loading. Format 2 arrives as one function and one entry:
#
#     def _format_1_to_2(data: dict[str, Any]) -> dict[str, Any]:
#         """Format 2 renames ... (say what changed)."""
#         return {**data, "format": 2, ...}
#
#     MIGRATIONS = {1: _format_1_to_2}
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def current_format() -> int:
    """The newest format version: one past the last migration."""
    return max(MIGRATIONS, default=0) + 1


def parse_duration(text: str) -> timedelta:
    """A duration written `90s`, `30m`, `3h` or `2d`; raises ValueError otherwise."""
    match = DURATION.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError("a duration is a whole number and a unit: 90s, 30m, 3h or 2d")
    amount, unit = int(match.group(1)), match.group(2)
    if amount == 0:
        raise ValueError("a duration must be more than zero")
    return timedelta(**{DURATION_UNITS[unit]: amount})


def load(data: Mapping[str, Any], source: str = "<flow>", lines: LineMap | None = None) -> Flow:
    """Build a Flow from plain data (parsed YAML or a stored JSON version); raise FlowError."""
    flow, problems = build(data, source, lines)
    if flow is None or any(problem.severity == "error" for problem in problems):
        raise FlowError(problems)
    return flow


def build(
    data: Mapping[str, Any], source: str = "<flow>", lines: LineMap | None = None
) -> tuple[Flow | None, list[Problem]]:
    """Build what can be built of a flow, with its shape problems (for the validator).

    The flow is None only when the data is not a mapping or its format version is unknown;
    otherwise it holds every part that loaded, so the whole-flow checks can run on it too.
    """
    problems = Problems(source, lines)
    if not isinstance(data, Mapping):
        problems.error((), "a flow must be a mapping of fields (flow, format, states...)")
        return None, problems.items
    data = _upgrade(dict(data), problems)
    if problems.items:
        return None, problems.items
    _fields(data, (), FLOW_FIELDS, FLOW_FIELDS, problems)

    name = data.get("flow")
    if "flow" in data and not (isinstance(name, str) and NAME.match(name)):
        problems.error(("flow",), "the flow name must be lowercase letters, digits and _", name)
    languages = _languages(data, problems)
    default_language = data.get("default_language")
    if "default_language" in data and default_language not in languages:
        problems.error(
            ("default_language",), "the default language must be one of languages", default_language
        )
    expires_after = _duration(data, "expires_after", (), problems)
    start = data.get("start")
    if "start" in data and not isinstance(start, str):
        problems.error(("start",), "start must be the name of a state", start)

    states: dict[str, State] = {}
    raw_states = data.get("states")
    if "states" in data and not (isinstance(raw_states, Mapping) and raw_states):
        problems.error(("states",), "states must be a mapping of state names to states", raw_states)
    elif isinstance(raw_states, Mapping):
        for state_name, raw in raw_states.items():
            state = _state(state_name, raw, problems)
            if state is not None:
                states[state.name] = state

    flow = Flow(
        name=name,
        format=data.get("format", current_format()),
        default_language=default_language,
        languages=languages,
        expires_after=expires_after or timedelta(),
        start=start,
        states=states,
        source=source,
    )
    return flow, problems.items


def _upgrade(data: dict[str, Any], problems: Problems) -> dict[str, Any]:
    """Bring data of an older format version up to the current one."""
    version, newest = data.get("format"), current_format()
    if "format" not in data:
        return data  # reported as a missing field with the others
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= newest:
        problems.error(("format",), f"unknown format version (the newest is {newest})", version)
    else:
        while data["format"] < newest:
            data = MIGRATIONS[data["format"]](data)
    return data


def _fields(
    data: Mapping[str, Any],
    path: Path,
    allowed: tuple[str, ...],
    required: tuple[str, ...],
    problems: Problems,
) -> None:
    """Report unknown and missing fields of a mapping."""
    for key in data:
        if key not in allowed:
            problems.error(
                (*path, key), f"unknown field (expected one of {', '.join(allowed)})", key
            )
    for key in required:
        if key not in data:
            problems.error((*path, key), "this field is required but missing")


def _languages(data: Mapping[str, Any], problems: Problems) -> tuple[str, ...]:
    """The flow's required languages: a list of two-letter codes, no repeats."""
    raw = data.get("languages")
    if "languages" not in data:
        return ()
    if not (isinstance(raw, list) and raw and all(isinstance(item, str) for item in raw)):
        problems.error(("languages",), "languages must be a list of codes like [en, es]", raw)
        return ()
    for index, code in enumerate(raw):
        if not LANGUAGE.match(code):
            problems.error(("languages", index), "a language is a two-letter code like en", code)
        elif raw.index(code) != index:
            problems.error(("languages", index), "this language is listed twice", code)
    return tuple(raw)


def _duration(
    data: Mapping[str, Any], key: str, path: Path, problems: Problems
) -> timedelta | None:
    """Read an optional duration field."""
    if key not in data:
        return None
    try:
        return parse_duration(data[key])
    except ValueError as error:
        problems.error((*path, key), str(error), data[key])
        return None


def _texts(value: Any, path: Path, problems: Problems) -> dict[str, str]:
    """A mapping of language code to non-empty text."""
    if not isinstance(value, Mapping):
        problems.error(
            path, "must be a mapping of language to text, like {en: ..., es: ...}", value
        )
        return {}
    texts: dict[str, str] = {}
    for language, text in value.items():
        if not (isinstance(language, str) and LANGUAGE.match(language)):
            problems.error((*path, language), "a language is a two-letter code like en", language)
        elif not (isinstance(text, str) and text.strip()):
            problems.error((*path, language), "must be some text", text)
        else:
            texts[language] = text
    return texts


def _state(name: Any, raw: Any, problems: Problems) -> State | None:
    """One state, or None when its name or shape is beyond use."""
    path: Path = ("states", name)
    if not (isinstance(name, str) and NAME.match(name)):
        problems.error(path, "a state name must be lowercase letters, digits and _", name)
        return None
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        problems.error(path, "a state must be a mapping (say, wait, routes...)", raw)
        return None
    _fields(raw, path, STATE_FIELDS, (), problems)
    say = _texts(raw["say"], (*path, "say"), problems) if "say" in raw else {}
    discreet = _texts(raw["discreet"], (*path, "discreet"), problems) if "discreet" in raw else {}
    actions = _actions(raw.get("actions"), (*path, "actions"), problems)
    wait = _wait(raw["wait"], (*path, "wait"), problems) if "wait" in raw else None
    routes = _routes(raw.get("routes"), (*path, "routes"), problems)
    return State(name, say, discreet, actions, wait, routes, problems.line(path))


def _actions(raw: Any, path: Path, problems: Problems) -> tuple[ActionCall, ...]:
    """A list of action names or one-key mappings `name: {params}`."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.error(path, "actions must be a list", raw)
        return ()
    calls = []
    for index, item in enumerate(raw):
        if isinstance(item, str):
            calls.append(ActionCall(item, {}))
        elif isinstance(item, Mapping) and len(item) == 1:
            ((name, params),) = item.items()
            if params is None:
                params = {}
            if not isinstance(name, str) or not isinstance(params, Mapping):
                problems.error(
                    (*path, index), "write an action as `name` or `name: {param: value}`", item
                )
                continue
            calls.append(ActionCall(name, dict(params)))
        else:
            problems.error(
                (*path, index), "write an action as `name` or `name: {param: value}`", item
            )
    return tuple(calls)


def _routes(raw: Any, path: Path, problems: Problems) -> tuple[Route, ...]:
    """A list of `{when, goto}`; only the last may leave out `when`."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.error(path, "routes must be a list of {when: ..., goto: ...}", raw)
        return ()
    routes = []
    for index, item in enumerate(raw):
        here = (*path, index)
        if not isinstance(item, Mapping):
            problems.error(here, "a route is a mapping {when: ..., goto: ...}", item)
            continue
        _fields(item, here, ROUTE_FIELDS, ("goto",), problems)
        when, goto = item.get("when"), item.get("goto")
        if "when" in item and not (isinstance(when, str) and when.strip()):
            problems.error((*here, "when"), "a condition must be written as text", when)
            continue
        if "goto" in item and not isinstance(goto, str):
            problems.error((*here, "goto"), "goto must be the name of a state", goto)
            continue
        if index > 0 and routes and routes[-1].when is None:
            problems.error(here, "never taken: the route before it has no 'when'", goto)
        if isinstance(goto, str):
            routes.append(Route(when, goto))
    return tuple(routes)


def _wait(raw: Any, path: Path, problems: Problems) -> Wait | None:
    """The answer a state waits for, checked against its kind."""
    if not isinstance(raw, Mapping):
        problems.error(path, "wait must be a mapping (answer, save...)", raw)
        return None
    kind = raw.get("answer")
    if kind not in ANSWER_KINDS:
        if "answer" not in raw:
            problems.error(
                (*path, "answer"), f"this field is required (one of {', '.join(ANSWER_KINDS)})"
            )
        else:
            problems.error(
                (*path, "answer"), f"unknown answer kind (one of {', '.join(ANSWER_KINDS)})", kind
            )
        return None
    _fields(raw, path, WAIT_FIELDS + KIND_FIELDS.get(kind, ()), ("answer",), problems)

    save = raw.get("save")
    if "save" in raw and not _is_answer_name(save):
        problems.error(
            (*path, "save"),
            "an answer name is lowercase letters, digits and _, and not a built-in name "
            f"({', '.join(sorted(RESERVED_NAMES))})",
            save,
        )
        save = None
    timeout = _duration(raw, "timeout", path, problems)
    on_timeout = raw.get("on_timeout")
    if "on_timeout" in raw and not isinstance(on_timeout, str):
        problems.error((*path, "on_timeout"), "on_timeout must be the name of a state", on_timeout)
        on_timeout = None
    if on_timeout is not None and "timeout" not in raw:
        problems.error((*path, "on_timeout"), "on_timeout needs a timeout", on_timeout)
    tries = _whole(raw, "tries", path, problems, DEFAULT_TRIES, minimum=1)
    retry = _texts(raw["retry"], (*path, "retry"), problems) if "retry" in raw else {}
    skip = _skip(raw["skip"], (*path, "skip"), problems) if "skip" in raw else {}

    low = high = None
    if kind == "number":
        for key in ("min", "max"):
            if key not in raw:
                problems.error((*path, key), "a number answer needs min and max")
        low = _whole(raw, "min", path, problems, None)
        high = _whole(raw, "max", path, problems, None)
        if low is not None and high is not None and low > high:
            problems.error((*path, "min"), f"min is more than max ({high})", low)
    max_length = _whole(raw, "max_length", path, problems, DEFAULT_MAX_LENGTH, minimum=1)
    options = _options(raw.get("options"), (*path, "options"), problems) if kind == "choice" else ()
    return Wait(
        kind, save, low, high, max_length or DEFAULT_MAX_LENGTH, options, timeout, on_timeout,
        tries or DEFAULT_TRIES, retry, skip,
    )  # fmt: skip


def _is_answer_name(name: Any) -> bool:
    return (
        isinstance(name, str)
        and NAME.match(name) is not None
        and name not in RESERVED_NAMES
        and not keyword.iskeyword(name)
    )


def _whole(
    raw: Mapping[str, Any],
    key: str,
    path: Path,
    problems: Problems,
    default: int | None,
    minimum: int | None = None,
) -> int | None:
    """An optional whole-number field, at least `minimum`."""
    if key not in raw:
        return default
    value = raw[key]
    if not isinstance(value, int) or isinstance(value, bool):
        problems.error((*path, key), "must be a whole number", value)
        return default
    if minimum is not None and value < minimum:
        problems.error((*path, key), f"must be at least {minimum}", value)
        return default
    return value


def _options(raw: Any, path: Path, problems: Problems) -> tuple[Option, ...]:
    """The options of a choice: each a value, a keypad digit 1-9 and a label per language."""
    if not (isinstance(raw, list) and raw):
        problems.error(path, "a choice answer needs a list of options", raw)
        return ()
    options = []
    for index, item in enumerate(raw):
        here = (*path, index)
        if not isinstance(item, Mapping):
            problems.error(here, "an option is a mapping (value, digit, label, words)", item)
            continue
        _fields(item, here, OPTION_FIELDS, ("value", "digit", "label"), problems)
        value, digit, goto = item.get("value"), item.get("digit"), item.get("goto")
        if "value" in item and not (isinstance(value, str) and value.strip()):
            problems.error((*here, "value"), "an option's value must be some text", value)
        if "digit" in item and not (
            isinstance(digit, int) and not isinstance(digit, bool) and 1 <= digit <= 9
        ):
            problems.error(
                (*here, "digit"), "a digit is a keypad key from 1 to 9 (0 is crisis help)", digit
            )
        if "goto" in item and not isinstance(goto, str):
            problems.error((*here, "goto"), "goto must be the name of a state", goto)
        label = _texts(item["label"], (*here, "label"), problems) if "label" in item else {}
        words = _words(item.get("words"), (*here, "words"), problems)
        if isinstance(value, str) and isinstance(digit, int) and label:
            options.append(
                Option(value, digit, label, words, goto if isinstance(goto, str) else None)
            )
    return tuple(options)


def _words(raw: Any, path: Path, problems: Problems) -> dict[str, tuple[str, ...]]:
    """An option's synonyms: language to a list of words (or one word)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.error(path, "words must be a mapping of language to a list of words", raw)
        return {}
    words: dict[str, tuple[str, ...]] = {}
    for language, items in raw.items():
        here = (*path, language)
        if isinstance(items, str | int) and not isinstance(items, bool):
            items = [items]
        if not (isinstance(language, str) and LANGUAGE.match(language)):
            problems.error(here, "a language is a two-letter code like en", language)
        elif not (isinstance(items, list) and all(isinstance(w, str | int) for w in items)):
            problems.error(here, "must be a list of words", items)
        else:
            words[language] = tuple(str(word) for word in items)
    return words


def _skip(raw: Any, path: Path, problems: Problems) -> dict[str, tuple[str, ...]]:
    """A wait's skip words: language to a non-empty list of words (or one word) meaning "no
    answer", like `{en: [skip, no], es: [paso, no]}`."""
    if not (isinstance(raw, Mapping) and raw):
        problems.error(
            path, "skip must be a mapping of language to a list of words, like {en: [skip]}", raw
        )
        return {}
    skip: dict[str, tuple[str, ...]] = {}
    for language, items in raw.items():
        here = (*path, language)
        if isinstance(items, str | int) and not isinstance(items, bool):
            items = [items]
        if not (isinstance(language, str) and LANGUAGE.match(language)):
            problems.error(here, "a language is a two-letter code like en", language)
        elif not (isinstance(items, list) and items):
            problems.error(here, "must be a list of words", items)
        else:
            words = []
            for index, word in enumerate(items):
                if isinstance(word, str | int) and not isinstance(word, bool) and str(word).strip():
                    words.append(str(word))
                else:
                    problems.error((*here, index), "a skip word must be some text", word)
            skip[language] = tuple(words)
    return skip
