"""The outbox: the one door every outbound text passes.

A text is written as a row first (`write`, or `reply_row` for the answer that goes back in TwiML).
The door refuses automated texts to opted-out numbers, holds automated texts through the recipient's
quiet hours and counts segments. After the commit a worker sends the row by id (`send`): it claims the
row atomically, calls the transport outside any transaction and records the outcome; retries live in
the row (`attempts`, `next_attempt_at`) so the sweep finds them even if Redis lost the job.

The one duplicate window left: a worker killed after Twilio accepted a text and before the commit that
records the SID. The sweep reconciles such rows (`sending` for too long) against Twilio's message list
before sending again, so only a text Twilio has not yet listed can go twice.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from smsline import keys, metrics, schedule, segments, settings
from smsline.models import InboundMessage, LineNumber, Member, OptOut, OutboundMessage, utcnow
from smsline.transport import TransportError

if TYPE_CHECKING:
    from smsline.line import Line

log = logging.getLogger(__name__)

# Texts a person gets because of what they just sent us, which an opt-out does not silence: the one
# confirmation of STOP/START/HELP, and crisis resources to someone who texted in crisis.
ALWAYS_ALLOWED = frozenset({"compliance", "crisis"})
# Texts nobody asked for just now: they wait out the recipient's quiet hours ("followup": a
# coordinator's text about a follow-up that can wait for their morning).
AUTOMATED = frozenset({"checkin", "reminder", "notice", "outreach", "followup", "announcement"})
TERMINAL = frozenset({"delivered", "undelivered", "failed"})
CLAIMABLE = ("pending", "queued")
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
SENDING_STALE = timedelta(minutes=5)  # a worker that held a row this long has died
# Twilio's own states before a final one all mean "Twilio has it": our `sent`.
TWILIO_STATUS = {
    "accepted": "sent",
    "scheduled": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}
RANK = {
    "pending": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
}


def is_opted_out(session: Session, phone_hash: str) -> bool:
    row = session.get(OptOut, phone_hash)
    return bool(row and row.opted_out)


def set_opt_out(session: Session, phone_hash: str, opted_out: bool, source: str) -> bool:
    """Record the line-wide opt-out state of a number; True when it changed."""
    row = session.get(OptOut, phone_hash)
    if row is None:
        if not opted_out:
            return False
        session.add(OptOut(phone_hash=phone_hash, opted_out=True, source=source))
        return True
    if row.opted_out == opted_out:
        return False
    row.opted_out, row.source, row.changed_at = opted_out, source, utcnow()
    return True


def write(
    session: Session,
    *,
    to: str,
    body: str,
    kind: str,
    from_number: str | None = None,
    queue: str = "replies",
    timezone: str | None = None,
    member_id: int | None = None,
    supporter_id: int | None = None,
    inbound_id: int | None = None,
    now: datetime | None = None,
    paced: bool = False,
) -> OutboundMessage:
    """Write a text to be sent by a worker after the commit (or `suppressed` if the door says no).
    `paced` rows written in one transaction go to the workers as one job, sent in order at the
    sender number's rate (a circle's message to its members: Queues.hand_over_paced)."""
    row = _row(session, to, body, kind, from_number, queue, member_id, supporter_id, inbound_id)
    if row.status == "pending":
        if kind in AUTOMATED and timezone:
            member = session.get(Member, member_id) if member_id else None  # the identity map
            window = settings.texting_window(session, member) if member else None
            row.next_attempt_at = quiet_hours_end(session, now or utcnow(), timezone, window)
        if queue == "bulk" and row.next_attempt_at is None:  # it goes at the sender's pace
            row.next_attempt_at = now or utcnow()
            session.info["bulk_due"] = True  # see Line.commit
        session.flush()
        if row.next_attempt_at is None and paced:  # one job sends them at the number's pace
            session.info.setdefault("paced_ids", []).append(row.id)
        elif row.next_attempt_at is None:  # held and bulk rows wait to be claimed when due
            session.info.setdefault("outbox_ids", []).append((row.id, queue))
    return row


def may_send(kind: str, opted_out: bool) -> bool:
    """The door's opt-out rule: nothing but ALWAYS_ALLOWED texts goes to an opted-out number."""
    return kind in ALWAYS_ALLOWED or not opted_out


def reply_row(
    *, inbound: InboundMessage, reply_index: int, body: str, kind: str, opted_out: bool
) -> dict[str, object]:
    """The outbox row of a text that goes back in this webhook's TwiML answer, to the sender and
    from the number they texted: status `replied`, or `suppressed` when the door says no
    (`opted_out`: the sender's state). inbound.py writes it with the inbound row, in one
    statement where it can: on every text's path, the ORM's unit of work costs more than that."""
    status = "replied" if may_send(kind, opted_out) else "suppressed"
    count = segments.count(body)
    now = utcnow()
    return {
        "to_hash": inbound.from_hash,
        "to_enc": inbound.from_enc,
        "from_number": inbound.to_number,
        "body_enc": body,
        "kind": kind,
        "queue": "replies",
        "status": status,
        "attempts": 0,
        "encoding": count.encoding,
        "segments": count.segments,
        "member_id": inbound.member_id,
        "supporter_id": inbound.supporter_id,
        "reply_index": reply_index,
        "created_at": now,
        "sent_at": now if status == "replied" else None,
    }


