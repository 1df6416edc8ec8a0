"""Chat through a draft flow in memory: the engine's pure steps, nothing stored, nothing sent.

The page keeps the conversation's position and sends it back with each input, so the server
holds nothing between turns. Actions are shown as what the line would do, never done.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from smsline.engine import run, voice
from smsline.engine.format import Flow

LANGUAGES = ("en", "es")
CHANNELS = ("sms", "voice")
MAX_INPUT = 480


class BadTurn(ValueError):
    """The page sent something that is not a turn of a conversation."""


def position_from(data: Any, flow: Flow) -> run.Position | None:
    """The position the page sent back (None: not started), checked for shape."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise BadTurn("position must be an object")
    state, answers = data.get("state"), data.get("answers", {})
    tries, timed_out = data.get("tries", 0), data.get("timed_out", False)
    if not isinstance(state, str) or state not in flow.states:
        raise BadTurn("the conversation is at a state this draft does not have: start again")
    if (
        not isinstance(answers, dict)
        or not isinstance(tries, int)
        or not isinstance(timed_out, bool)
    ):
        raise BadTurn("position is malformed")
    return run.Position(state, answers, tries, timed_out)


def turn(
    flow: Flow,
    *,
    language: str,
    channel: str,
    position: run.Position | None,
    kind: str,
    text: str = "",
    today: date | None = None,
) -> dict[str, Any]:
    """One turn: start the flow, or answer (text or keypad digits), or let the wait time out.
    Returns what the member would get, and the new position (None once the flow ended)."""
    if language not in LANGUAGES or channel not in CHANNELS:
        raise BadTurn("unknown language or channel")
    if kind not in ("start", "text", "timeout") or len(text) > MAX_INPUT:
        raise BadTurn("unknown input")
    context = run.Context(language=language, channel=channel, today=today or date.today())
    if kind == "start" or position is None:
        step = run.start(flow, context)
    else:
        step = run.step(flow, position, run.Input(kind, text), context)
    replies: list[dict[str, Any]] = []
    if channel == "voice":
        plan = voice.plan(step, flow, context)
        replies.extend({"kind": "say", "text": said, "language": tag} for said, tag in plan.says)
        if plan.gather is not None:
            digits = plan.gather.num_digits
            replies.append({"kind": "gather", "text": f"(waits for {digits or 'any'} key(s))"})
    for effect in step.effects:
        if isinstance(effect, run.Say) and channel == "sms":
            replies.append({"kind": "say", "text": effect.text, "language": effect.language})
        elif isinstance(effect, run.Saved):
            replies.append({"kind": "note", "text": f"saved {effect.key} = {effect.value!r}"})
        elif isinstance(effect, run.Act):
            replies.append({"kind": "note", "text": f"would run {effect.name} {effect.params}"})
        elif isinstance(effect, run.CrisisOptions) and channel == "sms":
            replies.append({"kind": "note", "text": "would give the crisis options"})
        elif isinstance(effect, run.Ended):
            detail = f" ({effect.detail})" if effect.detail else ""
            replies.append({"kind": "note", "text": f"the flow ended: {effect.reason}{detail}"})
    position_out = asdict(step.position) if step.position is not None else None
    return {"replies": replies, "position": position_out}
