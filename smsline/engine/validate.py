"""Read flow files and check them, naming the file, line, state, field and value of each problem.

YAML is read with ruamel.yaml's round-trip loader, which keeps the line of every key. `load`
checks each flow's shape; `check` then looks at the whole flow: states that exist and are
reached, loops that never wait, translations, text length in SMS segments, choices that collide,
skip words, actions and their parameters, conditions and text variables (and their fallbacks). A folder is also checked as a set:
no two files may name the same flow, and `start_flow` must name one of them.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path as FilePath
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from smsline import segments
from smsline.engine import expressions
from smsline.engine.actions import ACTIONS, ENDING_ACTIONS, param_problems
from smsline.engine.answers import normalise, parse
from smsline.engine.format import CONTEXT_NAMES, TEXT_NAMES, Flow, FlowError, State, build
from smsline.engine.problems import LineMap, Path, Problem, Problems
from smsline.engine.text import longest, unreadable, variables

MAX_FILE_CHARS = 1_000_000
MAX_NODES = 100_000
MAX_SEGMENTS = 3
SEGMENT_WARNING = {"en": 1, "es": 2}  # Spanish accents force UCS-2: two segments are fair
PLACEHOLDER = "x" * 10  # what a variable counts as when measuring a text


def read_yaml(text: str, source: str = "<flow>") -> tuple[Any, dict[Path, int]]:
    """Parse YAML into plain data and the line of every key; raise FlowError on bad YAML."""
    if len(text) > MAX_FILE_CHARS:
        raise FlowError([_file_problem(source, f"the file is over {MAX_FILE_CHARS} characters")])
    try:
        document = YAML(typ="rt").load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = error.problem or error.context or "the YAML cannot be read"
        problem = Problem(source, line, None, "", None, f"YAML syntax error: {what}{where}")
        raise FlowError([problem]) from None
    except YAMLError as error:
        raise FlowError([_file_problem(source, f"YAML syntax error: {error}")]) from None
    lines: dict[Path, int] = {(): 1}
    counter = [0]
    data = _plain(document, (), lines, counter)
    if counter[0] > MAX_NODES:
        raise FlowError([_file_problem(source, f"the file has over {MAX_NODES} values")])
    return data, lines


def _file_problem(source: str, message: str) -> Problem:
    return Problem(source, None, None, "", None, message)


def _plain(node: Any, path: Path, lines: dict[Path, int], counter: list[int]) -> Any:
    """ruamel's round-trip objects as plain dicts, lists and scalars, noting each key's line."""
    counter[0] += 1
    if counter[0] > MAX_NODES:
        return None
    if isinstance(node, CommentedMap):
        result = {}
        for key, value in node.items():
            key = _scalar(key)
            try:
                lines[(*path, key)] = node.lc.key(key)[0] + 1
            except (KeyError, TypeError, AttributeError):
                pass
            result[key] = _plain(value, (*path, key), lines, counter)
        return result
    if isinstance(node, CommentedSeq):
        result_list = []
        for index, value in enumerate(node):
            try:
                lines[(*path, index)] = node.lc.item(index)[0] + 1
            except (KeyError, TypeError, AttributeError, IndexError):
                pass
            result_list.append(_plain(value, (*path, index), lines, counter))
        return result_list
    return _scalar(node)


def _scalar(value: Any) -> Any:
    """A YAML scalar as a plain Python value (dates and tagged values as text)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, TaggedScalar):
        return str(value.value)
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    return str(value)


def validate_text(text: str, source: str = "<flow>") -> list[Problem]:
    """Every problem of one flow file's text (an empty list when it is clean)."""
    _flow, _lines, problems = _read(text, source)
    return problems


def validate_path(path: str | FilePath) -> list[Problem]:
    """Every problem of a flow file, or of the *.yaml files of a folder checked together."""
    path = FilePath(path)
    if not path.exists():
        return [_file_problem(str(path), "no such file or folder")]
    files = flow_files(path)
    if not files:
        return [_file_problem(str(path), "no flow files (*.yaml) in this folder")]
    problems: list[Problem] = []
    loaded: list[tuple[Flow, LineMap]] = []
    for file in files:
        flow, lines, found = _read_file(file)
        problems.extend(found)
        if flow is not None:
            loaded.append((flow, lines))
    if path.is_dir():
        problems.extend(_check_together(loaded))
    return _ordered(problems)


