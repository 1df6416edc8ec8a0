"""GET /metrics (issue 10): webhook latency, outbox depth and oldest age, sends and failures by
Twilio error code, peer time to acceptance, clock lag; nothing personal in any of it."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from smsline import clock, metrics, outbox
from smsline.line import Line
from smsline.models import utcnow
from smsline.transport.twilio import TwilioTransport
from tests.factories import create_line_number, phone, sms_form
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio


def scraped(client, **headers: str) -> dict[str, float]:  # noqa: ANN001
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain")
    text = response.get_data(as_text=True)
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            values[f"{sample.name}{{{labels}}}"] = sample.value
    return values


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_webhook_is_timed_by_its_endpoint(client, twilio_post, session) -> None:  # noqa: ANN001
    create_line_number(session)
    before = counted("smsline_webhook_seconds_count", endpoint="twilio.sms")
    sender = phone()
    assert twilio_post("/twilio/sms", sms_form("hello", sender)).status_code == 200
    values = scraped(client)
    assert values["smsline_webhook_seconds_count{endpoint=twilio.sms}"] == before + 1
    assert sender not in client.get("/metrics").get_data(as_text=True)
    assert sender.lstrip("+") not in client.get("/metrics").get_data(as_text=True)


def test_outbox_depth_and_the_oldest_due_age(client, session, line) -> None:  # noqa: ANN001
    create_line_number(session)
    now = utcnow()
    for minutes in (1, 7):  # two automated texts waiting, the older due 7 minutes ago
        row = outbox.write(session, to=phone(), body="hi", kind="notice", now=now)
        row.created_at = now - timedelta(minutes=minutes)
    session.info.pop("outbox_ids", None)  # not handed to a worker: they wait
    session.commit()
    values = scraped(client)
    assert values["smsline_outbox_waiting{}"] >= 2
    assert values["smsline_outbox_oldest_due_seconds{}"] >= 6 * 60


def test_sends_and_failures_by_twilio_error_code(config) -> None:  # noqa: ANN001
    """A permanent refusal (21211, not a valid number) counts once under its code."""
    with FakeTwilio() as fake:
        line = Line.build(
            config.with_(
                twilio_account_sid=ACCOUNT_SID,
                twilio_auth_token=AUTH_TOKEN,
                twilio_api_url=fake.url,
            ),
            transport=TwilioTransport(ACCOUNT_SID, AUTH_TOKEN, api_url=fake.url, timeout=2),
        )
        with line.sessions() as session:
            create_line_number(session)
            refused, fine = phone(), phone()
            rows = [
                outbox.write(session, to=to, body="hi", kind="notice") for to in (refused, fine)
            ]
            session.info.pop("outbox_ids", None)  # sent by hand below
            session.commit()
        fake.fail_for(refused, code=21211)
        failed_before = counted("smsline_send_failures_total", code="21211")
        sent_before = counted("smsline_sends_total", result="sent")
        assert outbox.send(line, rows[0].id) == "failed"
        assert outbox.send(line, rows[1].id) == "sent"
        line.close()
    assert counted("smsline_send_failures_total", code="21211") == failed_before + 1
    assert counted("smsline_sends_total", result="sent") == sent_before + 1


def test_clock_lag_after_a_sweep(client, line) -> None:  # noqa: ANN001
    clock.sweep(line, utcnow())
    lag = scraped(client)["smsline_clock_lag_seconds{}"]
    assert 0 <= lag < 30


def test_peer_time_to_acceptance_is_observed() -> None:
    before = counted("smsline_peer_acceptance_seconds_count")
    metrics.PEER_ACCEPTANCE_SECONDS.observe(95)
    assert counted("smsline_peer_acceptance_seconds_count") == before + 1
    assert counted("smsline_peer_acceptance_seconds_bucket", le="120.0") >= 1


def test_a_token_guards_the_endpoint_when_set(config, transport) -> None:  # noqa: ANN001
    from smsline import create_app

    app = create_app(config.with_(metrics_token="s3cret-token"), transport=transport)
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200 and b"smsline_outbox_waiting" in ok.data
    app.extensions["smsline"].close()
