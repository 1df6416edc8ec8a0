"""The registry of actions a flow may run: each a name, its parameters and what it does.

The engine does not carry actions out: it returns each as an `Act` effect, and the feature that
owns the action applies it. A feature that lands later registers its own spec with `register`,
so the engine never changes for it. Every parameter may also be a `$variable`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

# A parameter check takes the value and returns what is wrong with it, or None.
ParamCheck = Callable[[object], str | None]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_SETS = ("daily", "weekdays", "weekends")
MEMBER_FIELDS = ("nickname", "timezone", "zip")
VARIABLE = re.compile(r"^\$(\w+|\{\w+\})$")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


@dataclass(frozen=True)
class ActionSpec:
    """An action: its parameters (name to check), which are required, and what it does.

    `states` names the parameters whose value must be a state of the same flow.
    """

    name: str
    params: Mapping[str, ParamCheck]
    required: frozenset[str]
    description: str
    states: frozenset[str] = field(default_factory=frozenset)


def is_variable(value: object) -> bool:
    """Whether a parameter is a single `$variable` (it passes the variable's value as it is)."""
    return isinstance(value, str) and VARIABLE.match(value) is not None


def text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return None
    return "must be some text"


def boolean(value: object) -> str | None:
    if isinstance(value, bool) or is_variable(value):
        return None
    return "must be true or false"


def positive_number(value: object) -> str | None:
    if (isinstance(value, int) and not isinstance(value, bool) and value > 0) or is_variable(value):
        return None
    return "must be a whole number above 0"


def name(value: object) -> str | None:
    if isinstance(value, str) and NAME.match(value):
        return None
    return "must be a name: lowercase letters, digits and _"


def language(value: object) -> str | None:
    if (isinstance(value, str) and re.fullmatch(r"[a-z]{2}", value)) or is_variable(value):
        return None
    return "must be a language code such as en or es"


def time_of_day(value: object) -> str | None:
    if (isinstance(value, str) and TIME.match(value)) or is_variable(value):
        return None
    return "must be a time written HH:MM (24 hours)"


def days(value: object) -> str | None:
    if is_variable(value) or value in DAY_SETS:
        return None
    if isinstance(value, list) and value and all(day in DAYS for day in value):
        return None
    return f"must be {', '.join(DAY_SETS)} or a list of {', '.join(DAYS)}"


CHECKIN_CHANNELS = ("sms", "call")


def checkin_channel(value: object) -> str | None:
    if value in CHECKIN_CHANNELS or is_variable(value):
        return None
    return f"must be one of {', '.join(CHECKIN_CHANNELS)}"


def member_field(value: object) -> str | None:
    if value in MEMBER_FIELDS:
        return None
    return f"must be one of {', '.join(MEMBER_FIELDS)}"


def anything(value: object) -> str | None:
    if value is None:
        return "must have a value"
    return None


def _spec(
    name: str,
    description: str,
    params: Mapping[str, ParamCheck] | None = None,
    required: tuple[str, ...] = (),
    states: tuple[str, ...] = (),
) -> ActionSpec:
    return ActionSpec(name, dict(params or {}), frozenset(required), description, frozenset(states))


ACTIONS: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        _spec(
            "set_field",
            "set a member field from a value or $answer",
            {"field": member_field, "value": anything},
            ("field", "value"),
        ),
        _spec("set_language", "set the member's language", {"value": language}, ("value",)),
        _spec("set_discreet", "discreet wording on or off", {"value": boolean}, ("value",)),
        _spec(
            "record_consent",
            "add to the consent ledger: the purpose, the state whose text was the wording, and"
            " granted (default true; false records a no or a revocation)",
            {"purpose": text, "wording": name, "granted": boolean},
            ("purpose", "wording"),
            states=("wording",),
        ),
        _spec(
            "set_checkin", "check-in time and days", {"time": time_of_day, "days": days}, ("time",)
        ),
        _spec(
            "set_texting_window",
            "the member's own texting window: automated texts only from `from` until `until`",
            {"from": time_of_day, "until": time_of_day},
            ("from", "until"),
        ),
        _spec(
            "set_checkin_by",
            "check-ins by text (sms) or by phone call (call)",
            {"value": checkin_channel},
            ("value",),
        ),
        _spec("pause_checkins", "pause check-ins", {"days": positive_number}),
        _spec("resume_checkins", "resume check-ins"),
        _spec("save_checkin", "store this conversation's answers as a check-in record"),
        _spec("start_flow", "end this flow and start another", {"flow": name}, ("flow",)),
        _spec("request_peer", "ask for a peer supporter", {"reason": text}),
        _spec("search_meetings", "search meetings", {"query": text}),
        _spec("text_meetings", "on a call: text the details of the meetings read out"),
        _spec("subscribe_meeting", "meeting reminders on", {"meeting": text}, ("meeting",)),
        _spec("unsubscribe_meeting", "meeting reminders off", {"meeting": text}, ("meeting",)),
        _spec("show_meeting_reminders", "text the member their meeting reminders, numbered"),
        _spec(
            "set_early_reminders",
            "meeting reminders may come before the texting window opens (from 6am)",
            {"value": boolean},
            ("value",),
        ),
        _spec(
            "notify_coordinators",
            "tell the coordinators (a text and a follow-up item)",
            {"reason": text},
            ("reason",),
        ),
        _spec(
            "flag_risk",
            "a check-in raised a risk flag: a follow-up for supporters, and the peer offer "
            "counts as today's",
        ),
        _spec("end", "end the flow here"),
    )
}

# Actions that end the flow: nothing after them in a state runs.
ENDING_ACTIONS = frozenset({"end", "start_flow"})


def register(spec: ActionSpec, replace: bool = False) -> None:
    """Add an action to the registry (a feature's own action); `replace` to change one."""
    if spec.name in ACTIONS and not replace:
        raise ValueError(f"the action '{spec.name}' is already registered")
    ACTIONS[spec.name] = spec


def param_problems(action: str, params: Mapping[str, object]) -> list[tuple[str | None, str]]:
    """What is wrong with an action call, as (parameter or None, message) pairs."""
    spec = ACTIONS.get(action)
    if spec is None:
        return [(None, f"unknown action '{action}'")]
    problems: list[tuple[str | None, str]] = []
    for param in sorted(spec.required - set(params)):
        problems.append((param, f"'{action}' needs the parameter '{param}'"))
    for param, value in params.items():
        check = spec.params.get(param)
        if check is None:
            known = ", ".join(sorted(spec.params)) or "none"
            problems.append((param, f"'{action}' has no parameter '{param}' (it takes: {known})"))
            continue
        message = check(value)
        if message:
            problems.append((param, f"'{action}' parameter '{param}' {message}"))
    return problems


def check_params(action: str, params: Mapping[str, object]) -> list[str]:
    """What is wrong with an action call, one message a problem (empty when all is well)."""
    return [message for _param, message in param_problems(action, params)]
