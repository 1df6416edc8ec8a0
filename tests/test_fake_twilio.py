"""The fake Twilio itself, through the real TwilioTransport and the app: contract checks, signed
status callbacks (in order, shuffled, undeliverable), and each failure it can be told to make."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from smsline import outbox
from smsline.models import OutboundMessage
from smsline.transport import TransportError
from smsline.transport.twilio import TwilioTransport
from tests.conftest import AUTH_TOKEN, PUBLIC_URL
from tests.factories import create_line_number, create_member, phone
from tests.fake_twilio import (
    ACCOUNT_SID,
    MESSAGING_SERVICE_SID,
    SERVICE_SENDER,
    FakeTwilio,
    closed_port_url,
)
from tests.twilio_contract import spec_path

MEMBER = "+15005550006"
OTHER = "+15005550007"
LINE = "+15005550001"
CALLBACK = "https://line.example.org/twilio/status?o=12"
SID = re.compile(r"^SM[0-9a-f]{32}$")
needs_spec = pytest.mark.skipif(not spec_path().exists(), reason=f"{spec_path()} not found")


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(auth_token=AUTH_TOKEN, seed=7) as server:
        yield server


@pytest.fixture
def transport(fake: FakeTwilio) -> TwilioTransport:
    """Also the app's transport here (it overrides conftest's local one)."""
    return TwilioTransport(ACCOUNT_SID, AUTH_TOKEN, api_url=fake.url, timeout=2.0)


def send(transport: TwilioTransport, to: str = MEMBER, body: str = "Hi", **kwargs: str) -> str:
    args = {"from_": LINE, "messaging_service_sid": None, "status_callback": CALLBACK} | kwargs
    return transport.send(to=to, body=body, **args).sid


def refused(transport: TwilioTransport, **kwargs: str) -> TransportError:
    with pytest.raises(TransportError) as caught:
        send(transport, **kwargs)
    return caught.value


def post_raw(fake: FakeTwilio, form: dict[str, str]) -> requests.Response:
    """A message creation the transport would never send."""
    url = f"{fake.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    return requests.post(url, data=form, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)


# Contract.


@needs_spec
def test_the_transports_sends_and_calls_break_no_rule(
    fake: FakeTwilio, transport: TwilioTransport
) -> None:
    sids = [
        send(transport),
        send(transport, from_=None, messaging_service_sid=MESSAGING_SERVICE_SID),
        send(transport, body="Hola 👋 " * 40, status_callback=None),
    ]
    transport.call(
        to=MEMBER,
        from_=LINE,
        url="https://line.example.org/twilio/voice/checkin?k=1",
        status_callback="https://line.example.org/twilio/call-status?k=1",
    )
    assert all(SID.match(sid) for sid in sids) and len(set(sids)) == 3
    assert fake.violations == []


@needs_spec
@pytest.mark.parametrize(
    ("form", "code", "named"),
    [
        ({"From": LINE, "Body": "hi"}, 21604, "'To' is a required property"),
        ({"To": "555", "From": LINE, "Body": "hi"}, 21211, "phone-number"),
        ({"To": MEMBER, "From": LINE, "Body": "hi", "Bogus": "1"}, 20422, "unknown field Bogus"),
        ({"To": MEMBER, "From": LINE, "Body": "hi", "StatusCallback": "/s"}, 20422, "absolute"),
    ],
)
def test_a_create_that_breaks_the_contract_is_refused_and_recorded(
    fake: FakeTwilio, form: dict[str, str], code: int, named: str
) -> None:
    answer = post_raw(fake, form)

    assert answer.status_code == 400 and answer.json()["code"] == code
    assert any(named in v for v in fake.violations), fake.violations
    assert fake.messages == []


def test_without_contract_checks_only_twilios_own_rules_apply() -> None:
    with FakeTwilio(auth_token=AUTH_TOKEN, check_contract=False) as fake:
        answer = post_raw(fake, {"To": MEMBER, "From": LINE, "Body": "hi", "Bogus": "1"})
        assert answer.status_code == 201 and fake.violations == []
        assert post_raw(fake, {"From": LINE, "Body": "hi"}).json()["code"] == 21604


# Failures.


def test_fail_ratio_fails_about_that_share_and_may_have_created(
    fake: FakeTwilio, transport: TwilioTransport
) -> None:
    fake.fail_ratio(0.5, seed=1, created_ratio=1.0)
    errors = []
    for n in range(40):
        try:
            send(transport, body=f"ratio {n}")
        except TransportError as error:
            errors.append(error)

    assert 8 <= len(errors) <= 32
    assert all(e.http_status == 500 and e.retryable and e.maybe_sent for e in errors)
    assert fake.created_count() == 40  # "failed after accepting": every one exists

    fake.fail_ratio(1.0, status=503, seed=1)
    assert refused(transport, body="not created").http_status == 503
    assert fake.created_count(body="not created") == 0
    fake.fail_ratio(0)
    send(transport, body="ok again")


def test_throttle_answers_429_until_it_ends(fake: FakeTwilio, transport: TwilioTransport) -> None:
    fake.throttle_for(60)
    error = refused(transport)
    assert (error.http_status, error.code, error.retryable) == (429, 20429, True)
    assert fake.created_count() == 0

    fake.throttle(time.time() - 1)
    send(transport)
    fake.throttle_for(60)
    fake.throttle(None)
    send(transport)
    assert fake.created_count() == 2


@pytest.mark.parametrize("created", [True, False])
def test_timeout_next_makes_the_client_time_out(fake: FakeTwilio, created: bool) -> None:
    transport = TwilioTransport(ACCOUNT_SID, AUTH_TOKEN, api_url=fake.url, timeout=0.5)
    fake.timeout_next(created=created)
    attempt = datetime.now(UTC)

    error = refused(transport)
    assert error.http_status is None and error.retryable and error.maybe_sent
    assert fake.created_count() == int(created)
    found = transport.find_sent(to=MEMBER, from_=LINE, body="Hi", since=attempt)
    assert (found is not None) == created
    send(transport)  # only the next one hung


def test_a_hanging_answer_ends_when_the_fake_closes() -> None:
    fake = FakeTwilio(auth_token=AUTH_TOKEN)
    with fake:
        fake.timeout_next()
        transport = TwilioTransport(ACCOUNT_SID, AUTH_TOKEN, api_url=fake.url, timeout=0.3)
        refused(transport)
        started = time.monotonic()
    assert time.monotonic() - started < 5  # not hang_seconds (30)


@pytest.mark.parametrize(("code", "retryable"), [(21211, False), (21610, False), (21614, False)])
def test_fail_for_refuses_one_number(
    fake: FakeTwilio, transport: TwilioTransport, code: int, retryable: bool
) -> None:
    fake.fail_for(OTHER, code=code)
    error = refused(transport, to=OTHER)
    assert (error.http_status, error.code, error.retryable) == (400, code, retryable)
    send(transport, to=MEMBER)
    assert fake.created_count(to=OTHER) == 0 and fake.created_count(to=MEMBER) == 1


def test_counts_show_loss_and_duplication(fake: FakeTwilio, transport: TwilioTransport) -> None:
    send(transport, to=MEMBER, body="a")
    send(transport, to=MEMBER, body="a")
    send(transport, to=OTHER, body="b")

    assert fake.created_count() == 3 and fake.created_count(to=MEMBER, body="a") == 2
    assert fake.copies() == {(MEMBER, "a"): 2, (OTHER, "b"): 1}
    assert fake.bodies_by_recipient() == {MEMBER: ["a", "a"], OTHER: ["b"]}


# Status callbacks to an HTTP server (callback_base) and their signatures.


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[str, dict[str, str], str]]]]:
    """A local HTTP server recording (path with query, form, signature) of each POST."""
    received: list[tuple[str, dict[str, str], str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            form = dict(parse_qsl(raw.decode()))
            received.append((self.path, form, self.headers["X-Twilio-Signature"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def test_callbacks_in_order_are_signed_over_the_public_url(receiver) -> None:  # noqa: ANN001
    base, received = receiver
    with FakeTwilio(auth_token=AUTH_TOKEN, callbacks="in_order", callback_base=base) as fake:
        transport = TwilioTransport(ACCOUNT_SID, AUTH_TOKEN, api_url=fake.url, timeout=2.0)
        sid = send(transport)
        fake.wait_callbacks()
        fetched = transport.client.messages(sid).fetch()

    assert [form["MessageStatus"] for _, form, _ in received] == ["sent", "delivered"]
    validator = RequestValidator(AUTH_TOKEN)
    for path, form, signature in received:
        assert path == "/twilio/status?o=12"
        assert validator.validate(CALLBACK, form, signature)
        assert form["MessageSid"] == form["SmsSid"] == sid and form["AccountSid"] == ACCOUNT_SID
        assert (form["To"], form["From"], form["ApiVersion"]) == (MEMBER, LINE, "2010-04-01")
        assert "ErrorCode" not in form
    assert [c.target for c in fake.callbacks_sent] == [base + "/twilio/status?o=12"] * 2
    assert [c.status for c in fake.callbacks_sent] == [204, 204]
    assert fetched.status == "delivered" and fetched.date_sent is not None


def test_messaging_service_callbacks_start_queued(receiver) -> None:  # noqa: ANN001
    base, received = receiver
    with FakeTwilio(auth_token=AUTH_TOKEN, callbacks="in_order", callback_base=base) as fake:
        transport = TwilioTransport(ACCOUNT_SID, AUTH_TOKEN, api_url=fake.url, timeout=2.0)
        send(transport, from_=None, messaging_service_sid=MESSAGING_SERVICE_SID)
        fake.wait_callbacks()

    assert [form["MessageStatus"] for _, form, _ in received] == ["queued", "sent", "delivered"]
    assert {(form["From"], form["MessagingServiceSid"]) for _, form, _ in received} == {
        (SERVICE_SENDER, MESSAGING_SERVICE_SID)
    }


def test_shuffled_callbacks_reorder_and_duplicate_reproducibly() -> None:
    def statuses(seed: int) -> list[list[str]]:
        sink_calls: list[tuple[str, str]] = []

        def sink(url: str, form: dict[str, str], headers: dict[str, str]) -> int:
            sink_calls.append((form["MessageSid"], form["MessageStatus"]))
            return 204

        with FakeTwilio(
            callbacks="shuffled", callback_sink=sink, duplicate_ratio=0.5, seed=seed
        ) as fake:
            transport = TwilioTransport(ACCOUNT_SID, fake.auth_token, api_url=fake.url)
            sids = [send(transport, body=f"n{n}") for n in range(20)]
            fake.wait_callbacks()
            assert {m["status"] for m in fake.messages} == {"delivered"}
        return [[status for sid, status in sink_calls if sid == s] for s in sids]

    first = statuses(seed=3)
    assert first == statuses(seed=3)
    assert all({"sent", "delivered"} == set(events) for events in first)
    assert any(events.index("delivered") < events.index("sent") for events in first)
    assert any(len(events) > 2 for events in first)


def test_a_failed_callback_is_recorded_and_not_retried() -> None:
    with FakeTwilio(callbacks="in_order", callback_base=closed_port_url()) as fake:
        send(TwilioTransport(ACCOUNT_SID, fake.auth_token, api_url=fake.url))
        fake.wait_callbacks()

    assert len(fake.callbacks_sent) == 2
    assert all(c.status is None and "ConnectionError" in c.error for c in fake.callbacks_sent)


# Status callbacks into the app, through a callback_sink on the Flask test client.


def sink_into(client):  # noqa: ANN001, ANN201
    def post(url: str, form: dict[str, str], headers: dict[str, str]) -> int:
        assert url.startswith(PUBLIC_URL)
        parts = urlsplit(url)
        signature = {"X-Twilio-Signature": headers["X-Twilio-Signature"]}
        return client.post(f"{parts.path}?{parts.query}", data=form, headers=signature).status_code

    return post


def send_from_the_app(line, session, to: str | None = None) -> int:  # noqa: ANN001
    create_line_number(session, LINE)
    row = outbox.write(session, to=create_member(session, to).phone, body="Hi", kind="page")
    line.commit(session)  # in-process: sent through the fake right away
    return row.id


def final_row(session, row_id: int) -> OutboundMessage:  # noqa: ANN001
    session.rollback()
    session.expire_all()
    return session.scalars(select(OutboundMessage).where(OutboundMessage.id == row_id)).one()


@pytest.mark.parametrize("mode", ["in_order", "shuffled"])
@pytest.mark.parametrize(
    ("code", "status"), [(None, "delivered"), (30003, "undelivered"), (30005, "failed")]
)
def test_the_app_records_the_final_status_from_signed_callbacks(
    fake: FakeTwilio, line, session, client, mode: str, code: int | None, status: str
) -> None:  # noqa: ANN001
    fake.callbacks, fake.callback_sink, fake.duplicate_ratio = mode, sink_into(client), 0.5
    member_phone = phone()
    if code:
        fake.undeliverable(member_phone, code, status=status)
    row_id = send_from_the_app(line, session, member_phone)
    fake.wait_callbacks()

    row = final_row(session, row_id)
    assert (row.status, row.error_code) == (status, code)
    assert row.twilio_sid == fake.messages[-1]["sid"]
    assert fake.callbacks_sent and {c.status for c in fake.callbacks_sent} == {204}
    assert fake.violations == []


def test_a_tampered_callback_is_refused(fake: FakeTwilio, line, session, client) -> None:  # noqa: ANN001
    fake.callbacks, fake.callback_sink = "in_order", sink_into(client)
    row_id = send_from_the_app(line, session)
    fake.wait_callbacks()
    sent = fake.callbacks_sent[0]
    assert sent.form["MessageStatus"] == "sent"

    forged = dict(sent.form, MessageStatus="undelivered", ErrorCode="30007")
    assert sink_into(client)(sent.url, forged, sent.headers) == 403
    assert final_row(session, row_id).status == "delivered"
