"""Structured logs (issue 10): one request id on every line of a request, echoed to the caller,
and nothing personal in the lines."""

from __future__ import annotations

import io
import json
import logging

from smsline import logs
from tests.factories import phone, sms_form


def captured() -> tuple[io.StringIO, logging.Handler]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.formatter(json=True))
    logging.getLogger().addHandler(handler)
    return stream, handler


def test_a_webhooks_lines_carry_its_request_id(client, twilio_post) -> None:  # noqa: ANN001
    stream, handler = captured()
    try:
        sender = phone()
        form = sms_form("hello", sender)
        response = twilio_post(
            "/twilio/sms", form, signature="wrong", headers={"I-Twilio-Idempotency-Token": "tok-1"}
        )
    finally:
        logging.getLogger().removeHandler(handler)
    assert response.status_code == 403
    assert response.headers["X-Request-Id"] == "tok-1"
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    rejected = [line for line in lines if "X-Twilio-Signature" in line["event"]]
    assert rejected and all(line["request_id"] == "tok-1" for line in rejected)
    assert rejected[0]["level"] == "warning" and rejected[0]["logger"] == "smsline.web.twilio_hooks"
    assert sender not in stream.getvalue() and sender[2:] not in stream.getvalue()


def test_requests_without_a_twilio_token_get_fresh_ids(client) -> None:  # noqa: ANN001
    first = client.get("/healthz").headers["X-Request-Id"]
    second = client.get("/healthz").headers["X-Request-Id"]
    assert len(first) == 32 and first != second


def test_key_value_lines_put_the_request_id_first(client) -> None:  # noqa: ANN001
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.formatter())
    log = logging.getLogger("smsline.test")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        logs.start_request("abc")
        log.info("outbound %s sent", 42)
    finally:
        log.removeHandler(handler)
    line = stream.getvalue().strip()
    assert (
        "level='info'" in line and "request_id='abc'" in line and "event='outbound 42 sent'" in line
    )
    assert line.index("request_id") < line.index("event")
