"""benchmarks/fanout.py: every member it creates is due at its one instant, inside the texting
window, and a tiny run on PostgreSQL and Redis claims and enqueues each of them once and prints the
one JSON line with figures that add up. The benchmark itself runs by hand, never as a test."""

from __future__ import annotations

import json
import os
from datetime import time
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from benchmarks import fanout
from smsline import settings

TEST_DATABASE_URL = os.environ.get("SMSLINE_TEST_DATABASE_URL", "")


def test_every_zone_and_kind_of_days_is_due_at_the_instant() -> None:
    fanout.check_schedules(fanout.INSTANT)  # raises when the schedule code disagrees


def test_the_instant_is_inside_every_zones_texting_window() -> None:
    start = time.fromisoformat(settings.DEFINITIONS["quiet_hours_end"].default)
    end = time.fromisoformat(settings.DEFINITIONS["quiet_hours_start"].default)
    for zone in fanout.ZONES:
        assert start <= fanout.INSTANT.astimezone(ZoneInfo(zone)).time() < end, zone


def test_statements_are_counted_by_kind_and_table() -> None:
    claim = "SELECT members.id, members.nickname \nFROM members \nWHERE x LIMIT 5 FOR UPDATE SKIP LOCKED"
    assert fanout.shape(claim) == "SELECT members FOR UPDATE"
    assert fanout.shape("INSERT INTO outbound_messages (to_hash) VALUES (%(a)s)") == (
        "INSERT outbound_messages"
    )
    assert fanout.shape("UPDATE members SET next_checkin_at=%(a)s") == "UPDATE members"
    assert fanout.shape("SELECT count(*) AS count_1 \nFROM conversations") == (
        "SELECT conversations"
    )


def test_phone_numbers_are_distinct_test_numbers() -> None:
    numbers = {fanout.phone(index) for index in range(0, 1_000_000, 997)}
    assert len(numbers) == len(range(0, 1_000_000, 997))
    assert all(number[5:8] == "555" and len(number) == 12 for number in numbers)


@pytest.fixture
def postgres_server() -> str:
    """The server of the PostgreSQL test database (the run makes a database of its own there)."""
    if not TEST_DATABASE_URL.startswith(("postgres://", "postgresql")):
        pytest.skip("needs PostgreSQL: set SMSLINE_TEST_DATABASE_URL (CI's second run does)")
    return "postgresql://" + urlsplit(TEST_DATABASE_URL).netloc


def test_a_quick_run_claims_and_enqueues_every_due_member_once(
    postgres_server: str,
    redis_url: str,
    capsys,  # noqa: ANN001
) -> None:
    argv = [
        "--quick",
        "--history",
        "--postgres",
        postgres_server,
        "--database",
        "smsline_test_fanout",
    ]
    assert fanout.main([*argv, "--redis-url", redis_url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    members = result["members"]
    assert members == 200 and result["sweeps"] == 1
    assert result["claimed"] == result["baseline_rows"] == members and result["still_due"] == 0
    assert result["members_handed_to_rq"] == result["job_members_distinct"] == members
    assert result["job_members"] == members  # each member in one job, once
    assert result["jobs_distinct"] == result["jobs_enqueued"] == 1  # 500 members a job
    # --quick delivers too: one worker ran the job.
    assert result["outbox_rows"] == result["conversations"] == members
    assert result["interrupted"] == members // fanout.WAITING_EVERY  # waiting in the menu
    assert result["held_for_quiet_hours"] == 0
    assert result["still_claimed"] == 0 and result["rescheduled"] == members
    # Sent at the default pace, one a second counted by the minute: the rest wait their minute.
    assert result["outbox_statuses"] == {"sent": 60, "pending": members - 60}
    assert result["deliver_seconds"] > 0
    assert result["claim_seconds"] > 0 and result["baseline_seconds"] > 0
    assert result["rows_per_s"] == pytest.approx(members / result["claim_seconds"], rel=0.01)
    # Set-based: the sweep's statements do not grow with the members. Its fixed ones (outbox,
    # announcements, circles, retention, meeting feeds) are twenty-odd whatever the members: 0.1
    # a member at this run's 200, 0.0002 at 100,000.
    assert result["statements"] > 0 and result["statements_per_member"] < 0.2
    assert result["ratio"] == pytest.approx(
        result["claim_seconds"] / result["baseline_seconds"], rel=0.05
    )
    assert result["peak_mb"] >= result["rss_before_mb"] > 0
    assert result["statements"] > 0 and result["commits"] > 0
