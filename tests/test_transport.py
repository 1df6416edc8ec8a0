"""The transports: TwilioTransport against the fake Twilio server, and LocalTransport."""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from smsline.transport import (
    PERMANENT_CODES,
    RETRYABLE_CODES,
    SendResult,
    Transport,
    TransportError,
    is_retryable,
)
from smsline.transport.local import LocalTransport
from smsline.transport.twilio import BaseUrlHttpClient, TwilioTransport
from tests.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    MESSAGING_SERVICE_SID,
    FakeTwilio,
    closed_port_url,
    segments,
)

MEMBER = "+15005550006"
OTHER_MEMBER = "+15005550007"
LINE = "+15005550001"
CALLBACK = "https://line.example.org/twilio/status"
SID = re.compile(r"^SM[0-9a-f]{32}$")


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


@pytest.fixture
def transport(fake: FakeTwilio) -> TwilioTransport:
    return TwilioTransport(ACCOUNT_SID, AUTH_TOKEN, api_url=fake.url, timeout=2.0)


def send(
    transport: Transport, to: str = MEMBER, body: str = "Time for your check-in."
) -> SendResult:
    return transport.send(
        to=to, body=body, from_=LINE, messaging_service_sid=None, status_callback=CALLBACK
    )


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


# Sending


def test_send_from_the_line_number(fake: FakeTwilio, transport: TwilioTransport) -> None:
    result = send(transport)

    assert SID.match(result.sid)
    assert result.status == "queued"
    assert [m["sid"] for m in fake.messages] == [result.sid]
    request = fake.requests[-1]
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.form == {
        "To": MEMBER,
        "From": LINE,
        "Body": "Time for your check-in.",
        "StatusCallback": CALLBACK,
    }
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    credentials = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {credentials}"


def test_send_through_a_messaging_service(fake: FakeTwilio, transport: TwilioTransport) -> None:
    result = transport.send(
        to=MEMBER,
        body="¿Cómo te va hoy?",
        from_=None,
        messaging_service_sid=MESSAGING_SERVICE_SID,
        status_callback=None,
    )

    assert SID.match(result.sid)
    assert result.status == "accepted"
    assert fake.requests[-1].form == {
        "To": MEMBER,
        "MessagingServiceSid": MESSAGING_SERVICE_SID,
        "Body": "¿Cómo te va hoy?",
    }


@pytest.mark.parametrize(
    ("status", "code", "maybe_sent"),
    [(500, 20500, True), (503, 20503, True), (429, 20429, False)],
)
def test_server_errors_and_throttling_are_retryable(
    fake: FakeTwilio, transport: TwilioTransport, status: int, code: int, maybe_sent: bool
) -> None:
    fake.fail_next(1, status=status)

    with pytest.raises(TransportError) as caught:
        send(transport)

    assert caught.value.retryable
    assert caught.value.http_status == status
    assert caught.value.code == code
    assert caught.value.maybe_sent is maybe_sent
    assert fake.messages == []
    assert SID.match(send(transport).sid)  # the failure was only the next one


@pytest.mark.parametrize("code", [21610, 21211])
def test_permanent_refusals_are_not_retryable(
    fake: FakeTwilio, transport: TwilioTransport, code: int
) -> None:
    fake.fail_for(MEMBER, status=400, code=code)

    with pytest.raises(TransportError) as caught:
        send(transport, body="A private message")

    error = caught.value
    assert (error.retryable, error.code, error.http_status) == (False, code, 400)
    # Twilio's message quotes the number; the error must not carry it or the body.
    assert MEMBER not in str(error) and MEMBER not in repr(error)
    assert "private" not in str(error)
    assert error.__cause__ is None and error.__context__ is None  # Twilio's text not chained
    assert SID.match(send(transport, to=OTHER_MEMBER).sid)


def test_other_client_errors_are_not_retryable_but_a_full_queue_is(
    fake: FakeTwilio, transport: TwilioTransport
) -> None:
    fake.fail_next(1, status=400, code=21999)
    with pytest.raises(TransportError) as caught:
        send(transport)
    assert not caught.value.retryable

    fake.fail_next(1, status=400, code=21611)
    with pytest.raises(TransportError) as caught:
        send(transport)
    assert caught.value.retryable


