"""A local Twilio for tests: Messages create, list and fetch, and Calls create, on 127.0.0.1,
with signed status callbacks and failures on demand.

    with FakeTwilio(callbacks="in_order", callback_base=app_url) as fake:
        transport = TwilioTransport(ACCOUNT_SID, AUTH_TOKEN, api_url=fake.url)
        ...
        fake.wait_callbacks()
        assert fake.violations == []

It answers like Twilio (status codes, JSON shapes, error bodies, fresh SIDs). Creations are
checked against Twilio's OpenAPI description when ../shared/twilio-oai is present, and refused
with 400 when they break it. A created message with a StatusCallback gets Twilio's status
callbacks, signed, from a background thread, in order or shuffled with duplicates. Creations can
be made to fail (once, by number, by ratio), to be throttled, or to hang past the client's
timeout, with or without the message being created.
"""

from __future__ import annotations

import base64
import json
import queue
import random
import re
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from twilio.request_validator import RequestValidator

from tests.twilio_contract import E164, Contract, load_contract

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "test-auth-token"
MESSAGING_SERVICE_SID = "MG" + "fedcba9876543210" * 2
# The number a Messaging Service "picks" for a message, as status callbacks report it.
SERVICE_SENDER = "+15005550001"
# Every creation is checked in full against the description up to this many, then one in
# `contract_every` (openapi-core costs ~6 ms a request); the cheap rules are checked on all.
CONTRACT_ALWAYS = 50
# What the fake answers a request that breaks the contract with no more specific code.
INVALID_PARAMETER = 20422

# Callable[[url as signed, form, headers], HTTP status]: delivers a callback in-process.
CallbackSink = Callable[[str, dict[str, str], dict[str, str]], int]

_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages\.json$")
_CALLS = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Calls\.json$")
_MESSAGE = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages/(?P<sid>SM\w+)\.json$")
_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")
_PROGRESS = {
    "accepted": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
}