def _row(
    session: Session,
    to: str,
    body: str,
    kind: str,
    from_number: str | None,
    queue: str,
    member_id: int | None = None,
    supporter_id: int | None = None,
    inbound_id: int | None = None,
    to_hash: str | None = None,
    opted_out: bool | None = None,
) -> OutboundMessage:
    to_hash = to_hash or keys.adopt(session, to)  # the index; rows under an old key move
    count = segments.count(body)
    row = OutboundMessage(
        to_hash=to_hash,
        to_enc=to,
        body_enc=body,
        kind=kind,
        queue=queue,
        from_number=from_number or default_from(session),
        encoding=count.encoding,
        segments=count.segments,
        member_id=member_id,
        supporter_id=supporter_id,
        inbound_id=inbound_id,
        status="pending",
    )
    if kind not in ALWAYS_ALLOWED:
        if opted_out is None:
            opted_out = is_opted_out(session, to_hash)
        if opted_out:
            row.status = "suppressed"
    session.add(row)
    return row


def default_from(session: Session) -> str | None:
    """The line's main number (the first active one registered)."""
    return session.scalar(
        select(LineNumber.e164)
        .where(LineNumber.active.is_(True), LineNumber.purpose == "line")
        .order_by(LineNumber.id)
        .limit(1)
    )


def quiet_hours_end(
    session: Session, now: datetime, timezone: str, window: tuple[str, str] | None = None
) -> datetime | None:
    """When an automated text may go to someone in `timezone`: None if now is fine. `window` is
    the recipient's own texting window ("HH:MM" from, until; settings.texting_window); without
    one, the line's: quiet from `quiet_hours_start` to `quiet_hours_end`."""
    if window is None:
        window = settings.texting_window(session)
    opens, closes = time.fromisoformat(window[0]), time.fromisoformat(window[1])
    local = now.astimezone(schedule.zone(timezone))
    clock = local.time()
    # A window may run past midnight; one that closes when it opens never closes.
    is_open = (opens <= clock < closes) if opens < closes else (clock >= opens or clock < closes)
    if is_open:
        return None
    day = local.date() if clock < opens else local.date() + timedelta(days=1)
    return datetime.combine(day, opens, tzinfo=schedule.zone(timezone)).astimezone(UTC)


def mark_queued(line: Line, outbound_ids: list[int]) -> None:
    """Rows handed to RQ move from pending to queued (if a worker has not already taken them)."""
    with line.sessions() as session:
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id.in_(outbound_ids), OutboundMessage.status == "pending")
            .values(status="queued", status_at=utcnow())  # the sweep re-enqueues only stale ones
        )
        session.commit()


def send(line: Line, outbound_id: int, now: datetime | None = None) -> str:
    """Send one outbox row; safe to run twice and after a crash. Returns what happened."""
    result = _send(line, outbound_id, now)
    metrics.SENDS.labels(result).inc()
    return result


def _send(line: Line, outbound_id: int, now: datetime | None) -> str:
    now = now or utcnow()
    attempt_id = uuid.uuid4().hex
    with line.sessions() as session:
        claimed = session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.id == outbound_id,
                OutboundMessage.status.in_(CLAIMABLE),
                (OutboundMessage.next_attempt_at.is_(None))
                | (OutboundMessage.next_attempt_at <= now),
            )
            .values(
                status="sending",
                attempt_id=attempt_id,
                sending_started_at=now,
                attempts=OutboundMessage.attempts + 1,
            )
        ).rowcount
        session.commit()
        if not claimed:
            return "not-due"
        row = session.get(OutboundMessage, outbound_id)
        assert row is not None
        # keys.is_opted_out: by the number itself while an old index key is configured.
        if row.kind not in ALWAYS_ALLOWED and keys.is_opted_out(session, row.to_hash, row.to_enc):
            _finish(session, row, attempt_id, status="suppressed")
            return "suppressed"
        to, body, from_number = row.to_enc, row.body_enc, row.from_number
        service = line.config.twilio_messaging_service_sid
        if not (service or from_number):
            row.error_detail = "no line number: run `smsline numbers add`"
            _finish(session, row, attempt_id, status="failed")
            log.error("outbound %s: no line number or Messaging Service to send from", row.id)
            return "failed"
        callback = status_callback_url(line, outbound_id)
        max_attempts = settings.get(session, "max_send_attempts")
        attempts = row.attempts
        session.commit()  # end the read transaction before the network call

        try:
            result = line.transport.send(
                to=to,
                body=body,
                from_=None if service else from_number,
                messaging_service_sid=service,
                status_callback=callback,
            )
        except TransportError as error:
            return _failed_attempt(
                session, outbound_id, attempt_id, error, attempts, max_attempts, now
            )
        row = session.get(OutboundMessage, outbound_id)
        assert row is not None
        _finish(session, row, attempt_id, status="sent", sid=result.sid, at=utcnow())
        log.info("outbound %s sent as %s", outbound_id, result.sid)
        return "sent"