def test_bad_credentials_are_not_retryable(fake: FakeTwilio) -> None:
    transport = TwilioTransport(ACCOUNT_SID, "wrong-token", api_url=fake.url)

    with pytest.raises(TransportError) as caught:
        send(transport)

    assert (caught.value.retryable, caught.value.http_status, caught.value.code) == (
        False,
        401,
        20003,
    )


def test_connection_refused_is_retryable_and_nothing_was_sent() -> None:
    transport = TwilioTransport(ACCOUNT_SID, AUTH_TOKEN, api_url=closed_port_url(), timeout=2.0)

    with pytest.raises(TransportError) as caught:
        send(transport)

    error = caught.value
    assert (error.retryable, error.maybe_sent, error.http_status, error.code) == (
        True,
        False,
        None,
        None,
    )


def test_a_read_timeout_may_have_sent_and_find_sent_reconciles(fake: FakeTwilio) -> None:
    transport = TwilioTransport(ACCOUNT_SID, AUTH_TOKEN, api_url=fake.url, timeout=0.2)
    started = datetime.now(UTC)
    fake.delay = 0.6

    with pytest.raises(TransportError) as caught:
        send(transport)

    assert caught.value.retryable and caught.value.maybe_sent
    fake.delay = 0
    assert (
        transport.find_sent(to=MEMBER, from_=LINE, body="Time for your check-in.", since=started)
        == (fake.messages[0]["sid"])
    )


def test_a_failure_after_creation_is_found_by_find_sent(
    fake: FakeTwilio, transport: TwilioTransport
) -> None:
    started = datetime.now(UTC)
    fake.fail_next(1, status=502, created=True)

    with pytest.raises(TransportError) as caught:
        send(transport)

    assert caught.value.maybe_sent
    found = transport.find_sent(
        to=MEMBER, from_=LINE, body="Time for your check-in.", since=started
    )
    assert found == fake.messages[0]["sid"]


# Reconciling


def test_find_sent_finds_an_earlier_send_and_only_that(
    fake: FakeTwilio, transport: TwilioTransport
) -> None:
    started = ago(seconds=1)
    sid = send(transport, body="Check-in: how are you today? (1-5)").sid

    def find(to: str = MEMBER, body: str = "Check-in: how are you today? (1-5)", **kw):
        return transport.find_sent(to=to, from_=kw.get("from_", LINE), body=body, since=started)

    assert find() == sid
    assert find(body="Check-in: how are you today?") is None
    assert find(to=OTHER_MEMBER) is None
    assert find(from_="+15005550002") is None
    assert find(from_=None) == sid  # a Messaging Service send has no From to match
    request = fake.requests[-1]
    assert request.method == "GET"
    assert request.query["To"] == MEMBER
    assert not any(name.startswith("DateSent") for name in request.query)


def test_find_sent_ignores_messages_from_before_the_attempt(
    fake: FakeTwilio, transport: TwilioTransport
) -> None:
    fake.add_message(to=MEMBER, from_=LINE, body="Same words", date_created=ago(hours=1))

    assert (
        transport.find_sent(to=MEMBER, from_=LINE, body="Same words", since=ago(minutes=5)) is None
    )
    assert transport.find_sent(to=MEMBER, from_=LINE, body="Same words", since=ago(hours=2))


def test_find_sent_takes_a_naive_since_as_utc(fake: FakeTwilio, transport: TwilioTransport) -> None:
    sid = send(transport).sid
    naive = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)

    assert (
        transport.find_sent(to=MEMBER, from_=LINE, body="Time for your check-in.", since=naive)
        == sid
    )
    later = naive + timedelta(minutes=5)
    assert (
        transport.find_sent(to=MEMBER, from_=LINE, body="Time for your check-in.", since=later)
        is None
    )


def test_find_sent_reads_past_the_first_page(fake: FakeTwilio, transport: TwilioTransport) -> None:
    started = ago(seconds=5)
    sid = send(transport, body="The one").sid
    for n in range(120):
        fake.add_message(to=MEMBER, from_=LINE, body=f"Another {n}", status="queued")

    assert transport.find_sent(to=MEMBER, from_=LINE, body="The one", since=started) == sid
    assert [r.method for r in fake.requests].count("GET") == 2


