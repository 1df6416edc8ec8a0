"""Step a conversation through a flow: a pure function from (flow, position, input) to a Step.

Entering a state says its text, runs its actions (each returned as an `Act` effect for the
edge to apply) and then waits for an answer or follows its routes at once. The edge stores the
Step's position (None once the flow has ended), applies the effects in one transaction and
schedules the wait timeout. Nothing here touches a database, a queue or the network, and no
input makes it raise: an inconsistency ends the conversation with the reason "error".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from smsline.engine import answers, expressions
from smsline.engine.actions import ENDING_ACTIONS, is_variable
from smsline.engine.format import Flow, State, Wait
from smsline.engine.text import format_date, render

MAX_STATES_PER_STEP = 50

GIVE_UP = {
    "en": "No problem, we can do this another time.",
    "es": "No hay problema, lo hacemos en otro momento.",
}


@dataclass(frozen=True)
class Context:
    """What the engine knows of the member and the channel for this step."""

    language: str = "en"
    discreet: bool = False
    channel: str = "sms"  # or "voice"
    nickname: str | None = None
    program: str = "Recovery Line"
    today: date | None = None
    streak: int = 0  # answered check-in days in a row (a `save_checkin` today adds today)
    checked_in_today: bool = False  # today already counts in `streak`
    peer_offered_today: bool = False  # a check-in already raised a risk flag today (`flag_risk`)
    texting_window: tuple[str, str] = ("09:00", "20:00")  # automated texts only: "HH:MM" local


@dataclass(frozen=True)
class Input:
    """What happened: "start", a "text" (or keypad digits, or speech), a "timeout", an "expire"."""

    kind: str
    text: str = ""


@dataclass(frozen=True)
class Position:
    """Where a conversation waits: what the database stores (answers are JSON values)."""

    state: str
    answers: dict[str, Any] = field(default_factory=dict)
    tries: int = 0
    timed_out: bool = False


@dataclass(frozen=True)
class Say:
    """Send (or speak) this text."""

    text: str
    language: str


@dataclass(frozen=True)
class Saved:
    """An answer was saved under `key`."""

    key: str
    value: Any


@dataclass(frozen=True)
class Act:
    """Run a registry action with these parameters ($variables already filled in)."""

    name: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Ask:
    """The conversation now waits for this answer (a voice call gathers it)."""

    wait: Wait
    language: str


@dataclass(frozen=True)
class CrisisOptions:
    """On a call, 0 was pressed at a menu: give the crisis options."""


@dataclass(frozen=True)
class Ended:
    """The flow ended: done, tries, expired, timeout, start_flow, loop or error."""

    reason: str
    detail: str = ""


Effect = Say | Saved | Act | Ask | CrisisOptions | Ended


@dataclass(frozen=True)
class Step:
    """The outcome of one input: the new position (None once ended), effects, timeout to set."""

    position: Position | None
    effects: tuple[Effect, ...]
    timeout: timedelta | None = None


def start(flow: Flow, context: Context) -> Step:
    """Begin `flow` at its start state."""
    return _safely(lambda: _enter(flow, flow.start, {}, context, []))


def step(flow: Flow, position: Position, input: Input, context: Context) -> Step:
    """Move the conversation waiting at `position` on by one input."""
    return _safely(lambda: _step(flow, position, input, context))


def _safely(run: Callable[[], Step]) -> Step:
    """Run a step; an internal inconsistency ends the conversation instead of raising."""
    try:
        return run()
    except Exception as error:  # noqa: BLE001 - the engine must answer every input
        return _end([], "error", f"{type(error).__name__}: {error}")


def _step(flow: Flow, position: Position, input: Input, context: Context) -> Step:
    if input.kind == "start":
        return _enter(flow, flow.start, {}, context, [])
    if input.kind == "expire":
        return _end([], "expired")
    state = flow.states.get(position.state)
    if state is None or state.wait is None:
        return _end([], "error", f"the conversation is at '{position.state}', which is not a wait")
    if input.kind == "timeout":
        return _timeout(flow, state, state.wait, position, context)
    if input.kind == "text":
        return _answer(flow, state, state.wait, position, input.text, context)
    return _end([], "error", f"unknown input kind '{input.kind}'")


def _answer(
    flow: Flow, state: State, wait: Wait, position: Position, text: str, context: Context
) -> Step:
    """Read a reply: save it and route on, or re-ask, or give up after `tries`."""
    text = text if isinstance(text, str) else ""
    if context.channel == "voice" and text.strip() == "0" and not answers.accepts_zero(wait):
        # The crisis options, then the question again (its text here, its menu with the Ask):
        # not a try, and the caller still knows what was asked.
        effects: list[Effect] = [CrisisOptions()]
        say = _say(flow, state, position.answers, context)
        if say:
            effects.append(say)
        return _wait_here(state, wait, position, context, effects)
    answer = answers.parse(wait, text, context.language)
    if not answer.ok:
        tries = position.tries + 1
        if tries >= wait.tries:
            language = _language(GIVE_UP, context.language, "en")
            return _end([Say(GIVE_UP[language], language)], "tries")
        retry = _retry(flow, wait, answer.reason, position, context)
        return _wait_here(state, wait, replace(position, tries=tries), context, [retry])
    effects = []
    values = dict(position.answers)
    if answer.skipped:  # a skip word: nothing saved, on as after an answer
        return _follow_routes(flow, state, values, context, effects)
    if wait.save:
        values[wait.save] = answer.value
        effects.append(Saved(wait.save, answer.value))
    if wait.answer == "choice":
        for option in wait.options:
            if option.value == answer.value and option.goto:
                return _enter(flow, option.goto, values, context, effects)
    return _follow_routes(flow, state, values, context, effects)


def _retry(flow: Flow, wait: Wait, reason: str | None, position: Position, context: Context) -> Say:
    """The state's own retry text, or one written from the answer kind."""
    if wait.retry:
        language = _language(wait.retry, context.language, flow.default_language)
        text = render(wait.retry[language], _values(position.answers, context, language), "")
        return Say(text, language)
    prompt = answers.reprompt(
        wait, context.language, reason, context.channel, flow.default_language
    )
    language = context.language if context.language in answers.REPROMPTS else "en"
    return Say(prompt, language)