@dataclass
class RecordedRequest:
    """One request the fake received, as sent."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class SentCallback:
    """One status callback the fake posted: `url` as signed, `target` where it went."""

    url: str
    target: str
    form: dict[str, str]
    headers: dict[str, str]
    status: int | None
    error: str | None = None


@dataclass
class _Failure:
    status: int
    code: int | None
    created: bool = False
    hang: bool = False


@dataclass
class _RatioFailure:
    ratio: float
    status: int
    code: int | None
    created_ratio: float
    rng: random.Random


@dataclass
class _Answer:
    status: int
    payload: dict[str, Any]
    hang: bool = False


@dataclass
class FakeTwilio:
    """Fake Twilio REST server in a background thread; use as a context manager.

    `callbacks` is None (no status callbacks), "in_order" or "shuffled". Callbacks go to the
    StatusCallback URL, or to it with scheme and host replaced by `callback_base`, or to
    `callback_sink`; the signature is always over the URL as given.
    """

    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    delay: float = 0.0
    requests: list[RecordedRequest] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    check_contract: bool = True
    contract_every: int = 10
    callbacks: str | None = None
    callback_base: str | None = None
    callback_sink: CallbackSink | None = None
    duplicate_ratio: float = 0.2
    seed: int | None = None
    hang_seconds: float = 30.0
    violations: list[str] = field(default_factory=list)
    callbacks_sent: list[SentCallback] = field(default_factory=list)
    _pending_failures: list[_Failure] = field(default_factory=list)
    _failing_numbers: dict[str, _Failure] = field(default_factory=dict)
    _undeliverable: dict[str, tuple[str, int]] = field(default_factory=dict)
    _call_outcomes: dict[str, tuple[str, str]] = field(default_factory=dict)
    _ratio: _RatioFailure | None = None
    _throttled_until: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        if self.callbacks not in (None, "in_order", "shuffled"):
            raise ValueError(f"callbacks must be None, 'in_order' or 'shuffled': {self.callbacks}")
        self._rng = random.Random(self.seed)
        self._contract: Contract | None = None
        self._checked = 0
        self._closing = threading.Event()
        self._flowing = threading.Event()  # cleared by hold_callbacks
        self._flowing.set()
        self._queue: queue.Queue[tuple[str, str, str, int | None] | None] = queue.Queue()
        self._outstanding = 0
        self._drained = threading.Condition()
        self._worker: threading.Thread | None = None

    def __enter__(self) -> FakeTwilio:
        self._contract = load_contract() if self.check_contract else None
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        self._worker = threading.Thread(target=self._deliver_callbacks, daemon=True)
        self._worker.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._closing.set()  # hanging answers return, undelivered callbacks are dropped
        self._queue.put(None)
        self._server.shutdown()
        self._server.server_close()
        if self._worker is not None:
            self._worker.join(timeout=10)

    @property
    def url(self) -> str:
        """Base URL to give the transport as api_url, e.g. http://127.0.0.1:54321."""
        assert self._server is not None, "use FakeTwilio as a context manager"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # Failures, settable while the server runs.

    def fail_next(
        self, n: int = 1, *, status: int = 500, code: int | None = None, created: bool = False
    ) -> None:
        """Answer the next `n` message (or call) creations with an error.

        With `created` the message is created first, as when Twilio fails after accepting it.
        """
        with self._lock:
            self._pending_failures.extend(_Failure(status, code, created) for _ in range(n))

    def timeout_next(self, n: int = 1, *, created: bool = False) -> None:
        """Hold the answer to the next `n` creations for `hang_seconds` (or until the fake
        closes), so the client times out; with `created` the message exists all the same."""
        with self._lock:
            self._pending_failures.extend(_Failure(504, None, created, hang=True) for _ in range(n))

    def fail_ratio(
        self,
        ratio: float,
        *,
        status: int = 500,
        code: int | None = None,
        seed: int | None = None,
        created_ratio: float = 0.0,
    ) -> None:
        """Fail each creation with probability `ratio` (0 stops it); a failed one was created
        all the same with probability `created_ratio` ("failed after accepting")."""
        with self._lock:
            self._ratio = (
                _RatioFailure(ratio, status, code, created_ratio, random.Random(seed))
                if ratio > 0
                else None
            )

    def throttle(self, until: float | None) -> None:
        """Answer every creation 429 (code 20429) until `until` (time.time()); None stops it."""
        with self._lock:
            self._throttled_until = until

    def throttle_for(self, seconds: float) -> None:
        self.throttle(time.time() + seconds)

    def fail_for(self, to: str, *, status: int = 400, code: int | None = 21610) -> None:
        """Refuse every message to `to` with this error until `clear_failures` (e.g. 21211
        invalid number, 21610 opted out, 21614 not a mobile)."""
        with self._lock:
            self._failing_numbers[to] = _Failure(status, code)

    def undeliverable(self, to: str, code: int = 30003, *, status: str = "undelivered") -> None:
        """Accept messages to `to` but report them `status` ("undelivered" after "sent", or
        "failed") with this ErrorCode in their status callbacks."""
        if status not in ("undelivered", "failed"):
            raise ValueError("status must be undelivered or failed")
        with self._lock:
            self._undeliverable[to] = (status, code)

    def call_outcome(
        self, to: str, *, status: str = "completed", answered_by: str = "human"
    ) -> None:
        """How calls to `to` end in their status callback: "completed" (answered by "human" or
        a machine, e.g. "machine_end_beep"), "no-answer", "busy" or "failed"."""
        with self._lock:
            self._call_outcomes[to] = (status, answered_by)

    def clear_failures(self) -> None:
        with self._lock:
            self._pending_failures.clear()
            self._failing_numbers.clear()
            self._undeliverable.clear()
            self._call_outcomes.clear()
            self._ratio = None
            self._throttled_until = None

    # The account's state.

    def add_message(
        self,
        *,
        to: str,
        body: str,
        from_: str | None = "+15005550001",
        date_created: datetime | None = None,
        status: str = "delivered",
    ) -> dict[str, Any]:
        """Put a message in the account's history directly (e.g. one sent long ago)."""
        with self._lock:
            message = self._new_message(to, from_, None, body, date_created or _now())
        self.set_status(message["sid"], status)
        return message

    def set_status(self, sid: str, status: str, error_code: int | None = None) -> None:
        """Move a message along (sent, delivered, undelivered...), as the carrier would."""
        with self._lock:
            message = next(m for m in self.messages if m["sid"] == sid)
            _set_status(message, status, error_code)

    def created_count(self, to: str | None = None, body: str | None = None) -> int:
        """How many messages were created, to `to` and with `body` when given."""
        with self._lock:
            return sum(
                1
                for m in self.messages
                if (to is None or m["to"] == to) and (body is None or m["body"] == body)
            )

    def copies(self) -> Counter[tuple[str, str]]:
        """How many messages were created for each (to, body): 0 is loss, 2+ duplication."""
        with self._lock:
            return Counter((m["to"], m["body"]) for m in self.messages)

    def bodies_by_recipient(self) -> dict[str, list[str]]:
        """Bodies created to each number, in creation order."""
        found: dict[str, list[str]] = {}
        with self._lock:
            for message in self.messages:
                found.setdefault(message["to"], []).append(message["body"])
        return found

    def hold_callbacks(self) -> None:
        """Keep status callbacks queued until `release_callbacks` (a call's status arrives after
        the code that placed it has finished, as it does from Twilio)."""
        self._flowing.clear()

    def release_callbacks(self) -> None:
        self._flowing.set()

    def wait_callbacks(self, timeout: float = 10.0) -> None:
        """Block until every status callback queued so far was posted; TimeoutError if not."""
        with self._drained:
            if not self._drained.wait_for(lambda: self._outstanding == 0, timeout):
                raise TimeoutError(f"{self._outstanding} status callbacks still queued")

    # What the handler calls.

    def _handle(self, request: RecordedRequest, auth: str | None) -> _Answer:
        with self._lock:
            self.requests.append(request)
            authorized = self._authorized(auth)
        if not authorized:
            return _Answer(*_error(401, 20003, "Authenticate"))
        operation = self._create_operation(request)
        if operation and (refusal := self._check_contract(operation, request)):
            return refusal
        with self._lock:
            return self._route(request)

    def _create_operation(self, request: RecordedRequest) -> str | None:
        """The description's operationId of a creation in this account, else None."""
        if request.method != "POST":
            return None
        for pattern, operation in ((_MESSAGES, "CreateMessage"), (_CALLS, "CreateCall")):
            match = pattern.match(request.path)
            if match and match["account"] == self.account_sid:
                return operation
        return None

    def _check_contract(self, operation: str, request: RecordedRequest) -> _Answer | None:
        """Twilio's 400 for a creation that breaks the contract (recorded in `violations`)."""
        if self._contract is None:
            return None
        with self._lock:
            self._checked += 1
            full = self._checked <= CONTRACT_ALWAYS or self._checked % self.contract_every == 0
        problems = self._contract.violations(operation, request, full=full)
        if not problems:
            return None
        with self._lock:
            self.violations.extend(f"{operation}: {problem}" for problem in problems)
        form = request.form
        invalid = _invalid_message(form) if operation == "CreateMessage" else _invalid_call(form)
        if invalid is None and not E164.fullmatch(form.get("To", "")):
            invalid = _error(400, 21211, "The 'To' number is not a valid phone number.")
        return _Answer(*(invalid or _error(400, INVALID_PARAMETER, "Invalid parameter.")))

    def _route(self, request: RecordedRequest) -> _Answer:
        if match := _MESSAGES.match(request.path):
            if match["account"] != self.account_sid:
                return _Answer(*_error(404, 20404, "The requested resource was not found"))
            if request.method == "POST":
                return self._create(request.form)
            if request.method == "GET":
                return _Answer(*self._list(request))
        if (match := _CALLS.match(request.path)) and request.method == "POST":
            if match["account"] != self.account_sid:
                return _Answer(*_error(404, 20404, "The requested resource was not found"))
            return self._create_call(request.form)
        if (match := _MESSAGE.match(request.path)) and request.method == "GET":
            found = [m for m in self.messages if m["sid"] == match["sid"]]
            if found and match["account"] == self.account_sid:
                return _Answer(200, dict(found[0]))
        return _Answer(*_error(404, 20404, "The requested resource was not found"))

    def _authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.account_sid and password == self.auth_token

    def _injected(self) -> _Failure | None:
        """The failure this creation meets, if any: throttling, then fail_next and timeout_next
        in the order asked, then fail_ratio."""
        if self._throttled_until is not None and time.time() < self._throttled_until:
            return _Failure(429, 20429)
        if self._pending_failures:
            return self._pending_failures.pop(0)
        ratio = self._ratio
        if ratio is not None and ratio.rng.random() < ratio.ratio:
            return _Failure(ratio.status, ratio.code, ratio.rng.random() < ratio.created_ratio)
        return None

    def _create(self, form: dict[str, str]) -> _Answer:
        if invalid := _invalid_message(form):
            return _Answer(*invalid)
        to = form["To"]
        if to in self._failing_numbers:
            failure = self._failing_numbers[to]
            return _Answer(*_error(failure.status, failure.code, f"Message to {to} refused."))
        failure = self._injected()
        if failure is None or failure.created:
            message = self._new_message(
                to, form.get("From"), form.get("MessagingServiceSid"), form["Body"], _now()
            )
            self._queue_callbacks(message, form.get("StatusCallback"))
            if failure is None or failure.hang:
                return _Answer(201, dict(message), hang=failure is not None)
        return _Answer(*_error(failure.status, failure.code, "Injected failure."), failure.hang)

    def _create_call(self, form: dict[str, str]) -> _Answer:
        """A call placed (nobody's phone rings): Twilio's answer, `queued`."""
        if invalid := _invalid_call(form):
            return _Answer(*invalid)
        to, from_ = form["To"], form["From"]
        if to in self._failing_numbers:
            failure = self._failing_numbers[to]
            return _Answer(*_error(failure.status, failure.code, f"Call to {to} refused."))
        failure = self._injected()
        if failure is not None and not failure.created:
            return _Answer(*_error(failure.status, failure.code, "Injected failure."), failure.hang)
        sid = "CA" + uuid.uuid4().hex
        stamp = format_datetime(_now())
        call = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "answered_by": None,
            "date_created": stamp,
            "date_updated": stamp,
            "direction": "outbound-api",
            "from": from_,
            "from_formatted": from_,
            "sid": sid,
            "status": "queued",
            "to": to,
            "to_formatted": to,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{sid}.json",
        }
        self.calls.append(call)
        self._queue_call_callbacks(call, form.get("StatusCallback"))
        if failure is not None and not failure.hang:
            return _Answer(*_error(failure.status, failure.code, "Injected failure."))
        return _Answer(201, dict(call), hang=failure is not None)

    # Status callbacks.

    def _queue_callbacks(self, message: dict[str, Any], url: str | None) -> None:
        """Queue the message's status callbacks, in order or shuffled with some duplicated."""
        if not self.callbacks or not url:
            return
        events = self._events(message)
        if self.callbacks == "shuffled":
            events += [e for e in events if self._rng.random() < self.duplicate_ratio]
            self._rng.shuffle(events)
        with self._drained:
            self._outstanding += len(events)
        for status, code in events:
            self._queue.put((url, message["sid"], status, code))

    def _queue_call_callbacks(self, call: dict[str, Any], url: str | None) -> None:
        """Queue a call's final status callback (the line asks for "completed" only): how the
        call ended for its number (`call_outcome`), once, or in shuffled mode maybe twice."""
        if not self.callbacks or not url:
            return
        status, answered_by = self._call_outcomes.get(call["to"], ("completed", "human"))
        call["answered_by"] = answered_by
        events = [(status, None)]
        if self.callbacks == "shuffled" and self._rng.random() < self.duplicate_ratio:
            events.append((status, None))
        with self._drained:
            self._outstanding += len(events)
        for event in events:
            self._queue.put((url, call["sid"], *event))

    def _events(self, message: dict[str, Any]) -> list[tuple[str, int | None]]:
        """The statuses Twilio reports for a message, in order: a Messaging Service's message
        is queued first; an undeliverable number gets undelivered after sent, or failed."""
        first = [("queued", None)] if message["messaging_service_sid"] else []
        outcome = self._undeliverable.get(message["to"])
        if outcome is None:
            return [*first, ("sent", None), ("delivered", None)]
        if outcome[0] == "failed":
            return [*first, outcome]
        return [*first, ("sent", None), outcome]

    def _deliver_callbacks(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                while not (self._flowing.wait(0.05) or self._closing.is_set()):
                    pass
                if not self._closing.is_set():
                    self._post_callback(*item)
            finally:
                with self._drained:
                    self._outstanding -= 1
                    self._drained.notify_all()

    def _post_callback(self, url: str, sid: str, status: str, code: int | None) -> None:
        """Post one signed status callback and record it; no retry, as Twilio by default."""
        with self._lock:
            if sid.startswith("CA"):
                call = next(c for c in self.calls if c["sid"] == sid)
                call["status"] = status
                form = self._call_callback_form(call)
            else:
                message = next(m for m in self.messages if m["sid"] == sid)
                if _PROGRESS[status] > _PROGRESS.get(message["status"], 0):
                    _set_status(message, status, code)
                form = self._callback_form(message, status, code)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
            "User-Agent": "TwilioProxy/1.1",
            "X-Twilio-Signature": RequestValidator(self.auth_token).compute_signature(url, form),
        }
        target, answer, error = url, None, None
        try:
            if self.callback_sink is not None:
                answer = self.callback_sink(url, dict(form), dict(headers))
            else:
                target = self._callback_target(url)
                answer = requests.post(
                    target, data=form, headers=headers, timeout=5, allow_redirects=False
                ).status_code
        except Exception as exc:  # noqa: BLE001 - recorded, as Twilio records a failed callback
            error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.callbacks_sent.append(SentCallback(url, target, form, headers, answer, error))

    def _callback_form(
        self, message: dict[str, Any], status: str, code: int | None
    ) -> dict[str, str]:
        form = {
            "ApiVersion": "2010-04-01",
            "AccountSid": self.account_sid,
            "SmsSid": message["sid"],
            "SmsStatus": status,
            "MessageSid": message["sid"],
            "MessageStatus": status,
            "To": message["to"],
            "From": message["from"] or SERVICE_SENDER,
        }
        if message["messaging_service_sid"]:
            form["MessagingServiceSid"] = message["messaging_service_sid"]
        if code is not None:
            form["ErrorCode"] = str(code)
        return form

    def _call_callback_form(self, call: dict[str, Any]) -> dict[str, str]:
        form = {
            "ApiVersion": "2010-04-01",
            "AccountSid": self.account_sid,
            "CallSid": call["sid"],
            "CallStatus": call["status"],
            "Direction": "outbound-api",
            "To": call["to"],
            "From": call["from"],
            "CallDuration": "0" if call["status"] != "completed" else "31",
        }
        if call["status"] == "completed":
            form["AnsweredBy"] = call["answered_by"]
        return form

    def _callback_target(self, url: str) -> str:
        """`url` with scheme and host (and a path prefix) taken from `callback_base`."""
        if not self.callback_base:
            return url
        parts, base = urlsplit(url), urlsplit(self.callback_base)
        path = base.path.rstrip("/") + parts.path
        return urlunsplit((base.scheme, base.netloc, path, parts.query, ""))

    def _new_message(
        self, to: str, from_: str | None, service: str | None, body: str, created: datetime
    ) -> dict[str, Any]:
        sid = "SM" + uuid.uuid4().hex
        stamp = format_datetime(created.astimezone(UTC))
        base = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}"
        message = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": stamp,
            "date_sent": None,
            "date_updated": stamp,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": from_,  # a Messaging Service picks the sender later
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": str(segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued" if from_ else "accepted",
            "subresource_uris": {"media": f"{base}/Media.json"},
            "to": to,
            "uri": f"{base}.json",
        }
        self.messages.append(message)
        return message

    def _list(self, request: RecordedRequest) -> tuple[int, dict[str, Any]]:
        query = request.query
        try:
            page_size = min(max(int(query.get("PageSize", 50)), 1), 1000)
            page = max(int(query.get("Page", 0)), 0)
        except ValueError:
            return _error(400, 20001, "Invalid paging parameter.")
        found = [m for m in reversed(self.messages) if _matches(m, query)]
        found.sort(key=lambda m: _parse_rfc2822(m["date_created"]), reverse=True)
        chunk = found[page * page_size : (page + 1) * page_size]
        keep = {k: v for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}

        def page_uri(number: int) -> str:
            params = {**keep, "PageSize": page_size, "Page": number}
            if number > 0:
                params["PageToken"] = f"PASM{number}"
            return f"{request.path}?{urlencode(params)}"

        has_next = (page + 1) * page_size < len(found)
        return 200, {
            "end": page * page_size + max(len(chunk) - 1, 0),
            "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1) if has_next else None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
            "start": page * page_size,
            "uri": page_uri(page),
            "messages": [dict(m) for m in chunk],
        }