def test_find_sent_failures_raise_transport_error() -> None:
    transport = TwilioTransport(ACCOUNT_SID, AUTH_TOKEN, api_url=closed_port_url())

    with pytest.raises(TransportError) as caught:
        transport.find_sent(to=MEMBER, from_=LINE, body="x", since=ago(minutes=1))

    assert caught.value.retryable
    assert MEMBER not in str(caught.value)


def test_nothing_personal_is_logged(
    fake: FakeTwilio, transport: TwilioTransport, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="smsline")
    caplog.set_level(logging.DEBUG, logger="twilio")
    sid = send(transport, body="My private words").sid
    transport.find_sent(to=MEMBER, from_=LINE, body="My private words", since=ago(minutes=1))
    fake.fail_for(OTHER_MEMBER, code=21610)
    with pytest.raises(TransportError):
        send(transport, to=OTHER_MEMBER, body="My private words")

    ours = [r.getMessage() for r in caplog.records if r.name.startswith(("smsline", "twilio"))]
    assert any(sid in line for line in ours)
    for line in ours:
        assert "5005550" not in line and "private" not in line, line


def test_the_twilio_client_is_pointed_at_the_fake(fake: FakeTwilio) -> None:
    transport = TwilioTransport(ACCOUNT_SID, AUTH_TOKEN, api_url=fake.url + "/")
    send(transport)
    assert len(fake.requests) == 1


# The base URL rewrite


@pytest.mark.parametrize(
    ("base", "url", "expected"),
    [
        (
            "http://127.0.0.1:8765",
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?To=%2B1&PageSize=2",
            "http://127.0.0.1:8765/2010-04-01/Accounts/AC1/Messages.json?To=%2B1&PageSize=2",
        ),
        (
            "http://emulator:8080/twilio/",
            "https://api.twilio.com/2010-04-01/Accounts.json",
            "http://emulator:8080/twilio/2010-04-01/Accounts.json",
        ),
        (
            "http://127.0.0.1:8765",
            "https://api.dublin.ie1.twilio.com/2010-04-01/Accounts.json",
            "http://127.0.0.1:8765/2010-04-01/Accounts.json",
        ),
        ("http://127.0.0.1:8765", "https://example.org/x", "https://example.org/x"),
        ("http://127.0.0.1:8765", "https://messaging.twilio.com/v1/x", None),
        (None, "https://api.twilio.com/2010-04-01/Accounts.json", None),
    ],
)
def test_base_url_rewrite(base: str | None, url: str, expected: str | None) -> None:
    assert BaseUrlHttpClient(base).rewrite(url) == (expected or url)


# Arguments and classification


@pytest.mark.parametrize(
    "kwargs",
    [
        {"from_": LINE, "messaging_service_sid": MESSAGING_SERVICE_SID},
        {"from_": None, "messaging_service_sid": None},
        {"body": ""},
        {"body": "  \n"},
        {"to": ""},
        {"status_callback": "/twilio/status"},
    ],
)
@pytest.mark.parametrize("kind", ["twilio", "local"])
def test_invalid_sends_are_refused_before_any_request(
    fake: FakeTwilio, transport: TwilioTransport, kind: str, kwargs: dict
) -> None:
    chosen: Transport = transport if kind == "twilio" else LocalTransport()
    args = {"to": MEMBER, "body": "Hi", "from_": LINE, "messaging_service_sid": None}
    args["status_callback"] = None

    with pytest.raises(ValueError):
        chosen.send(**{**args, **kwargs})

    assert fake.requests == []


def test_classification_rules() -> None:
    assert is_retryable(None, None)
    assert is_retryable(429, 20429)
    assert is_retryable(500, None) and is_retryable(503, 20503)
    assert not is_retryable(400, None) and not is_retryable(404, 20404)
    assert not is_retryable(400, 21610)
    assert not is_retryable(500, 21610)  # a permanent code wins
    assert is_retryable(400, 21611)
    assert not PERMANENT_CODES & RETRYABLE_CODES


def test_transports_satisfy_the_protocol(transport: TwilioTransport) -> None:
    assert isinstance(transport, Transport)
    assert isinstance(LocalTransport(), Transport)
    with pytest.raises(ValueError):
        TwilioTransport(ACCOUNT_SID, AUTH_TOKEN, timeout=0)
    with pytest.raises(ValueError):
        TwilioTransport(ACCOUNT_SID, "")