def _timeout(flow: Flow, state: State, wait: Wait, position: Position, context: Context) -> Step:
    """No answer in time: go to on_timeout, or re-ask once and end quietly the second time."""
    if wait.on_timeout:
        return _enter(flow, wait.on_timeout, dict(position.answers), context, [])
    if position.timed_out:
        return _end([], "timeout")
    effects: list[Effect] = []
    say = _say(flow, state, position.answers, context)
    if say:
        effects.append(say)
    return _wait_here(state, wait, replace(position, timed_out=True), context, effects)


def _wait_here(
    state: State, wait: Wait, position: Position, context: Context, effects: list[Effect]
) -> Step:
    """Stay at this state, asking again."""
    effects.append(Ask(wait, context.language))
    return Step(replace(position, state=state.name), tuple(effects), wait.timeout)


def _enter(
    flow: Flow, name: str, values: dict[str, Any], context: Context, effects: list[Effect]
) -> Step:
    """Enter state `name` and go on until a wait or the end (at most 50 states)."""
    for _ in range(MAX_STATES_PER_STEP):
        state = flow.states.get(name)
        if state is None:
            return _end(effects, "error", f"there is no state '{name}'")
        say = _say(flow, state, values, context)
        if say:
            effects.append(say)
        for action in state.actions:
            params = {key: _param(value, values, context) for key, value in action.params.items()}
            if action.name == "end":
                return _end(effects, "done")
            effects.append(Act(action.name, params))
            if action.name in ENDING_ACTIONS:
                return _end(effects, action.name)
            context = _apply_to_context(action.name, params, context)
        if state.wait is not None:
            return _wait_here(state, state.wait, Position(name, values), context, effects)
        next_name = _route(state, values, context)
        if next_name is None:
            return _end(effects, "done")
        name = next_name
    return _end(
        effects, "loop", f"more than {MAX_STATES_PER_STEP} states in one step; check the routes"
    )