class _Server(ThreadingHTTPServer):
    """Twilio takes every connection: the standard library's listen backlog of 5 would reset some
    when workers send batches at once (a send of unknown outcome, for the clock to reconcile)."""

    request_queue_size = 128


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeTwilio/1.0"

    def _serve(self) -> None:
        fake: FakeTwilio = self.server.fake  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        form = {}
        if "x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
            form = dict(parse_qsl(raw.decode(), keep_blank_values=True))
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            form=form,
            headers=dict(self.headers.items()),
            body=raw,
        )
        answer = fake._handle(request, self.headers.get("Authorization"))
        if answer.hang:
            fake._closing.wait(fake.hang_seconds)
        if fake.delay:
            time.sleep(fake.delay)
        data = json.dumps(answer.payload).encode()
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Twilio-Request-Id", "RQ" + uuid.uuid4().hex)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    do_GET = do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet


def segments(body: str) -> int:
    """How many SMS segments Twilio would bill for this body (GSM-7 or UCS-2)."""
    if all(c in _GSM7 or c in _GSM7_EXTENDED for c in body):
        units, single, multi = sum(2 if c in _GSM7_EXTENDED else 1 for c in body), 160, 153
    else:
        units, single, multi = len(body.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else -(-units // multi)


def closed_port_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _invalid_message(form: dict[str, str]) -> tuple[int, dict[str, Any]] | None:
    """Twilio's own refusal of a message creation missing what it needs, else None."""
    body = form.get("Body", "")
    if not form.get("To"):
        return _error(400, 21604, "A 'To' phone number is required.")
    if not form.get("From") and not form.get("MessagingServiceSid"):
        return _error(400, 21603, "A 'From' phone number is required.")
    if not body and "MediaUrl" not in form and "ContentSid" not in form:
        return _error(400, 21602, "Message body is required.")
    if len(body) > 1600:
        return _error(400, 21617, "The concatenated message body exceeds the 1600 limit.")
    return None


def _invalid_call(form: dict[str, str]) -> tuple[int, dict[str, Any]] | None:
    """Twilio's own refusal of a call creation missing what it needs, else None."""
    if not form.get("To"):
        return _error(400, 21201, "No 'To' number is specified")
    if not form.get("From"):
        return _error(400, 21213, "No 'From' number is specified")
    if not form.get("Url") and not form.get("Twiml") and not form.get("ApplicationSid"):
        return _error(400, 21205, "Url parameter is required.")
    return None


def _set_status(message: dict[str, Any], status: str, error_code: int | None) -> None:
    message["status"] = status
    message["error_code"] = error_code
    message["date_updated"] = format_datetime(_now())
    if status in ("sent", "delivered", "undelivered") and message["date_sent"] is None:
        message["date_sent"] = message["date_updated"]


def _error(status: int, code: int | None, message: str) -> tuple[int, dict[str, Any]]:
    code = code if code is not None else {429: 20429, 500: 20500, 503: 20503}.get(status)
    more_info = f"https://www.twilio.com/docs/errors/{code}" if code else None
    return status, {"code": code, "message": message, "more_info": more_info, "status": status}


def _now() -> datetime:
    return datetime.now(UTC)


def _parse_rfc2822(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%a, %d %b %Y %H:%M:%S %z")


def _matches(message: dict[str, Any], query: dict[str, str]) -> bool:
    """List filters: To, From, DateSent, DateSent< (on or before), DateSent> (on or after)."""
    if "To" in query and message["to"] != query["To"]:
        return False
    if "From" in query and message["from"] != query["From"]:
        return False
    for name in ("DateSent", "DateSent<", "DateSent>"):
        if name not in query:
            continue
        if message["date_sent"] is None:
            return False  # not sent yet: no DateSent filter matches it
        sent = _parse_rfc2822(message["date_sent"])
        bound = _parse_bound(query[name])
        value: date | datetime = sent.date() if type(bound) is date else sent
        if (
            (name == "DateSent" and value != bound)
            or (name == "DateSent<" and value > bound)
            or (name == "DateSent>" and value < bound)
        ):
            return False
    return True


def _parse_bound(text: str) -> date | datetime:
    if len(text) == 10:
        return date.fromisoformat(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