def flow_files(path: str | FilePath) -> list[FilePath]:
    """The flow files at a path: the file itself, or a folder's *.yaml and *.yml files."""
    path = FilePath(path)
    if path.is_dir():
        return sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
    return [path] if path.is_file() else []


def load_file(path: str | FilePath) -> Flow:
    """Load a flow file, raising FlowError when it has any error (warnings are allowed)."""
    flow, _lines, problems = _read_file(FilePath(path))
    if flow is None or any(problem.severity == "error" for problem in problems):
        raise FlowError(problems)
    return flow


def summarise(problems: list[Problem], files: int | None = None) -> str:
    """One line a problem, then a count: what `smsline flows validate` prints."""
    errors = sum(1 for problem in problems if problem.severity == "error")
    warnings = len(problems) - errors
    checked = f" in {_count(files, 'flow file')}" if files is not None else ""
    if not problems:
        tail = f"{_count(files, 'flow file')} checked: no problems." if files else "No problems."
        return tail
    tail = f"{_count(errors, 'error')}, {_count(warnings, 'warning')}{checked}."
    return "\n".join([*(str(problem) for problem in problems), tail])


def _count(number: int | None, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _read_file(path: FilePath) -> tuple[Flow | None, LineMap, list[Problem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, {}, [_file_problem(str(path), f"cannot read the file: {error}")]
    return _read(text, str(path))


def _read(text: str, source: str) -> tuple[Flow | None, LineMap, list[Problem]]:
    """Parse, build and check one flow; the flow is returned even when it has problems."""
    try:
        data, lines = read_yaml(text, source)
    except FlowError as error:
        return None, {}, error.problems
    flow, problems = build(data, source, lines)
    if flow is None:
        return None, lines, problems
    return flow, lines, _ordered([*problems, *check(flow, lines)])


def _ordered(problems: Iterable[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda problem: (problem.source, problem.line or 0))


def check(flow: Flow, lines: LineMap | None = None) -> list[Problem]:
    """The whole-flow problems of a loaded flow (lines place them in its file, when known)."""
    problems = Problems(flow.source, lines)
    saved = {state.wait.save for state in flow.states.values() if state.wait and state.wait.save}
    _check_references(flow, problems)
    _check_reachable(flow, problems)
    _check_loops(flow, problems)
    for state in flow.states.values():
        _check_texts(flow, state, saved, problems)
        _check_choice(flow, state, problems)
        _check_skip(flow, state, problems)
        _check_actions(flow, state, saved, problems)
        for index, route in enumerate(state.routes):
            message = route.when and expressions.check(route.when, CONTEXT_NAMES | saved)
            if message:
                problems.error(("states", state.name, "routes", index, "when"), message, route.when)
    return problems.items


def _targets(state: State) -> list[tuple[Path, str]]:
    """Every state this one can go to, with the path that names it."""
    here = ("states", state.name)
    found = [((*here, "routes", i, "goto"), route.goto) for i, route in enumerate(state.routes)]
    if state.wait:
        found += [
            ((*here, "wait", "options", i, "goto"), option.goto)
            for i, option in enumerate(state.wait.options)
            if option.goto
        ]
        if state.wait.on_timeout:
            found.append(((*here, "wait", "on_timeout"), state.wait.on_timeout))
    return found


def _check_references(flow: Flow, problems: Problems) -> None:
    if isinstance(flow.start, str) and flow.start not in flow.states:
        problems.error(("start",), "there is no state of this name", flow.start)
    for state in flow.states.values():
        for path, target in _targets(state):
            if target not in flow.states:
                problems.error(path, "there is no state of this name", target)


def _check_reachable(flow: Flow, problems: Problems) -> None:
    if not isinstance(flow.start, str) or flow.start not in flow.states:
        return  # reported already: every state would look unreached
    reached, waiting = set(), [flow.start]
    while waiting:
        name = waiting.pop()
        if name in reached or name not in flow.states:
            continue
        reached.add(name)
        waiting.extend(target for _path, target in _targets(flow.states[name]))
    for name in flow.states:
        if name not in reached:
            problems.error(("states", name), f"never reached from the start state '{flow.start}'")


def _check_loops(flow: Flow, problems: Problems) -> None:
    """States whose routes can go round and round without ever waiting for an answer."""

    def passes_through(name: str) -> bool:
        state = flow.states.get(name)
        return (
            state is not None
            and state.wait is None
            and not any(action.name in ENDING_ACTIONS for action in state.actions)
        )

    def onward(name: str) -> set[str]:
        """The pass-through states reached from `name` by routes alone."""
        seen: set[str] = set()
        waiting = [route.goto for route in flow.states[name].routes]
        while waiting:
            target = waiting.pop()
            if target not in seen and passes_through(target):
                seen.add(target)
                waiting.extend(route.goto for route in flow.states[target].routes)
        return seen

    reach = {name: onward(name) for name in flow.states if passes_through(name)}
    reported: set[frozenset[str]] = set()
    for name, reached in reach.items():
        if name not in reached:
            continue
        loop = frozenset({name} | {other for other in reached if name in reach[other]})
        if loop not in reported:
            reported.add(loop)
            members = ", ".join(other for other in flow.states if other in loop)
            problems.error(
                ("states", name, "routes"),
                f"these states can route to each other without waiting for an answer: {members}",
            )


def _check_texts(flow: Flow, state: State, saved: set[str], problems: Problems) -> None:
    """Translations, variables and SMS length of a state's messages."""
    here = ("states", state.name)
    messages = [((*here, "say"), state.say), ((*here, "discreet"), state.discreet)]
    if state.wait:
        messages.append(((*here, "wait", "retry"), state.wait.retry))
        for index, option in enumerate(state.wait.options):
            for language in flow.languages:
                if language not in option.label:
                    path = (*here, "wait", "options", index, "label", language)
                    problems.error(path, f"no '{language}' label for this option")
    for path, texts in messages:
        if not texts:
            continue
        for language in flow.languages:
            if language not in texts:
                problems.error((*path, language), f"no '{language}' translation")
        for language, text in texts.items():
            _check_variables((*path, language), text, saved, problems)
            _check_length((*path, language), language, text, problems)


def _check_variables(path: Path, text: str, saved: set[str], problems: Problems) -> None:
    known = TEXT_NAMES | saved
    for written in unreadable(text):
        problems.error(
            path,
            "write a variable as ${name} or ${name|fallback}, with a plain fallback "
            "(no $, { or } in it)",
            written,
        )
    for name in sorted(variables(text) - known):
        problems.error(
            path,
            f"unknown variable '${name}' (known: {', '.join(sorted(known))})",
            text,
        )


def _check_length(path: Path, language: str, text: str, problems: Problems) -> None:
    measured = longest(text, PLACEHOLDER)  # a fallback counts with its own letters
    size = segments.count(measured)
    described = f"{size.segments} SMS segments ({size.encoding}, {size.units} characters)"
    if size.segments > MAX_SEGMENTS:
        problems.error(path, f"the text is {described}; {MAX_SEGMENTS} at most", text)
    elif size.segments > SEGMENT_WARNING.get(language, 1):
        limit = SEGMENT_WARNING.get(language, 1)
        problems.warning(path, f"the text is {described}; aim for {limit} in '{language}'", text)


def _check_choice(flow: Flow, state: State, problems: Problems) -> None:
    """Digits, values, labels and words that would name two options at once."""
    if not state.wait or state.wait.answer != "choice":
        return
    options = state.wait.options
    here = ("states", state.name, "wait", "options")
    common: dict[str, int] = {}
    for index, option in enumerate(options):
        for key, word in (("digit", str(option.digit)), ("value", option.value)):
            form = normalise(word)
            if form in common and common[form] != index:
                other = options[common[form]].value
                problems.error((*here, index, key), f"also names the option '{other}'", word)
            common.setdefault(form, index)
    languages = sorted({*flow.languages, *(lang for o in options for lang in (*o.label, *o.words))})
    for language in languages:
        owners = dict(common)
        for index, option in enumerate(options):
            entries = [((*here, index, "label", language), option.label.get(language))]
            entries += [
                ((*here, index, "words", language), word) for word in option.words.get(language, ())
            ]
            for path, word in entries:
                form = normalise(word or "")
                if not form:
                    continue
                if form in owners and owners[form] != index:
                    other = options[owners[form]].value
                    problems.error(path, f"also names the option '{other}' ({language})", word)
                owners.setdefault(form, index)


def _check_skip(flow: Flow, state: State, problems: Problems) -> None:
    """Skip words: in the flow's languages (all of them), readable, and never an answer too."""
    if not state.wait or not state.wait.skip:
        return
    here = ("states", state.name, "wait", "skip")
    answering = replace(state.wait, skip={})
    for language in flow.languages:
        if language not in state.wait.skip:
            problems.error((*here, language), f"no '{language}' skip words")
    for language, words in state.wait.skip.items():
        if language not in flow.languages:
            known = ", ".join(flow.languages)
            problems.error(
                (*here, language), f"not one of the flow's languages ({known})", language
            )
        for index, word in enumerate(words):
            path = (*here, language, index)
            if not normalise(word):
                problems.error(path, "a skip word needs a letter or a digit", word)
            elif normalise(word) == "0":
                problems.error(
                    path, "0 is crisis help on a call, so it cannot be a skip word", word
                )
            elif answering.answer != "text" and (found := parse(answering, word, language)).ok:
                if answering.answer == "choice":
                    message = f"also names the option '{found.value}'"
                else:
                    message = f"also an answer to this question ({found.value!r})"
                problems.error(path, f"{message}: a skip word must not be an answer", word)


def _check_actions(flow: Flow, state: State, saved: set[str], problems: Problems) -> None:
    here = ("states", state.name)
    for index, call in enumerate(state.actions):
        path = (*here, "actions", index)
        if call.name not in ACTIONS:
            known = ", ".join(sorted(ACTIONS))
            problems.error(path, f"unknown action (known: {known})", call.name)
            continue
        for param, message in param_problems(call.name, call.params):
            value = call.params.get(param) if param else call.name
            problems.error((*path, param) if param else path, message, value)
        for param in ACTIONS[call.name].states:
            value = call.params.get(param)
            if isinstance(value, str) and value not in flow.states:
                problems.error((*path, param), "there is no state of this name", value)
        for param, value in call.params.items():
            if isinstance(value, str):
                _check_variables((*path, param), value, saved, problems)
        if call.name in ENDING_ACTIONS:
            _check_after_end(state, index, call.name, problems)
            return


def _check_after_end(state: State, index: int, action: str, problems: Problems) -> None:
    """Nothing after `end` or `start_flow` in a state ever happens."""
    here = ("states", state.name)
    for later in range(index + 1, len(state.actions)):
        problems.error(
            (*here, "actions", later),
            f"never runs: the flow ends at '{action}' before it",
            state.actions[later].name,
        )
    if state.wait:
        problems.error((*here, "wait"), f"never used: the flow ends at '{action}' before it")
    if state.routes:
        problems.error((*here, "routes"), f"never used: the flow ends at '{action}' before it")


def _check_together(loaded: list[tuple[Flow, LineMap]]) -> list[Problem]:
    """A folder's flows as a set: unique names, and `start_flow` naming one of them."""
    found: list[Problem] = []
    names: dict[str, str] = {}
    for flow, lines in loaded:
        problems = Problems(flow.source, lines)
        if flow.name in names:
            problems.error(("flow",), f"{names[flow.name]} has this flow name too", flow.name)
        names.setdefault(flow.name, flow.source)
        found.extend(problems.items)
    for flow, lines in loaded:
        problems = Problems(flow.source, lines)
        for state in flow.states.values():
            for index, call in enumerate(state.actions):
                target = call.params.get("flow")
                if call.name == "start_flow" and isinstance(target, str) and target not in names:
                    path = ("states", state.name, "actions", index, "flow")
                    problems.error(path, "no flow of this name in the folder", target)
        found.extend(problems.items)
    return found
