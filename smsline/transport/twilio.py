"""The Twilio transport: sends through Twilio's REST API with the official client.

Nothing logged or raised from here carries a phone number or a message body: Twilio's own error
messages can quote the number, and list URLs carry it in the query, so errors keep only the HTTP
status and the Twilio error code, and the original exception is not chained.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from urllib3.exceptions import NewConnectionError

from smsline.transport import (
    SendResult,
    TransportError,
    check_call_args,
    check_send_args,
    is_retryable,
)

logger = logging.getLogger(__name__)

# find_sent compares Twilio's date_created (whole seconds, Twilio's clock) with ours.
CLOCK_SKEW = timedelta(seconds=2)
# find_sent reads at most this many of the newest messages to one recipient.
FIND_SCAN_LIMIT = 200
FIND_PAGE_SIZE = 100
# Twilio trial accounts prepend this to every body.
TRIAL_PREFIX = "Sent from your Twilio trial account - "
# Kept-alive connections to Twilio: at least a batch's texts in flight (outbox.SEND_THREADS).
POOL_SIZE = 16


class BaseUrlHttpClient(TwilioHttpClient):
    """Twilio's HTTP client, pointed at another base URL (an emulator, a test server).

    Requests to Twilio's API host (api.twilio.com, or a region/edge variant) go to `base_url`
    instead, keeping path and query. With `base_url` None nothing is rewritten. Request logging
    is reduced to method and path, because list queries carry phone numbers. Up to POOL_SIZE
    connections are kept alive (the library's default is the CPU count + 4): a worker's threads
    share one client while a batch's texts go out several at a time.
    """

    def __init__(self, base_url: str | None = None, *, timeout: float | None = None) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/") if base_url else None
        assert self.session is not None
        adapter = HTTPAdapter(pool_maxsize=POOL_SIZE)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def rewrite(self, url: str) -> str:
        """`url` with Twilio's API host replaced by `base_url`."""
        if self.base_url is None:
            return url
        parts = urlsplit(url)
        host = parts.hostname or ""
        is_api_host = host == "api.twilio.com" or (
            host.startswith("api.") and host.endswith(".twilio.com")
        )
        if parts.scheme != "https" or not is_api_host:
            return url
        base = urlsplit(self.base_url)
        path = base.path.rstrip("/") + parts.path
        return urlunsplit((base.scheme, base.netloc, path, parts.query, parts.fragment))

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        return super().request(
            method,
            self.rewrite(url),
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )

    def log_request(self, kwargs: dict[str, Any]) -> None:
        self.logger.info(
            "Twilio API request: %s %s", kwargs["method"], urlsplit(kwargs["url"]).path
        )


class TwilioTransport:
    """Sends texts with Twilio's REST API, finds ones already sent and places check-in calls."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        api_url: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not account_sid or not auth_token:
            raise ValueError("the Twilio account SID and auth token are required")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.http_client = BaseUrlHttpClient(api_url, timeout=timeout)
        self.client = Client(account_sid, auth_token, http_client=self.http_client)

    def send(
        self,
        *,
        to: str,
        body: str,
        from_: str | None,
        messaging_service_sid: str | None,
        status_callback: str | None,
    ) -> SendResult:
        """Create the message at Twilio; raise TransportError if Twilio did not accept it."""
        check_send_args(
            to=to,
            body=body,
            from_=from_,
            messaging_service_sid=messaging_service_sid,
            status_callback=status_callback,
        )
        params: dict[str, Any] = {"to": to, "body": body}
        if from_:
            params["from_"] = from_
        else:
            params["messaging_service_sid"] = messaging_service_sid
        if status_callback:
            params["status_callback"] = status_callback
        try:
            message = self.client.messages.create(**params)
        except (TwilioRestException, TwilioServiceException) as exc:
            error = _rest_error(exc)
        except requests.RequestException as exc:
            error = _network_error(exc)
        else:
            logger.info("Twilio accepted %s (%s)", message.sid, message.status)
            return SendResult(sid=str(message.sid), status=str(message.status or "unknown"))
        logger.warning(
            "Twilio send failed: http_status=%s code=%s retryable=%s",
            error.http_status,
            error.code,
            error.retryable,
        )
        raise error

    def fetch_status(self, sid: str) -> tuple[str, int | None]:
        """Twilio's status of the message `sid` and its error code (Messages/{sid}.json)."""
        try:
            message = self.client.messages(sid).fetch()
        except (TwilioRestException, TwilioServiceException) as exc:
            error = _rest_error(exc)
        except requests.RequestException as exc:
            error = _network_error(exc)
        else:
            code = message.error_code
            return str(message.status), int(code) if code else None
        logger.warning(
            "Twilio message fetch failed: http_status=%s code=%s", error.http_status, error.code
        )
        raise error

    def call(self, *, to: str, from_: str, url: str, status_callback: str) -> str:
        """Place a call with answering-machine detection (AnsweredBy reaches `url`); only its
        final status is posted back."""
        check_call_args(to=to, from_=from_, url=url, status_callback=status_callback)
        try:
            call = self.client.calls.create(
                to=to,
                from_=from_,
                url=url,
                status_callback=status_callback,
                status_callback_event=["completed"],
                machine_detection="Enable",
            )
        except (TwilioRestException, TwilioServiceException) as exc:
            error = _rest_error(exc)
        except requests.RequestException as exc:
            error = _network_error(exc)
        else:
            logger.info("Twilio placed call %s (%s)", call.sid, call.status)
            return str(call.sid)
        logger.warning(
            "Twilio call failed: http_status=%s code=%s retryable=%s",
            error.http_status,
            error.code,
            error.retryable,
        )
        raise error

    def find_sent(
        self,
        *,
        to: str,
        from_: str | None,
        body: str,
        since: datetime,
        exclude: Collection[str] = (),
    ) -> str | None:
        """SID of a message to `to` with this body created at or after `since`, and not in
        `exclude` (other rows' sends of the same words), else None.

        Filters by To (and From when given) at Twilio and by creation time and body here: the
        DateSent filter would miss messages still queued, which have no date_sent yet. Twilio's
        date_created has whole seconds, so `since` is floored and widened by CLOCK_SKEW.
        """
        since = since.replace(tzinfo=UTC) if since.tzinfo is None else since.astimezone(UTC)
        threshold = since.replace(microsecond=0) - CLOCK_SKEW
        filters: dict[str, Any] = {"to": to}
        if from_:
            filters["from_"] = from_
        try:
            for message in self.client.messages.stream(
                **filters, limit=FIND_SCAN_LIMIT, page_size=FIND_PAGE_SIZE
            ):
                created = message.date_created
                if (
                    created is not None
                    and created >= threshold
                    and message.sid not in exclude
                    and _same_body(message.body, body)
                ):
                    logger.info("Twilio already has %s", message.sid)
                    return str(message.sid)
        except (TwilioRestException, TwilioServiceException) as exc:
            error = _rest_error(exc)
        except requests.RequestException as exc:
            error = _network_error(exc)
        else:
            return None
        logger.warning(
            "Twilio message lookup failed: http_status=%s code=%s", error.http_status, error.code
        )
        raise error


def _same_body(sent: str | None, body: str) -> bool:
    return sent == body or sent == TRIAL_PREFIX + body


def _rest_error(exc: TwilioRestException | TwilioServiceException) -> TransportError:
    """A TransportError from Twilio's answer, without Twilio's message (it may quote the number)."""
    status = int(exc.status)
    # The client falls back to the HTTP status when the body has no code; real codes are 5 digits.
    code = exc.code if isinstance(exc.code, int) and exc.code >= 10000 else None
    detail = f"Twilio answered HTTP {status}" + (f", error {code}" if code else "")
    return TransportError(
        detail,
        code=code,
        http_status=status,
        retryable=is_retryable(status, code),
        maybe_sent=status >= 500,
    )


def _network_error(exc: requests.RequestException) -> TransportError:
    """A TransportError for a request that got no answer from Twilio."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    never_connected = isinstance(exc, requests.ConnectTimeout) or isinstance(
        reason, NewConnectionError
    )
    retryable = isinstance(
        exc, requests.ConnectionError | requests.Timeout | requests.exceptions.ChunkedEncodingError
    )
    return TransportError(
        f"Twilio unreachable: {type(exc).__name__}",
        code=None,
        http_status=None,
        retryable=retryable,
        maybe_sent=retryable and not never_connected,
    )
