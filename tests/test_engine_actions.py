"""The action registry: every action of the flow format, parameter checks, and registering more."""

from __future__ import annotations

import pytest

from smsline.engine import actions
from smsline.engine.actions import ACTIONS, ActionSpec, check_params, register

SPEC_ACTIONS = {
    "set_field",
    "set_language",
    "set_discreet",
    "record_consent",
    "set_checkin",
    "set_checkin_by",
    "pause_checkins",
    "resume_checkins",
    "save_checkin",
    "start_flow",
    "request_peer",
    "search_meetings",
    "subscribe_meeting",
    "unsubscribe_meeting",
    "notify_coordinators",
    "end",
}


def test_every_action_of_the_format_is_registered() -> None:
    assert set(ACTIONS) >= SPEC_ACTIONS
    assert all(spec.description for spec in ACTIONS.values())


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("set_field", {"field": "nickname", "value": "$name"}),
        ("set_language", {"value": "es"}),
        ("set_discreet", {"value": True}),
        ("record_consent", {"purpose": "checkins", "wording": "consent"}),
        ("set_checkin", {"time": "09:30", "days": ["mon", "wed"]}),
        ("set_checkin", {"time": "$when", "days": "daily"}),
        ("pause_checkins", {"days": 7}),
        ("resume_checkins", {}),
        ("start_flow", {"flow": "meetings"}),
        ("request_peer", {}),
        ("notify_coordinators", {"reason": "high craving"}),
        ("end", {}),
    ],
)
def test_good_params(name: str, params: dict) -> None:
    assert check_params(name, params) == []


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("fly", {}, "unknown action 'fly'"),
        ("set_field", {"field": "nickname"}, "needs the parameter 'value'"),
        ("set_field", {"field": "ssn", "value": "1"}, "must be one of"),
        ("set_discreet", {"value": "yes"}, "true or false"),
        ("set_checkin", {"time": "9am"}, "HH:MM"),
        ("set_checkin", {"time": "09:00", "days": ["funday"]}, "list of mon"),
        ("pause_checkins", {"days": 0}, "above 0"),
        ("start_flow", {"flow": "Meetings!"}, "must be a name"),
        ("end", {"now": True}, "has no parameter 'now'"),
    ],
)
def test_bad_params(name: str, params: dict, message: str) -> None:
    assert any(message in problem for problem in check_params(name, params))


def test_a_later_feature_registers_its_action(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(actions, "ACTIONS", dict(ACTIONS))
    spec = ActionSpec("join_circle", {"circle": actions.text}, frozenset({"circle"}), "join")
    register(spec)
    assert check_params("join_circle", {"circle": "tuesday"}) == []
    with pytest.raises(ValueError):
        register(spec)
    register(spec, replace=True)
