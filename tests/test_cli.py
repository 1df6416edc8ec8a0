"""The `smsline` command: db upgrade, numbers, supporters, settings, tick."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from smsline.cli import main
from smsline.models import AuditEntry, LineNumber, Setting, Supporter
from tests.conftest import DATA_KEY, INDEX_KEY


@pytest.fixture
def run(config, monkeypatch):  # noqa: ANN001, ANN201
    """Invoke the CLI in production mode against the test database."""
    env = {
        "DATABASE_URL": config.database_url,
        "SMSLINE_SECRET_KEY": config.secret_key,
        "SMSLINE_DATA_KEY": DATA_KEY,
        "SMSLINE_INDEX_KEY": INDEX_KEY,
        "SMSLINE_ENV": "production",
    }
    for name in ("REDIS_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SMSLINE_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)

    def invoke(*args: str):  # noqa: ANN202
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    return invoke


def test_db_upgrade(run) -> None:  # noqa: ANN001
    result = run("db", "upgrade")
    assert result.exit_code == 0 and "database at head" in result.output


def test_numbers_add_normalises_and_is_idempotent(run, session) -> None:  # noqa: ANN001
    assert run("numbers", "add", "(500) 555-0006").exit_code == 0
    assert run("numbers", "add", "+15005550006").exit_code == 0
    assert session.scalars(select(LineNumber.e164)).all() == ["+15005550006"]
    bad = run("numbers", "add", "hello")
    assert bad.exit_code == 2 and "E164" in bad.output


def test_supporters_add_encrypts_the_phone_and_audits(run, session) -> None:  # noqa: ANN001
    result = run(
        "supporters",
        "add",
        "--name",
        "Rosa",
        "--phone",
        "+1 201 555 0142",
        "--timezone",
        "America/Chicago",
        "--language",
        "es,en",
        "--coordinator",
    )
    assert result.exit_code == 0, result.output
    assert "coordinator Rosa added" in result.output and "0142" in result.output
    assert "+12015550142" not in result.output
    rosa = session.scalar(select(Supporter))
    assert rosa.phone == "+12015550142" and rosa.is_coordinator and rosa.languages == "es,en"
    assert rosa.language == "es" and rosa.timezone == "America/Chicago"
    assert session.scalar(select(AuditEntry.action)) == "roster.add"
    again = run("supporters", "add", "--name", "R", "--phone", "+12015550142")
    assert again.exit_code == 1 and "already exists" in again.output


@pytest.mark.parametrize(
    "args,hint",
    [
        (["--phone", "nope"], "--phone"),
        (["--timezone", "Mars/Base"], "--timezone"),
        (["--language", "fr"], "--language"),
    ],
)
def test_supporters_add_refuses_bad_input(run, args, hint) -> None:  # noqa: ANN001
    result = run("supporters", "add", "--name", "X", "--phone", "+12015550199", *args)
    assert result.exit_code == 2 and hint in result.output


def test_settings_show_and_set(run, session) -> None:  # noqa: ANN001
    shown = run("settings", "show")
    assert '  quiet_hours_start = "20:00"' in shown.output
    assert run("settings", "set", "quiet_hours_start", "22:30").exit_code == 0
    assert '* quiet_hours_start = "22:30"' in run("settings", "show").output
    assert json.loads(session.get(Setting, "quiet_hours_start").value_json) == "22:30"
    bad = run("settings", "set", "quiet_hours_start", "late")
    assert bad.exit_code == 1 and "HH:MM" in bad.output
    unknown = run("settings", "set", "colour", "blue")
    assert unknown.exit_code == 1 and "unknown setting" in unknown.output
    assert session.scalars(select(AuditEntry.action)).all() == ["setting.change"]


def test_tick_at_runs_the_sweep_as_of_that_instant(run, session) -> None:  # noqa: ANN001
    result = run("tick", "--at", "2026-11-25T09:00:00Z")
    assert result.exit_code == 0
    assert json.loads(result.output) == {
        "at": "2026-11-25T09:00:00+00:00",
        "handed_over": 0,
        "conversations": 0,
        "peer_requests": 0,
        "checkins": 0,
        "checkin_calls": 0,
        "checkins_skipped": 0,
        "checkins_claimed": 0,
        "calls_handed_over": 0,
        "calls_unanswered": 0,
        "calls_tidied": 0,
        "reconciled": 0,
        "resent": 0,
        "statuses_asked": 0,
        "announcements_resumed": 0,
        "circle_reminders": 0,
        "meeting_sources": 0,
    }
    assert run("tick", "--at", "yesterday").exit_code == 2


def test_missing_secret_is_named(run, monkeypatch) -> None:  # noqa: ANN001
    result = CliRunner().invoke(
        main, ["settings", "show"], env={"SMSLINE_SECRET_KEY": "", "SMSLINE_ENV": "production"}
    )
    assert result.exit_code == 1 and "SMSLINE_SECRET_KEY" in result.output


def test_checkins_capacity_says_whether_the_rate_keeps_up(run, session) -> None:  # noqa: ANN001
    from datetime import UTC, datetime

    from tests.factories import create_member

    nine = datetime(2027, 6, 9, 14, 0, tzinfo=UTC)
    for _ in range(3):
        create_member(session, status="active", checkin_time="09:00", next_checkin_at=nine)
    result = run("checkins", "capacity", "--at", "2027-06-09T12:00:00Z")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "3 check-ins due from 14:00 UTC at 1 msg/s need 1 min: the last goes out 1 min after "
        "its time.\n"
    )
    assert run("checkins", "capacity", "--at", "soon").exit_code == 2
