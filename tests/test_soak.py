"""benchmarks/soak.py, short: 30 seconds of every kind of text through the real processes
(gunicorn, RQ workers, the clock, the fake Twilio) on PostgreSQL and Redis, and nothing lost, sent
twice, answered 5xx or left waiting in the outbox. The 10-minute soak runs by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parent.parent
TEST_DATABASE_URL = os.environ.get("SMSLINE_TEST_DATABASE_URL", "")
KINDS = (
    "checkin",
    "checkin_answer",  # the clock's check-ins, answered
    "meetings",
    "chat",
    "help",
    "peer",
    "peer_accept",
    "relay",
    "relay_done",
    "crisis",
    "supporter_status",
)


@pytest.fixture
def postgres_database() -> tuple[str, str]:
    """The PostgreSQL server of the test database, and a database of the soak's own beside it
    (the run drops and creates it)."""
    if not TEST_DATABASE_URL.startswith(("postgres://", "postgresql")):
        pytest.skip("needs PostgreSQL: set SMSLINE_TEST_DATABASE_URL (CI's second run does)")
    parts = urlsplit(TEST_DATABASE_URL)
    return "postgresql://" + parts.netloc, parts.path.strip("/") + "_soak"


def test_thirty_seconds_of_every_kind_of_text_lose_nothing(
    postgres_database: tuple[str, str], redis_url: str
) -> None:
    server, database = postgres_database
    command = [
        sys.executable,
        str(REPO / "benchmarks" / "soak.py"),
        "--duration",
        "30",
        "--drain",
        "20",
        "--postgres",
        server,
        "--database",
        database,
        "--redis-url",
        redis_url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=150, cwd=REPO)
    assert done.returncode == 0, done.stderr[-4000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    result = json.loads(lines[0])
    failed = f"{json.dumps(result)}\n{done.stderr[-4000:]}"

    assert result["members"] == 2000 and result["supporters"] == 50, failed
    assert all(result["totals"].get(kind, 0) > 0 for kind in KINDS), failed
    assert result["status_5xx"] == 0 and result["errors"] == 0, failed
    assert result["status_2xx"] == result["texts"] == sum(result["totals"].values()), failed
    # Every answered text has its inbound row, and nothing else wrote one.
    assert result["lost"] == 0 and result["inbound_rows"] == result["answered_2xx"], failed
    assert result["duplicates"] == 0, failed  # no outbox row went to Twilio twice
    assert result["outbox_not_final"] == 0 and result["oldest_outbox_age_s"] <= 30, failed
    assert result["twilio_messages"] > 0 and result["pairings"] > 0, failed
    assert result["ticks"] > 0 and result["p50_ms"] <= result["p99_ms"], failed
