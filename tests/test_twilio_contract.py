"""Contract: what TwilioTransport sends has the shape Twilio's OpenAPI description accepts.

The exact requests are captured at the fake server and validated with openapi-core against
../shared/twilio-oai/twilio_api_v2010.json, plus the rules the description does not encode.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest

from smsline.transport.twilio import TwilioTransport
from tests.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    MESSAGING_SERVICE_SID,
    FakeTwilio,
    RecordedRequest,
)

TWILIO_HOST = "https://api.twilio.com"
FORM = "application/x-www-form-urlencoded"
# The description's "phone-number" format, held to what the line sends: E.164, optionally behind
# a channel prefix ("whatsapp:+1..."). Twilio also takes short codes and sender IDs; we never do.
E164 = re.compile(r"(?:[a-z]+:)?\+[1-9]\d{1,14}")


def is_phone_number(value: object) -> bool:
    return not isinstance(value, str) or E164.fullmatch(value) is not None


def spec_path() -> Path:
    """Twilio's description in the shared directory (SMSLINE_SHARED_DIR or ../shared)."""
    shared = os.environ.get("SMSLINE_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared"
    return Path(shared) / "twilio-oai" / "twilio_api_v2010.json"


class Contract:
    """Twilio's description, loaded once, and the checks made against it."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        # Twilio's published description is not ours to validate; skipping that saves ~1 s.
        config = Config(
            spec_validator_cls=None,
            extra_format_validators={"phone-number": is_phone_number},
        )
        self.api = OpenAPI.from_dict(spec, config=config)

    def operation(self, operation_id: str) -> tuple[str, str, dict[str, Any]]:
        """(path template, method, operation) of one operation, by its id."""
        for template, item in self.spec["paths"].items():
            for method, operation in item.items():
                if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                    return template, method, operation
        raise LookupError(operation_id)

    def violations(self, operation_id: str, request: RecordedRequest) -> list[str]:
        """Every way `request` breaks the operation's contract (empty when it holds)."""
        template, method, operation = self.operation(operation_id)
        problems = []
        if request.method.lower() != method:
            problems.append(f"method {request.method}, expected {method.upper()}")
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template))
        if not re.fullmatch(pattern, request.path):
            problems.append(f"path {request.path} is not {template}")
        content_type = request.headers.get("Content-Type", "")
        mock = MockRequest(
            TWILIO_HOST,
            request.method,
            request.path,
            args=request.query,
            headers=request.headers,
            data=request.body,
            content_type=content_type,
        )
        result = self.api.unmarshal_request(mock)
        for error in result.errors:
            details = getattr(error.__cause__, "schema_errors", None) or [error.__cause__]
            problems.append(f"{type(error).__name__}: {[str(d).splitlines()[0] for d in details]}")
        if "requestBody" in operation:
            problems += self._form_rules(operation_id, operation, content_type, request.body)
        return problems

    def _form_rules(
        self, operation_id: str, operation: dict[str, Any], content_type: str, raw: bytes
    ) -> list[str]:
        """The rules of a message send or a call that the description does not encode."""
        content = operation["requestBody"]["content"]
        if content_type.split(";")[0].strip() not in content:
            return [f"content type {content_type!r} is not one of {list(content)}"]
        properties = content[FORM]["schema"]["properties"]
        fields = parse_qsl(raw.decode(), keep_blank_values=True)
        form = dict(fields)
        problems = [f"unknown field {name}" for name, _ in fields if name not in properties]
        counts = Counter(name for name, _ in fields)
        repeatable = {n for n, p in properties.items() if p.get("type") == "array"}
        problems += [
            f"field {name} sent {n} times"
            for name, n in counts.items()
            if n > 1 and name not in repeatable
        ]
        if operation_id == "CreateCall":
            return problems + self._call_rules(form)
        if bool(form.get("From")) == bool(form.get("MessagingServiceSid")):
            problems.append("exactly one of From and MessagingServiceSid is required")
        if not form.get("Body", "").strip():
            problems.append("Body must not be empty")
        if "StatusCallback" in form:
            url = urlsplit(form["StatusCallback"])
            if url.scheme not in ("http", "https") or not url.netloc:
                problems.append("StatusCallback must be an absolute URL")
        return problems

    @staticmethod
    def _call_rules(form: dict[str, str]) -> list[str]:
        """A check-in call: phone numbers both ends, TwiML and final status from absolute URLs, and
        answering-machine detection (a question must never be left on a voicemail)."""
        problems = []
        for name in ("To", "From"):
            if not E164.fullmatch(form.get(name, "")):
                problems.append(f"{name} must be an E.164 phone number")
        for name in ("Url", "StatusCallback"):
            url = urlsplit(form.get(name, ""))
            if url.scheme not in ("http", "https") or not url.netloc:
                problems.append(f"{name} must be an absolute URL")
        if form.get("MachineDetection") not in ("Enable", "DetectMessageEnd"):
            problems.append("MachineDetection must be Enable or DetectMessageEnd")
        return problems


@pytest.fixture(scope="module")
def contract() -> Contract:
    path = spec_path()
    if not path.exists():
        pytest.skip(f"../shared is absent: {path} not found (set SMSLINE_SHARED_DIR)")
    return Contract(json.loads(path.read_text(encoding="utf-8")))


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
