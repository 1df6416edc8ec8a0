"""The texting window: automated texts only from 9:00 to 20:00 local by default, or inside the
member's own window; a check-in time outside it is refused (flows, `smsline members add`), and
members set their own window in SETTINGS."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from smsline import flowstore, outbox, schedule, settings
from smsline.cli import main
from smsline.engine.answers import Window, show_time
from smsline.models import Member
from tests.factories import create_line_number, create_member, sms_form

CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture
def run(config, monkeypatch):  # noqa: ANN001, ANN201
    """Invoke the CLI in production mode with the test app's own keys."""
    env = {
        "DATABASE_URL": config.database_url,
        "SMSLINE_SECRET_KEY": config.secret_key,
        "SMSLINE_DATA_KEY": ",".join(config.data_keys),
        "SMSLINE_INDEX_KEY": config.index_key,
        "SMSLINE_ENV": "production",
    }
    for name in ("REDIS_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SMSLINE_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    return lambda *args: CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def shipped(session, line):  # noqa: ANN001, ANN201
    flowstore.sync(session)
    create_line_number(session)
    session.commit()


def say(twilio_post, body: str, sender: str) -> str:  # noqa: ANN001
    response = twilio_post("/twilio/sms", sms_form(body, sender))
    assert response.status_code == 200, response.data
    return response.data.decode().replace("&#x27;", "'").replace("&#39;", "'")


def test_the_default_window_is_nine_to_eight(session) -> None:  # noqa: ANN001
    assert settings.texting_window(session) == ("09:00", "20:00")
    member = create_member(session, texting_from="07:30", texting_until="22:00")
    assert settings.texting_window(session, member) == ("07:30", "22:00")


@pytest.mark.parametrize(
    ("local", "held_until"),
    [
        (
            datetime(2026, 11, 25, 8, 59, tzinfo=CHICAGO),
            datetime(2026, 11, 25, 9, 0, tzinfo=CHICAGO),
        ),
        (datetime(2026, 11, 25, 9, 0, tzinfo=CHICAGO), None),
        (datetime(2026, 11, 25, 19, 59, tzinfo=CHICAGO), None),
        (
            datetime(2026, 11, 25, 20, 0, tzinfo=CHICAGO),
            datetime(2026, 11, 26, 9, 0, tzinfo=CHICAGO),
        ),
    ],
)
def test_the_line_window_edges(session, local: datetime, held_until: datetime | None) -> None:  # noqa: ANN001
    assert outbox.quiet_hours_end(session, local.astimezone(UTC), "America/Chicago") == held_until


def test_a_window_past_midnight(session) -> None:  # noqa: ANN001
    night_shift = ("22:00", "06:00")
    at = datetime(2026, 11, 25, 23, 0, tzinfo=CHICAGO)
    assert outbox.quiet_hours_end(session, at, "America/Chicago", night_shift) is None
    noon = datetime(2026, 11, 25, 12, 0, tzinfo=CHICAGO)
    assert outbox.quiet_hours_end(session, noon, "America/Chicago", night_shift) == datetime(
        2026, 11, 25, 22, 0, tzinfo=CHICAGO
    )
    assert "23:00" in Window(*night_shift) and "12:00" not in Window(*night_shift)


def test_a_window_that_closes_when_it_opens_is_the_whole_day(session) -> None:  # noqa: ANN001
    """00:00 to 00:00 is never quiet; 00:00 to 23:59 still holds a text sent at 23:59 (the tests
    and the soak that meant "all day" used it, and failed in that one minute a day)."""
    last_minute = datetime(2026, 11, 25, 23, 59, 30, tzinfo=CHICAGO)
    assert (
        outbox.quiet_hours_end(session, last_minute, "America/Chicago", ("00:00", "00:00")) is None
    )
    assert "23:59" in Window("00:00", "00:00")
    held = outbox.quiet_hours_end(session, last_minute, "America/Chicago", ("00:00", "23:59"))
    assert held == datetime(2026, 11, 26, 0, 0, tzinfo=CHICAGO)


def test_an_automated_text_waits_for_the_members_own_window(session) -> None:  # noqa: ANN001
    member = create_member(
        session, timezone="America/Chicago", texting_from="10:30", texting_until="21:30"
    )
    at = datetime(2026, 11, 25, 9, 30, tzinfo=CHICAGO)  # inside the line's window, not theirs
    held = outbox.write(
        session,
        to=member.phone,
        body="Check-in?",
        kind="checkin",
        timezone="America/Chicago",
        member_id=member.id,
        now=at,
    )
    late = datetime(2026, 11, 25, 21, 0, tzinfo=CHICAGO)  # after the line's window, inside theirs
    sent = outbox.write(
        session,
        to=member.phone,
        body="Check-in?",
        kind="checkin",
        timezone="America/Chicago",
        member_id=member.id,
        now=late,
    )
    reply = outbox.write(
        session, to=member.phone, body="Hi", kind="reply", timezone="America/Chicago", now=at
    )
    session.info.pop("outbox_ids")
    assert held.next_attempt_at == datetime(2026, 11, 25, 10, 30, tzinfo=CHICAGO)
    assert sent.next_attempt_at is None and reply.next_attempt_at is None


def test_times_show_as_people_write_them() -> None:
    assert [show_time(at) for at in ("09:00", "20:00", "07:30", "12:00", "00:15")] == [
        "9am",
        "8pm",
        "7:30am",
        "12pm",
        "12:15am",
    ]


@pytest.mark.parametrize(
    ("value", "window"), [("9:30-21:00", ("09:30", "21:00")), ("07:00-22:00", ("07:00", "22:00"))]
)
def test_a_window_is_written_from_to(value: str, window: tuple[str, str]) -> None:
    assert schedule.parse_window(value) == window


@pytest.mark.parametrize("value", ["21:00-09:00", "09:00-09:00", "9am-8pm", "09:00", "25:00-26:00"])
def test_a_window_that_does_not_open_before_it_closes_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        schedule.parse_window(value)


MEMBER_ARGS = ("--phone", "+12015550150", "--nickname", "Sam", "--timezone", "America/Chicago")


def test_members_add_refuses_a_checkin_time_outside_the_window(run, session) -> None:  # noqa: ANN001
    early = run("members", "add", *MEMBER_ARGS, "--checkin-time", "07:00", "--consent")
    assert early.exit_code == 2
    assert "--checkin-time" in early.output and "09:00-20:00" in early.output
    assert session.scalar(select(Member)) is None
    own = run(
        "members", "add", *MEMBER_ARGS, "--checkin-time", "07:00",
        "--texting-window", "06:30-21:00", "--consent",
    )  # fmt: skip
    assert own.exit_code == 0, own.output
    session.rollback()
    member = session.scalar(select(Member))
    assert (member.checkin_time, member.texting_from, member.texting_until) == (
        "07:00",
        "06:30",
        "21:00",
    )
    local = member.next_checkin_at.astimezone(CHICAGO)
    assert local.strftime("%H:%M") == "07:00"


def test_members_add_refuses_a_bad_window(run, session) -> None:  # noqa: ANN001
    args = ("--checkin-time", "10:00", "--consent")
    backwards = run("members", "add", *MEMBER_ARGS, *args, "--texting-window", "21:00-09:00")
    assert backwards.exit_code == 2 and "--texting-window" in backwards.output
    outside = run("members", "add", *MEMBER_ARGS, *args, "--texting-window", "11:00-21:00")
    assert outside.exit_code == 2 and "11:00-21:00" in outside.output
    assert session.scalar(select(Member)) is None


def test_the_welcome_asks_again_for_a_time_in_the_night(twilio_post, session, shipped) -> None:  # noqa: ANN001
    stranger = "+12015550779"
    for words in ("hi", "yes", "Sam", "no", "2"):
        say(twilio_post, words, stranger)
    refused = say(twilio_post, "6am", stranger)
    assert "We only text between 9am and 8pm so we never wake you" in refused
    member = session.scalar(select(Member))
    assert member.checkin_time is None and member.next_checkin_at is None
    assert "English or Spanish" in say(twilio_post, "9:30am", stranger)
    session.rollback()
    session.expire_all()
    assert session.scalar(select(Member)).checkin_time == "09:30"


def test_settings_set_the_members_own_window(twilio_post, session, shipped) -> None:  # noqa: ANN001
    member = create_member(session, status="active", timezone="America/Chicago")
    session.commit()
    assert "7 texting hours" in say(twilio_post, "SETTINGS", member.phone)
    assert "earliest" in say(twilio_post, "7", member.phone)
    assert "latest" in say(twilio_post, "8am", member.phone)
    assert "needs to come after the earliest" in say(twilio_post, "7", member.phone)  # 7am
    done = say(twilio_post, "10pm", member.phone)
    assert "between 8am and 10pm" in done
    session.rollback()
    session.expire_all()
    again = session.get(Member, member.id)
    assert (again.texting_from, again.texting_until) == ("08:00", "22:00")


def test_the_validator_knows_the_window_names(tmp_path) -> None:  # noqa: ANN001
    from smsline.engine.validate import validate_path

    def problems(state: str) -> list[str]:
        path = tmp_path / "f.yaml"
        path.write_text(
            "flow: f\nformat: 1\ndefault_language: en\nlanguages: [en]\nexpires_after: 1h\n"
            f"start: ask\nstates:\n{state}"
        )
        return [str(p) for p in validate_path(path) if p.severity == "error"]

    good = (
        "  ask:\n    say: {en: 'We text between $texting_from and $texting_until. When?'}\n"
        "    wait: {answer: time, save: at}\n"
        "    routes:\n      - when: at not in texting_window\n        goto: ask\n"
    )
    assert problems(good) == []
    shown = "  ask:\n    say: {en: 'Your window: $texting_window'}\n"
    assert any("texting_window" in problem for problem in problems(shown))
    compared = (
        "  ask:\n    say: {en: 'When?'}\n    wait: {answer: time, save: at}\n"
        "    routes:\n      - when: at < texting_from\n        goto: ask\n"
    )
    assert any("texting_from" in problem for problem in problems(compared))