# The fake itself, where the transport relies on its realism


def test_fake_date_sent_filter_skips_messages_not_yet_sent(fake: FakeTwilio) -> None:
    transport = TwilioTransport(ACCOUNT_SID, AUTH_TOKEN, api_url=fake.url)
    queued = send(transport).sid
    delivered = send(transport).sid
    fake.set_status(delivered, "delivered")

    listed = transport.client.messages.list(to=MEMBER, date_sent_after=ago(minutes=1))

    assert [m.sid for m in listed] == [delivered]
    assert queued != delivered


def test_fake_segment_counts() -> None:
    assert segments("a" * 160) == 1
    assert segments("a" * 161) == 2
    assert segments("ñ" * 160) == 1  # in the GSM-7 alphabet
    assert segments("ó" * 70) == 1 and segments("ó" * 71) == 2  # UCS-2
    assert segments("{" * 80) == 1 and segments("{" * 81) == 2  # extension characters count twice


# LocalTransport


def test_local_transport_records_and_finds() -> None:
    calls: list[tuple[str, str, str]] = []
    local = LocalTransport(on_send=lambda sid, to, body: calls.append((sid, to, body)))
    started = ago(seconds=1)

    result = send(local, body="Hello")
    service = local.send(
        to=OTHER_MEMBER,
        body="Hola",
        from_=None,
        messaging_service_sid=MESSAGING_SERVICE_SID,
        status_callback=None,
    )

    assert SID.match(result.sid) and result.status == "queued"
    assert service.status == "accepted" and service.sid != result.sid
    sid, to, from_, body, created_at = local.sent[0]
    assert (sid, to, from_, body) == (result.sid, MEMBER, LINE, "Hello")
    assert created_at.tzinfo is not None
    assert calls == [(result.sid, MEMBER, "Hello"), (service.sid, OTHER_MEMBER, "Hola")]
    assert local.find_sent(to=MEMBER, from_=LINE, body="Hello", since=started) == result.sid
    assert local.find_sent(to=MEMBER, from_=None, body="Hello", since=started) == result.sid
    assert local.find_sent(to=MEMBER, from_=LINE, body="Hello!", since=started) is None
    assert local.find_sent(to=OTHER_MEMBER, from_=None, body="Hola", since=started) == service.sid
    assert local.find_sent(to=MEMBER, from_=LINE, body="Hello", since=ago(seconds=-60)) is None


def test_local_transport_uses_its_clock() -> None:
    noon = datetime(2025, 3, 1, 12, 0)
    local = LocalTransport(clock=lambda: noon)
    sid = send(local).sid

    assert local.sent[0].created_at == noon.replace(tzinfo=UTC)
    body = "Time for your check-in."
    assert local.find_sent(to=MEMBER, from_=LINE, body=body, since=noon) == sid
    assert (
        local.find_sent(to=MEMBER, from_=LINE, body=body, since=noon + timedelta(seconds=1)) is None
    )


def test_one_transport_sends_from_many_threads_on_kept_alive_connections(
    fake: FakeTwilio, transport: TwilioTransport
) -> None:
    """A batch's texts go out several at a time through the worker's one transport."""
    from concurrent.futures import ThreadPoolExecutor

    from smsline import outbox
    from smsline.transport.twilio import POOL_SIZE

    session = transport.http_client.session
    for url in ("https://api.twilio.com", "http://127.0.0.1"):
        assert session.get_adapter(url)._pool_maxsize == POOL_SIZE >= outbox.SEND_THREADS

    def send(index: int) -> str:
        return transport.send(
            to=f"+1201555{index:04d}",
            body=f"text {index}",
            from_="+15005550006",
            messaging_service_sid=None,
            status_callback=None,
        ).sid

    with ThreadPoolExecutor(outbox.SEND_THREADS) as pool:
        sids = list(pool.map(send, range(24)))
    assert len(set(sids)) == 24 and {m["sid"] for m in fake.messages} == set(sids)
    assert sorted(r.form["Body"] for r in fake.requests) == sorted(f"text {i}" for i in range(24))
