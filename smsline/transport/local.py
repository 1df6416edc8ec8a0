"""A transport that keeps texts and calls in memory: development, the simulator and tests. No
network."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import NamedTuple

from smsline.transport import SendResult, check_call_args, check_send_args


class LocalMessage(NamedTuple):
    """One text the local transport 'sent'."""

    sid: str
    to: str
    from_: str | None
    body: str
    created_at: datetime  # aware, UTC


class LocalCall(NamedTuple):
    """One call the local transport 'placed' (nobody's phone rings)."""

    sid: str
    to: str
    from_: str
    url: str
    status_callback: str
    created_at: datetime  # aware, UTC


def _utcnow() -> datetime:
    return datetime.now(UTC)


class LocalTransport:
    """Accepts every valid text, records it in `sent` and calls `on_send(sid, to, body)` if set;
    records every valid call in `calls`."""

    def __init__(
        self,
        on_send: Callable[[str, str, str], None] | None = None,
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.sent: list[LocalMessage] = []
        self.calls: list[LocalCall] = []
        self.on_send = on_send
        self._clock = clock
        self._lock = threading.Lock()

    def send(
        self,
        *,
        to: str,
        body: str,
        from_: str | None,
        messaging_service_sid: str | None,
        status_callback: str | None,
    ) -> SendResult:
        """Record the text and return a fresh SID, as Twilio would."""
        check_send_args(
            to=to,
            body=body,
            from_=from_,
            messaging_service_sid=messaging_service_sid,
            status_callback=status_callback,
        )
        sid = "SM" + uuid.uuid4().hex
        with self._lock:
            self.sent.append(LocalMessage(sid, to, from_, body, _as_utc(self._clock())))
        if self.on_send is not None:
            self.on_send(sid, to, body)
        return SendResult(sid=sid, status="accepted" if messaging_service_sid else "queued")

    def fetch_status(self, sid: str) -> None:
        """Nothing to tell: no carrier reports on a local text."""
        return None

    def call(self, *, to: str, from_: str, url: str, status_callback: str) -> str:
        """Record the call and return a fresh SID, as Twilio would."""
        check_call_args(to=to, from_=from_, url=url, status_callback=status_callback)
        sid = "CA" + uuid.uuid4().hex
        with self._lock:
            self.calls.append(
                LocalCall(sid, to, from_, url, status_callback, _as_utc(self._clock()))
            )
        return sid

    def find_sent(
        self,
        *,
        to: str,
        from_: str | None,
        body: str,
        since: datetime,
        exclude: Collection[str] = (),
    ) -> str | None:
        """The newest recorded text matching to, from_ (when given) and body since `since`, and
        not in `exclude`."""
        since = _as_utc(since)
        with self._lock:
            messages = list(self.sent)
        for message in reversed(messages):
            if (
                message.to == to
                and (from_ is None or message.from_ == from_)
                and message.body == body
                and message.created_at >= since
                and message.sid not in exclude
            ):
                return message.sid
        return None


def _as_utc(moment: datetime) -> datetime:
    """Naive datetimes are UTC (that is how the database stores them)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
