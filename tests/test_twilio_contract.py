"""Contract: what TwilioTransport sends has the shape Twilio's OpenAPI description accepts.

The exact requests are captured at the fake server and validated with openapi-core against
../shared/twilio-oai/twilio_api_v2010.json, plus the rules the description does not encode.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest

from smsline.transport.twilio import TwilioTransport
from tests.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    MESSAGING_SERVICE_SID,
    FakeTwilio,
    RecordedRequest,
)
from tests.twilio_contract import FORM, Contract, load_contract, spec_path


@pytest.fixture(scope="module")
def contract() -> Contract:
    found = load_contract()
    if found is None:
        pytest.skip(f"../shared is absent: {spec_path()} not found (set SMSLINE_SHARED_DIR)")
    return found


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


@pytest.fixture
def transport(fake: FakeTwilio) -> TwilioTransport:
    return TwilioTransport(ACCOUNT_SID, AUTH_TOKEN, api_url=fake.url, timeout=2.0)


SENDS = {
    "from the line number": {
        "from_": "+15005550001",
        "messaging_service_sid": None,
        "status_callback": "https://line.example.org/twilio/status?outbox=42",
    },
    "through a messaging service": {
        "from_": None,
        "messaging_service_sid": MESSAGING_SERVICE_SID,
        "status_callback": "https://line.example.org/twilio/status",
    },
    "without a status callback": {
        "from_": "+15005550001",
        "messaging_service_sid": None,
        "status_callback": None,
    },
}


@pytest.mark.parametrize("kind", SENDS)
def test_create_message_request_meets_the_contract(
    contract: Contract, fake: FakeTwilio, transport: TwilioTransport, kind: str
) -> None:
    transport.send(to="+15005550006", body="Hola 👋 — check-in time", **SENDS[kind])

    request = fake.requests[-1]
    assert contract.operation("CreateMessage")[:2] == (
        "/2010-04-01/Accounts/{AccountSid}/Messages.json",
        "post",
    )
    assert contract.violations("CreateMessage", request) == []
    assert request.form["Body"] == "Hola 👋 — check-in time"


def test_find_sent_request_meets_the_list_contract(
    contract: Contract, fake: FakeTwilio, transport: TwilioTransport
) -> None:
    transport.find_sent(to="+15005550006", from_="+15005550001", body="x", since=datetime.now(UTC))

    request = fake.requests[-1]
    assert contract.violations("ListMessage", request) == []
    assert set(request.query) <= {"To", "From", "PageSize", "Page", "PageToken"}


def test_create_call_request_meets_the_contract(
    contract: Contract, fake: FakeTwilio, transport: TwilioTransport
) -> None:
    sid = transport.call(
        to="+15005550006",
        from_="+15005550001",
        url="https://line.example.org/twilio/voice/checkin?k=7",
        status_callback="https://line.example.org/twilio/call-status?k=7",
    )

    request = fake.requests[-1]
    assert sid.startswith("CA") and fake.calls[-1]["sid"] == sid
    assert contract.operation("CreateCall")[:2] == (
        "/2010-04-01/Accounts/{AccountSid}/Calls.json",
        "post",
    )
    assert contract.violations("CreateCall", request) == []
    assert request.form["MachineDetection"] == "Enable"
    assert request.form["Url"] == "https://line.example.org/twilio/voice/checkin?k=7"
    assert request.form["StatusCallback"] == "https://line.example.org/twilio/call-status?k=7"
    assert request.form["StatusCallbackEvent"] == "completed"


def test_the_call_checks_catch_a_bad_request(contract: Contract) -> None:
    """Guard against a vacuous pass for calls too."""
    calls = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    auth = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()

    def violations(body: str) -> list[str]:
        headers = {"Content-Type": FORM, "Authorization": auth}
        request = RecordedRequest("POST", calls, {}, dict(parse_qsl(body)), headers, body.encode())
        return contract.violations("CreateCall", request)

    url = "Url=https%3A%2F%2Fx.org%2Fv&StatusCallback=https%3A%2F%2Fx.org%2Fs"
    ok = f"To=%2B15005550006&From=%2B15005550001&{url}&MachineDetection=Enable"
    assert violations(ok) == []
    assert violations(ok.replace("&MachineDetection=Enable", "")) == [
        "MachineDetection must be Enable or DetectMessageEnd"
    ]
    assert any("'From' is a required property" in v for v in violations(ok.split("&", 1)[0]))
    assert violations(ok + "&Bogus=1") == ["unknown field Bogus"]
    assert "Url must be an absolute URL" in violations(
        ok.replace("https%3A%2F%2Fx.org%2Fv", "%2Fv")
    )


def test_the_checks_catch_a_bad_request(contract: Contract) -> None:
    """Guard against a vacuous pass: broken requests are reported."""
    messages = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    auth = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()

    def violations(body: str, path: str = messages, authorization: str | None = auth) -> list[str]:
        headers = {"Content-Type": FORM}
        if authorization:
            headers["Authorization"] = authorization
        form = dict(parse_qsl(body))
        request = RecordedRequest("POST", path, {}, form, headers, body.encode())
        return contract.violations("CreateMessage", request)

    ok = "To=%2B15005550006&From=%2B15005550001&Body=hi"
    assert violations(ok) == []
    assert any(
        "'To' is a required property" in v for v in violations("From=%2B15005550001&Body=hi")
    )
    assert any("phone-number" in v for v in violations("To=555&From=%2B15005550001&Body=hi"))
    assert violations(ok + "&Bogus=1") == ["unknown field Bogus"]
    assert violations(ok + "&Body=again") == ["field Body sent 2 times"]
    assert violations("To=%2B15005550006&Body=hi") == [
        "exactly one of From and MessagingServiceSid is required"
    ]
    assert violations(ok + f"&MessagingServiceSid={MESSAGING_SERVICE_SID}") == [
        "exactly one of From and MessagingServiceSid is required"
    ]
    assert violations("To=%2B15005550006&From=%2B15005550001&Body=+") == ["Body must not be empty"]
    assert violations(ok + "&StatusCallback=%2Fstatus") == [
        "StatusCallback must be an absolute URL"
    ]
    assert any(
        "MG1" in v or "pattern" in v
        for v in violations(ok.replace("From=%2B15005550001", "MessagingServiceSid=MG1"))
    )
    assert violations(ok, path="/2010-04-01/Accounts/nope/Messages.json")
    assert any("Security" in v for v in violations(ok, authorization=None))
