"""The transport interface: how the outbox hands one text to the phone network, and how a
check-in call is placed.

Pure data and rules, no Flask, SQLAlchemy or Twilio. `twilio.py` talks to Twilio's REST API;
`local.py` keeps texts in memory for development and tests.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

__all__ = [
    "PERMANENT_CODES",
    "RETRYABLE_CODES",
    "SendResult",
    "Transport",
    "TransportError",
    "check_call_args",
    "check_send_args",
    "is_retryable",
]


@dataclass(frozen=True)
class SendResult:
    """What Twilio said when it accepted a message."""

    sid: str
    status: str  # Twilio's status at creation: "queued", or "accepted" with a Messaging Service


class TransportError(Exception):
    """A send or lookup that did not succeed.

    `retryable` says whether trying again later may succeed. `maybe_sent` is True when the request
    may have reached Twilio before it failed (a read timeout, a dropped connection, a 5xx): the
    caller must reconcile with `find_sent` before sending again.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None,
        http_status: int | None,
        retryable: bool,
        maybe_sent: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.retryable = retryable
        self.maybe_sent = maybe_sent

    def __repr__(self) -> str:
        return (
            f"TransportError({self.message!r}, code={self.code}, http_status={self.http_status}, "
            f"retryable={self.retryable}, maybe_sent={self.maybe_sent})"
        )


# Twilio error codes that no retry can fix. The 3xxxx codes arrive in status callbacks
# (ErrorCode), the others in the REST answer to a send.
PERMANENT_CODES = frozenset(
    {
        21211,  # invalid 'To' number
        21265,  # 'To' is a short code
        21266,  # 'To' and 'From' are the same number
        21408,  # sending to this region is not enabled on the account
        21601,  # 'To' is not SMS-capable
        21602,  # body is required
        21603,  # 'From' is required
        21604,  # 'To' is required
        21606,  # 'From' cannot send to this destination
        21610,  # recipient replied STOP: never retry, record the opt-out
        21612,  # no route between 'From' and 'To'
        21614,  # 'To' is not a mobile number
        21617,  # body longer than 1,600 characters
        21703,  # the Messaging Service has no senders
        30004,  # blocked by the recipient or carrier
        30005,  # unknown or inactive number
        30006,  # landline or unreachable carrier
        30007,  # carrier filtered it as spam
        30032,  # toll-free number not verified
        30034,  # 10DLC number not registered to a campaign
    }
)
# 30003 ("unreachable handset": phone off, out of coverage) is left out on purpose: it is
# usually transient, so whether to try again is the outbox's call, not a rule here.

# 4xx answers that a later retry can fix, overriding the "4xx is final" rule.
RETRYABLE_CODES = frozenset(
    {
        20429,  # too many requests (comes with HTTP 429)
        21611,  # the 'From' number's queue is full: try again later
    }
)


def is_retryable(http_status: int | None, code: int | None) -> bool:
    """Whether a failure may succeed if tried again later.

    A permanent Twilio code wins; then HTTP 429 and 5xx are retryable and other 4xx are not;
    no HTTP status at all (timeout, connection error) is retryable.
    """
    if code in PERMANENT_CODES:
        return False
    if code in RETRYABLE_CODES:
        return True
    if http_status is None:
        return True
    return http_status == 429 or http_status >= 500


def check_send_args(
    *,
    to: str,
    body: str,
    from_: str | None,
    messaging_service_sid: str | None,
    status_callback: str | None,
) -> None:
    """Raise ValueError for a send Twilio would refuse or we never mean to make."""
    if not to:
        raise ValueError("to is required")
    if not body or not body.strip():
        raise ValueError("body must not be empty")
    if bool(from_) == bool(messaging_service_sid):
        raise ValueError("give exactly one of from_ and messaging_service_sid")
    if status_callback is not None:
        parts = urlsplit(status_callback)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("status_callback must be an absolute http(s) URL")


def _absolute(name: str, url: str | None) -> None:
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{name} must be an absolute http(s) URL")


def check_call_args(*, to: str, from_: str, url: str, status_callback: str) -> None:
    """Raise ValueError for a call Twilio would refuse or we never mean to place: a call needs a
    number to call from and absolute URLs Twilio can reach (the TwiML and the status callback)."""
    if not to:
        raise ValueError("to is required")
    if not from_:
        raise ValueError("from_ is required (a Messaging Service cannot place calls)")
    _absolute("url", url)
    _absolute("status_callback", status_callback)


@runtime_checkable
class Transport(Protocol):
    """Sends one text; finds a text already sent."""

    def send(
        self,
        *,
        to: str,
        body: str,
        from_: str | None,
        messaging_service_sid: str | None,
        status_callback: str | None,
    ) -> SendResult:
        """Hand one text to the network; raise TransportError if it was not accepted.

        Exactly one of `from_` and `messaging_service_sid` is given; ValueError otherwise.
        """
        ...

    def find_sent(
        self,
        *,
        to: str,
        from_: str | None,
        body: str,
        since: datetime,
        exclude: Collection[str] = (),
    ) -> str | None:
        """SID of a message to `to` with exactly this body created at or after `since`, else None;
        SIDs in `exclude` (other rows' sends of the same words) are passed over.

        Used to reconcile a row stuck in 'sending' before any resend. A naive `since` is UTC.
        """
        ...

    def fetch_status(self, sid: str) -> tuple[str, int | None] | None:
        """Twilio's status of a text it accepted (`sid`) and its error code, for a text whose
        final status never came back; None when the transport cannot tell. Raises TransportError
        when Twilio cannot be asked."""
        ...

    def call(self, *, to: str, from_: str, url: str, status_callback: str) -> str:
        """Place one call with answering-machine detection; returns its SID, or raises
        TransportError. Twilio fetches `url` for the TwiML when the call is answered and posts
        the final status to `status_callback`."""
        ...
