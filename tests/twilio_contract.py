"""Twilio's OpenAPI description (../shared/twilio-oai) as checks on a captured request, shared by
the contract tests and the fake Twilio server, which refuses requests that break it.

openapi-core does the description's part (required fields, formats, SID patterns, security);
`Contract` adds the rules the description does not encode (one originator, a body, absolute
callback URLs, answering-machine detection on calls).
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest

if TYPE_CHECKING:
    from tests.fake_twilio import RecordedRequest

TWILIO_HOST = "https://api.twilio.com"
FORM = "application/x-www-form-urlencoded"
# The description's "phone-number" format, held to what the line sends: E.164, optionally behind
# a channel prefix ("whatsapp:+1..."). Twilio also takes short codes and sender IDs; we never do.
E164 = re.compile(r"(?:[a-z]+:)?\+[1-9]\d{1,14}")

_loaded: dict[Path, Contract] = {}
_loading = threading.Lock()


def is_phone_number(value: object) -> bool:
    return not isinstance(value, str) or E164.fullmatch(value) is not None


def spec_path() -> Path:
    """Twilio's description in the shared directory (SMSLINE_SHARED_DIR or ../shared)."""
    shared = os.environ.get("SMSLINE_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared"
    return Path(shared) / "twilio-oai" / "twilio_api_v2010.json"


def load_contract() -> Contract | None:
    """The contract from `spec_path()`, loaded once per process; None when the file is absent."""
    path = spec_path()
    with _loading:
        if path not in _loaded:
            if not path.exists():
                return None
            _loaded[path] = Contract(json.loads(path.read_text(encoding="utf-8")))
        return _loaded[path]


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
        self._operations: dict[str, tuple[str, str, dict[str, Any]]] = {}
        # openapi-core is not documented as thread-safe; the fake serves from many threads.
        self._lock = threading.Lock()

    def operation(self, operation_id: str) -> tuple[str, str, dict[str, Any]]:
        """(path template, method, operation) of one operation, by its id."""
        if operation_id in self._operations:
            return self._operations[operation_id]
        for template, item in self.spec["paths"].items():
            for method, operation in item.items():
                if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                    self._operations[operation_id] = (template, method, operation)
                    return template, method, operation
        raise LookupError(operation_id)

    def violations(
        self, operation_id: str, request: RecordedRequest, *, full: bool = True
    ) -> list[str]:
        """Every way `request` breaks the operation's contract (empty when it holds).

        With `full` False only the cheap checks run (method, path, form rules), not openapi-core,
        which costs a few milliseconds a request.
        """
        template, method, operation = self.operation(operation_id)
        problems = []
        if request.method.lower() != method:
            problems.append(f"method {request.method}, expected {method.upper()}")
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template))
        if not re.fullmatch(pattern, request.path):
            problems.append(f"path {request.path} is not {template}")
        content_type = request.headers.get("Content-Type", "")
        if full:
            problems += self._described(request, content_type)
        if "requestBody" in operation:
            problems += self._form_rules(operation_id, operation, content_type, request.body)
        return problems

    def _described(self, request: RecordedRequest, content_type: str) -> list[str]:
        """What openapi-core finds wrong against the description itself."""
        mock = MockRequest(
            TWILIO_HOST,
            request.method,
            request.path,
            args=request.query,
            headers=request.headers,
            data=request.body,
            content_type=content_type,
        )
        with self._lock:
            result = self.api.unmarshal_request(mock)
        problems = []
        for error in result.errors:
            details = getattr(error.__cause__, "schema_errors", None) or [error.__cause__]
            problems.append(f"{type(error).__name__}: {[str(d).splitlines()[0] for d in details]}")
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
