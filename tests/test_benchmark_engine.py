"""benchmarks/engine.py: its scripted answers still fit the flows it drives, and a tiny run prints
the one JSON line with figures that add up. The benchmark itself runs by hand, never as a test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import engine
from smsline.engine import answers
from smsline.engine.format import Flow, FlowError
from smsline.engine.validate import flow_files, load_file


def flows(folder: Path) -> list[Flow]:
    """The folder's flows that load (a broken file is the validator tests' to report, not ours)."""
    loaded = []
    for path in flow_files(folder):
        try:
            loaded.append(load_file(path))
        except FlowError:
            continue
    return loaded


WAITS = [
    pytest.param(state.wait, id=f"{folder.name}/{flow.name}.{state.name}")
    for folder in (engine.BUILT_IN, engine.FALLBACK)
    for flow in flows(folder)
    for state in flow.states.values()
    if state.wait is not None
]


@pytest.mark.parametrize("wait", WAITS)
def test_scripted_answers_fit_each_wait_and_the_invalid_one_does_not(wait) -> None:  # noqa: ANN001
    for language in ("en", "es"):
        for channel in ("sms", "voice"):
            for turn in range(6):
                reply = engine.valid_reply(wait, language, channel, turn)
                assert answers.parse(wait, reply, language).ok, (reply, language, channel)
        assert not answers.parse(wait, engine.invalid_reply(wait), language).ok


def test_without_built_in_flows_it_measures_the_test_flows(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(engine, "BUILT_IN", tmp_path)
    assert engine.flows_folder(None) == (engine.FALLBACK, "tests/flows_small")


def test_a_quick_run_prints_one_json_line_that_adds_up(capsys) -> None:  # noqa: ANN001
    assert engine.main(["--quick", "--flows", str(engine.FALLBACK)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["flows"] == "tests/flows_small"
    assert result["flow_names"] == ["checkin", "menu", "welcome"]
    assert result["steps"] >= 3000 and result["steps_per_s"] > 0
    assert result["engine_errors"] == 0
    # Both passes posted the same texts, got the same answers, and the stand-in knew every step.
    assert result["answers_match"] and result["stand_in_misses"] == 0
    assert result["requests"] == 2 * result["requests_per_block"] > 0
    assert result["engine_calls_per_request"] >= 1 and result["engine_us_per_request"] > 0
    assert 0 < result["engine_share_timed"] < 1
    assert result["webhook_ms_with"] > 0 and result["webhook_ms_without"] > 0
    share = (result["webhook_ms_with"] - result["webhook_ms_without"]) / result["webhook_ms_with"]
    assert result["engine_share"] == pytest.approx(share, abs=0.01)