def _follow_routes(
    flow: Flow, state: State, values: dict[str, Any], context: Context, effects: list[Effect]
) -> Step:
    next_name = _route(state, values, context)
    if next_name is None:
        return _end(effects, "done")
    return _enter(flow, next_name, values, context, effects)


def _route(state: State, values: dict[str, Any], context: Context) -> str | None:
    """The first route whose condition holds (raises ExpressionError on a bad condition)."""
    names = {
        **values,
        "language": context.language,
        "discreet": context.discreet,
        "channel": context.channel,
        "nickname": context.nickname,
        "streak": context.streak,
        "peer_offered_today": context.peer_offered_today,
        "texting_window": answers.Window(*context.texting_window),
    }
    for route in state.routes:
        if route.when is None or expressions.evaluate(route.when, names):
            return route.goto
    return None


def _apply_to_context(action: str, params: dict[str, Any], context: Context) -> Context:
    """Later states of this step speak the language (and discretion, nickname) just set, and see
    the streak with today's check-in and today's peer offer."""
    value = params.get("value")
    if action == "save_checkin" and not context.checked_in_today:
        return replace(context, streak=context.streak + 1, checked_in_today=True)
    if action == "flag_risk":
        return replace(context, peer_offered_today=True)
    if action == "set_language" and isinstance(value, str) and value:
        return replace(context, language=value)
    if action == "set_discreet" and isinstance(value, bool):
        return replace(context, discreet=value)
    if action == "set_texting_window" and isinstance(params.get("from"), str):
        return replace(context, texting_window=(params["from"], str(params.get("until"))))
    if action == "set_field" and params.get("field") == "nickname" and isinstance(value, str):
        return replace(context, nickname=value)
    return context


def _say(flow: Flow, state: State, values: dict[str, Any], context: Context) -> Say | None:
    """The state's text for this member: discreet wording first when asked, then `say`.

    Discreet mode prefers the discreet text in the default language to the plain text in the
    member's language: what shows on a lock screen matters more than the language.
    """
    for texts in (state.discreet, state.say) if context.discreet else (state.say,):
        if texts:
            language = _language(texts, context.language, flow.default_language)
            return Say(render(texts[language], _values(values, context, language), ""), language)
    return None


def _language(texts: dict[str, str], wanted: str, default: str) -> str:
    """The member's language if there is text in it, else the default, else any."""
    if wanted in texts:
        return wanted
    if default in texts:
        return default
    return next(iter(texts))


def _values(answers_so_far: dict[str, Any], context: Context, language: str) -> dict[str, Any]:
    """What message text may show: the answers, then nickname, program, today and streak. A name
    with no value here (an answer not given yet, or skipped) is rendered as nothing."""
    return {
        **answers_so_far,
        "nickname": context.nickname,
        "program": context.program,
        "today": format_date(context.today, language) if context.today else None,
        "streak": context.streak,
        "texting_from": answers.show_time(context.texting_window[0]),
        "texting_until": answers.show_time(context.texting_window[1]),
    }


def _param(value: Any, values: dict[str, Any], context: Context) -> Any:
    """An action parameter: a lone `$variable` passes its value as is; text is rendered."""
    if is_variable(value):
        key = value.strip("${}")
        return _values(values, context, context.language).get(key)
    if isinstance(value, str):
        return render(value, _values(values, context, context.language), "")
    return value


def _end(effects: list[Effect], reason: str, detail: str = "") -> Step:
    return Step(None, (*effects, Ended(reason, detail)), None)
