"""benchmarks/webhook.py: the load it generates is what it claims (signed, new texts, ordinary
words), and the figures it prints add up. The benchmark itself runs by hand, never as a test."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from twilio.request_validator import RequestValidator

from benchmarks import webhook
from smsline.rules import compliance, crisis

URL = "http://127.0.0.1:8123/twilio/sms"


def test_each_request_is_a_new_text_signed_for_the_servers_url() -> None:
    pairs = list(webhook.signed_requests(URL, 500, senders=50))
    forms = [dict(parse_qsl(body, keep_blank_values=True)) for _, body in pairs]
    assert len({form["MessageSid"] for form in forms}) == 500
    assert all(re.fullmatch(r"SM[0-9a-f]{32}", form["MessageSid"]) for form in forms)
    assert {form["From"] for form in forms} <= {webhook.sender(i) for i in range(50)}
    assert len({form["From"] for form in forms}) > 40
    validator = RequestValidator(webhook.AUTH_TOKEN)
    assert all(
        validator.validate(URL, form, signature)
        for (signature, _), form in zip(pairs, forms, strict=True)
    )
    assert not validator.validate(URL.replace("8123", "8124"), forms[0], pairs[0][0])


@pytest.mark.parametrize("body", webhook.BODIES)
def test_texts_are_ordinary_so_every_webhook_takes_the_same_route(body: str) -> None:
    assert crisis.detect(body) is None
    assert compliance.classify(body, opted_out=False) is None


def test_data_file_has_one_signature_and_body_a_line(tmp_path: Path) -> None:
    path = tmp_path / "requests.txt"
    written = webhook.write_requests(path, webhook.signed_requests(URL, 30, senders=5))
    lines = path.read_text().splitlines()
    assert written == len(lines) == 30
    for line in lines:
        signature, body = line.split("\t")
        assert signature and "MessageSid=SM" in body


def test_enough_bodies_that_none_repeats() -> None:
    assert webhook.bodies_needed(100, 15) == webhook.MIN_BODIES
    assert webhook.bodies_needed(2000, 15) >= 2 * 2000 * 15


def result(ok: int, rows: int, sent: int, **errors: int) -> dict:
    return {
        "ok": ok,
        "not_ok": errors.pop("not_ok", 0),
        "sent": sent,
        "rows": rows,
        "duration_us": 10_000_000,
        "p50_us": 20_000,
        "p99_us": 90_000,
        "repeats": 0,
        "worker_cpu_ms": 1.0,
        "postgres_cpu_ms": 0.2,
        "errors": {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0, **errors},
    }


def test_summary_is_one_flat_record_with_the_ratio() -> None:
    args = webhook.parse_args(["--duration", "10"])
    line = webhook.summary(result(3000, 3010, 3032), result(10_000, 10_000, 10_032), args)
    assert line["app_rps"] == 300.0 and line["baseline_rps"] == 1000.0 and line["ratio"] == 0.3
    assert line["app_p50_ms"] == 20.0 and line["app_p99_ms"] == 90.0
    assert line["app_rows_match"] and line["baseline_rows_match"]
    assert line["duration_s"] == 10 and line["connections"] == 32


def test_rows_must_match_the_2xx_answers_up_to_the_requests_cut_off_at_the_stop() -> None:
    assert webhook.rows_match(result(100, 100, 132))
    assert webhook.rows_match(result(100, 132, 132))
    assert not webhook.rows_match(result(100, 99, 132))  # a 2xx without its row
    assert not webhook.rows_match(result(100, 140, 132))  # rows nobody asked for


def test_errors_count_non_2xx_and_socket_errors() -> None:
    assert webhook.errors_of(result(10, 10, 10, not_ok=2, timeout=1, connect=3, status=2)) == 6


def test_wrk_output_is_read_from_the_lua_done_line() -> None:
    out = 'Running 1s test\nBENCH_JSON {"requests": 5, "ok": 5}\nRequests/sec: 5\n'
    assert webhook.parse_wrk(out) == {"requests": 5, "ok": 5}
    with pytest.raises(RuntimeError):
        webhook.parse_wrk("Running 1s test\n")


def test_the_lua_script_prints_every_key_the_summary_reads() -> None:
    lua = webhook.LUA_SCRIPT.read_text()
    for key in ("requests", "duration_us", "ok", "not_ok", "sent", "repeats", "p50_us", "p99_us"):
        assert f'"{key}":' in lua
    for key in ("connect", "read", "write", "status", "timeout"):
        assert f'"{key}":%d' in lua
