"""A small fake of Twilio's REST API for tests: Messages create, list and fetch, and Calls create,
on 127.0.0.1.

    with FakeTwilio() as fake:
        transport = TwilioTransport(ACCOUNT_SID, AUTH_TOKEN, api_url=fake.url)
        ...
        fake.requests[-1].form["Body"]

It answers like Twilio (status codes, JSON shapes, error bodies) and can be told to fail or be
slow. It sends no status callbacks; `set_status` moves a message along by hand.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "test-auth-token"
MESSAGING_SERVICE_SID = "MG" + "fedcba9876543210" * 2

_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages\.json$")
_CALLS = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Calls\.json$")
_MESSAGE = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages/(?P<sid>SM\w+)\.json$")
_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")


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
class _Failure:
    status: int
    code: int | None
    created: bool = False


@dataclass
class FakeTwilio:
    """Fake Twilio REST server in a background thread; use as a context manager."""

    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    delay: float = 0.0
    requests: list[RecordedRequest] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    _pending_failures: list[_Failure] = field(default_factory=list)
    _failing_numbers: dict[str, _Failure] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def __enter__(self) -> FakeTwilio:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        """Base URL to give the transport as api_url, e.g. http://127.0.0.1:54321."""
        assert self._server is not None, "use FakeTwilio as a context manager"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(
        self, n: int = 1, *, status: int = 500, code: int | None = None, created: bool = False
    ) -> None:
        """Answer the next `n` message (or call) creations with an error.

        With `created` the message is created first, as when Twilio fails after accepting it.
        """
        with self._lock:
            self._pending_failures.extend(_Failure(status, code, created) for _ in range(n))

    def fail_for(self, to: str, *, status: int = 400, code: int | None = 21610) -> None:
        """Refuse every message to `to` with this error until `clear_failures`."""
        with self._lock:
            self._failing_numbers[to] = _Failure(status, code)

    def clear_failures(self) -> None:
        with self._lock:
            self._pending_failures.clear()
            self._failing_numbers.clear()

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
            message["status"] = status
            message["error_code"] = error_code
            message["date_updated"] = format_datetime(_now())
            if status in ("sent", "delivered", "undelivered") and message["date_sent"] is None:
                message["date_sent"] = message["date_updated"]

    # What the handler calls, under no lock of its own.

    def _handle(self, request: RecordedRequest, auth: str | None) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append(request)
            if not self._authorized(auth):
                return _error(401, 20003, "Authenticate")
            if match := _MESSAGES.match(request.path):
                if match["account"] != self.account_sid:
                    return _error(404, 20404, "The requested resource was not found")
                if request.method == "POST":
                    return self._create(request.form)
                if request.method == "GET":
                    return self._list(request)
            if (match := _CALLS.match(request.path)) and request.method == "POST":
                if match["account"] != self.account_sid:
                    return _error(404, 20404, "The requested resource was not found")
                return self._create_call(request.form)
            if (match := _MESSAGE.match(request.path)) and request.method == "GET":
                found = [m for m in self.messages if m["sid"] == match["sid"]]
                if found and match["account"] == self.account_sid:
                    return 200, dict(found[0])
            return _error(404, 20404, "The requested resource was not found")

    def _authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.account_sid and password == self.auth_token

    def _create(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        to, from_, service = form.get("To"), form.get("From"), form.get("MessagingServiceSid")
        body = form.get("Body", "")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not from_ and not service:
            return _error(400, 21603, "A 'From' phone number is required.")
        if not body and "MediaUrl" not in form and "ContentSid" not in form:
            return _error(400, 21602, "Message body is required.")
        if len(body) > 1600:
            return _error(400, 21617, "The concatenated message body exceeds the 1600 limit.")
        if to in self._failing_numbers:
            failure = self._failing_numbers[to]
            return _error(failure.status, failure.code, f"Message to {to} refused.")
        failure = self._pending_failures.pop(0) if self._pending_failures else None
        if failure is None or failure.created:
            message = self._new_message(to, from_, service, body, _now())
        if failure is not None:
            return _error(failure.status, failure.code, "Injected failure.")
        return 201, dict(message)

    def _create_call(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """A call placed (nobody's phone rings): Twilio's answer, `queued`."""
        to, from_ = form.get("To"), form.get("From")
        if not to:
            return _error(400, 21201, "No 'To' number is specified")
        if not from_:
            return _error(400, 21213, "No 'From' number is specified")
        if not form.get("Url") and not form.get("Twiml") and not form.get("ApplicationSid"):
            return _error(400, 21205, "Url parameter is required.")
        if to in self._failing_numbers:
            failure = self._failing_numbers[to]
            return _error(failure.status, failure.code, f"Call to {to} refused.")
        failure = self._pending_failures.pop(0) if self._pending_failures else None
        if failure is not None and not failure.created:
            return _error(failure.status, failure.code, "Injected failure.")
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
        if failure is not None:
            return _error(failure.status, failure.code, "Injected failure.")
        return 201, dict(call)

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
        status, payload = fake._handle(request, self.headers.get("Authorization"))
        if fake.delay:
            time.sleep(fake.delay)
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
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
