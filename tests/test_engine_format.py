"""The flow format: durations, loading, shape problems, and format-version migrations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from smsline.engine import format as flow_format
from smsline.engine.format import FlowError, Problem, current_format, load, parse_duration


def minimal(**changes: Any) -> dict[str, Any]:
    data = {
        "flow": "hello",
        "format": 1,
        "default_language": "en",
        "languages": ["en"],
        "expires_after": "1d",
        "start": "hi",
        "states": {"hi": {"say": {"en": "Hi!"}}},
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("3h", timedelta(hours=3)),
        ("2d", timedelta(days=2)),
        (" 12h ", timedelta(hours=12)),
    ],
)
def test_parse_duration(text: str, duration: timedelta) -> None:
    assert parse_duration(text) == duration


@pytest.mark.parametrize("text", ["", "3", "h", "3 hours", "1.5h", "0m", "-1h", "9999999d", 3])
def test_parse_duration_rejects(text: Any) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_load_builds_the_dataclasses() -> None:
    flow = load(minimal(), "hello.yaml")
    assert flow.name == "hello" and flow.languages == ("en",)
    assert flow.expires_after == timedelta(days=1)
    assert flow.states["hi"].say == {"en": "Hi!"}
    assert flow.source == "hello.yaml"


def test_load_lists_every_shape_problem() -> None:
    data = minimal(extra=1, expires_after="soon")
    del data["start"]
    with pytest.raises(FlowError) as raised:
        load(data, "hello.yaml")
    messages = [problem.message for problem in raised.value.problems]
    assert any(p.field == "start" and "missing" in p.message for p in raised.value.problems)
    assert any("unknown field" in m for m in messages)
    assert any("duration" in m for m in messages)


def test_a_problem_reads_as_one_line() -> None:
    problem = Problem("flows/checkin.yaml", 12, "mood", "wait.min", "9", "min is more than max (5)")
    assert str(problem) == (
        "flows/checkin.yaml:12: state 'mood', field 'wait.min': min is more than max (5) (value '9')"
    )
    warning = Problem("f.yaml", None, None, "", None, "long", "warning")
    assert str(warning) == "f.yaml: warning: long"


def test_an_unknown_format_version_is_refused() -> None:
    with pytest.raises(FlowError, match="unknown format version"):
        load(minimal(format=99))


def test_a_migration_upgrades_older_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding format 2 is one function in MIGRATIONS; format 1 data then loads through it."""

    def rename_hello(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "format": 2, "flow": data["flow"] + "_v2"}

    monkeypatch.setitem(flow_format.MIGRATIONS, 1, rename_hello)
    assert current_format() == 2
    flow = load(minimal())
    assert flow.format == 2 and flow.name == "hello_v2"


def note(**wait: Any) -> dict[str, Any]:
    """A flow whose one state waits for a note, with these wait fields."""
    return minimal(
        states={"hi": {"say": {"en": "A note?"}, "wait": {"answer": "text", "save": "n", **wait}}}
    )


def test_skip_words_load_per_language() -> None:
    flow = load(note(skip={"en": ["skip", "no"], "es": "paso"}))
    wait = flow.states["hi"].wait
    assert wait is not None and wait.skip == {"en": ("skip", "no"), "es": ("paso",)}
    assert load(note()).states["hi"].wait.skip == {}


@pytest.mark.parametrize(
    ("skip", "message"),
    [
        (["skip"], "skip must be a mapping of language to a list of words"),
        ({}, "skip must be a mapping of language to a list of words"),
        ({"english": ["skip"]}, "a language is a two-letter code"),
        ({"en": []}, "must be a list of words"),
        ({"en": None}, "must be a list of words"),
        ({"en": ["skip", ""]}, "a skip word must be some text"),
        ({"en": ["skip", "  "]}, "a skip word must be some text"),
        ({"en": [True]}, "a skip word must be some text"),
    ],
)
def test_bad_skip_words(skip: Any, message: str) -> None:
    with pytest.raises(FlowError) as raised:
        load(note(skip=skip))
    assert any(message in problem.message for problem in raised.value.problems)
    assert all(problem.field.startswith("wait.skip") for problem in raised.value.problems)