def _finish(
    session: Session,
    row: OutboundMessage,
    attempt_id: str,
    *,
    status: str,
    sid: str | None = None,
    at: datetime | None = None,
) -> None:
    """Record the end of our attempt, unless a status callback already moved the row further."""
    if row.attempt_id != attempt_id:
        log.warning("outbound %s: attempt superseded, not recording", row.id)
        return
    if sid is not None:
        row.twilio_sid = row.twilio_sid or sid
        row.sent_at = at
    if RANK.get(row.status, 0) < RANK.get(status, 5):
        row.status = status
    session.commit()


def _failed_attempt(
    session: Session,
    outbound_id: int,
    attempt_id: str,
    error: TransportError,
    attempts: int,
    max_attempts: int,
    now: datetime,
) -> str:
    row = session.get(OutboundMessage, outbound_id)
    assert row is not None
    if row.attempt_id != attempt_id or row.status != "sending":
        session.commit()
        return "superseded"
    row.error_code = error.code
    row.error_detail = f"http {error.http_status}" if error.http_status else type(error).__name__
    if error.code == 21610:
        set_opt_out(session, row.to_hash, True, "error_21610")
    backoff = min(BACKOFF_BASE * 2 ** (attempts - 1), BACKOFF_MAX)
    if error.retryable and attempts < max_attempts and error.maybe_sent:
        # Twilio may have it (a timeout, a dropped connection): leave the row `sending` so the
        # sweep asks Twilio before any resend, once the backoff has passed.
        row.sending_started_at = now - SENDING_STALE + backoff
        outcome = "reconcile"
    elif error.retryable and attempts < max_attempts:
        row.status = "pending"
        row.next_attempt_at = now + backoff
        outcome = "retry"
    else:
        row.status = "failed"
        row.status_at = utcnow()
        metrics.failed(error.code)
        outcome = "failed"
    session.commit()
    log.warning("outbound %s: %s (code %s, attempt %s)", outbound_id, outcome, error.code, attempts)
    return outcome


def status_callback_url(line: Line, outbound_id: int) -> str | None:
    base = line.config.public_url
    return f"{base}/twilio/status?o={outbound_id}" if base else None


def reply_callback_url(line: Line, message_sid: str, reply_index: int) -> str:
    """Where Twilio reports on a TwiML reply: known before any row is written (the inbound
    MessageSid and the reply's place), so the answer needs no second write."""
    path = f"/twilio/status?r={message_sid}.{reply_index}"
    return (line.config.public_url or "") + path


def apply_status(
    session: Session,
    *,
    sid: str | None,
    twilio_status: str,
    error_code: int | None,
    outbound_id: int | None = None,
    reply: tuple[str, int] | None = None,
) -> OutboundMessage | None:
    """Apply a status callback: idempotent, order-proof (the first final status stands). The row is
    found by our id (`o`), by the inbound MessageSid and place of a TwiML reply (`r`), or by SID."""
    row = None
    if reply is not None:
        row = session.scalar(
            select(OutboundMessage)
            .join(InboundMessage, OutboundMessage.inbound_id == InboundMessage.id)
            .where(InboundMessage.message_sid == reply[0], OutboundMessage.reply_index == reply[1])
        )
    if outbound_id is not None:
        row = session.get(OutboundMessage, outbound_id)
        if row is not None and sid and row.twilio_sid not in (None, sid):
            row = None  # a callback for another send of ours: trust the SID
    if row is None and sid:
        row = session.scalar(select(OutboundMessage).where(OutboundMessage.twilio_sid == sid))
    if row is None:
        return None
    if sid and row.twilio_sid is None:
        row.twilio_sid = sid
    if error_code and row.error_code is None:
        row.error_code = error_code
    if error_code == 21610:
        set_opt_out(session, row.to_hash, True, "error_21610")
    status = TWILIO_STATUS.get(twilio_status)
    if status is None or row.status in TERMINAL or row.status == "suppressed":
        return row
    if row.status == "replied":  # a TwiML reply: only its final status is news
        if status in TERMINAL:
            row.status, row.status_at = status, utcnow()
        return row
    if RANK[status] > RANK.get(row.status, 0):
        row.status = status
        row.status_at = utcnow()
        if status in ("failed", "undelivered"):
            metrics.failed(error_code)
        if status == "sent" and row.sent_at is None:
            row.sent_at = utcnow()
    return row
