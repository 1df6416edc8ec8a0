"""benchmarks/outbound.py: a tiny run on PostgreSQL and Redis (two real `smsline worker` processes,
the local sink) sends every row once, each ending `sent` with a SID of its own, and prints the one
JSON line with figures that add up. The benchmark itself runs by hand, never as a test."""

from __future__ import annotations

import json
import os
from urllib.parse import urlsplit

import pytest

from benchmarks import outbound

TEST_DATABASE_URL = os.environ.get("SMSLINE_TEST_DATABASE_URL", "")


def test_rows_are_realistic_texts_and_one_number_in_ten_gets_two() -> None:
    from cryptography.fernet import Fernet

    from smsline import crypto

    keyring = crypto.Keyring((Fernet.generate_key().decode(),), "i" * 32)
    rows = outbound.outbox_rows(0, 110, keyring)
    assert len(rows) == 110 and {row["status"] for row in rows} == {"pending"}
    numbers = [row["to_enc"] for row in rows]
    assert len(set(numbers)) == 100
    assert all(number[5:8] == "555" and len(number) == 12 for number in numbers)
    assert {row["encoding"] for row in rows} == {"GSM-7", "UCS-2"}
    assert max(row["segments"] for row in rows) > 1


@pytest.fixture
def postgres_server() -> str:
    """The server of the PostgreSQL test database (the run makes a database of its own there)."""
    if not TEST_DATABASE_URL.startswith(("postgres://", "postgresql")):
        pytest.skip("needs PostgreSQL: set SMSLINE_TEST_DATABASE_URL (CI's second run does)")
    return "postgresql://" + urlsplit(TEST_DATABASE_URL).netloc


def test_a_short_run_sends_every_row_once_with_a_sid(
    postgres_server: str,
    redis_url: str,
    capsys,  # noqa: ANN001
) -> None:
    database = urlsplit(TEST_DATABASE_URL).path.lstrip("/") + "_outbound"
    argv = ["--rows", "300", "--postgres", postgres_server, "--database", database]
    assert outbound.main([*argv, "--redis-url", redis_url, "--timeout", "40"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    for key in ("app_per_s", "baseline_per_s", "ratio", "rows", "app_errors", "baseline_errors"):
        assert key in result
    assert result["rows"] == 300 and result["rounds"] == 1 and result["workers"] == 2
    assert result["app_statuses"] == {"sent": 300}
    assert result["app_sent_with_sid"] == result["app_sids_distinct"] == 300
    assert result["app_posts"] == result["baseline_posts"] == 300  # each text posted once
    assert result["app_errors"] == result["baseline_errors"] == 0 and result["all_sent"]
    assert result["app_max_attempts"] == 1
    assert result["app_per_s"] > 0 and result["baseline_per_s"] > 0
    assert result["ratio"] == pytest.approx(
        result["app_per_s"] / result["baseline_per_s"], rel=0.01
    )
    assert result["app_per_s"] == pytest.approx(300 / result["app_seconds"], rel=0.01)
