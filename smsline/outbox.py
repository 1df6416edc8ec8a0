"""The outbox: the one door every outbound text passes.

A text is written as a row first (`write`, or `reply_row` for the answer that goes back in TwiML).
The door refuses automated texts to opted-out numbers, holds automated texts through the recipient's
quiet hours and counts segments. After the commit a worker sends the rows by id, one (`send`) or a
batch (`send_many`: one commit's texts, a sweep's): it claims them atomically, calls the transport
outside any transaction and records the outcomes; retries live in the row (`attempts`,
`next_attempt_at`) so the sweep finds them even if Redis lost the job.

The one duplicate window left: a worker killed after Twilio accepted a text and before the commit that
records the SID. The sweep reconciles such rows (`sending` for too long) against Twilio's message list
before sending again, so only a text Twilio has not yet listed can go twice.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import bindparam, case, func, literal, select, update
from sqlalchemy.orm import Session

from smsline import crypto, db, keys, metrics, schedule, segments, settings
from smsline.models import InboundMessage, LineNumber, Member, OptOut, OutboundMessage, utcnow
from smsline.transport import SendResult, TransportError

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
SEND_THREADS = 8  # a batch's texts in flight at once (Twilio answers in about 100-300 ms)
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
    """Rows handed to RQ move from pending to queued (if a worker has not already taken them).
    A row another transaction holds is skipped, not waited for: that is a worker claiming it (which
    waits for this statement instead: one of the two must not wait, or they could deadlock), and a
    row left pending is only handed over again by the sweep, its job then finding it taken."""
    Row = OutboundMessage
    pending = select(Row.id).where(Row.id.in_(outbound_ids), Row.status == "pending")
    with line.sessions() as session:
        session.execute(
            update(Row)
            .where(Row.id.in_(db.skip_locked(pending, session).scalar_subquery()))
            .values(status="queued", status_at=utcnow())  # the sweep re-enqueues only stale ones
            .execution_options(synchronize_session=False)
        )
        session.commit()


def send(line: Line, outbound_id: int, now: datetime | None = None) -> str:
    """Send one outbox row; safe to run twice and after a crash. Returns what happened."""
    return send_many(line, [outbound_id], now)[outbound_id]


def send_many(
    line: Line, outbound_ids: list[int], now: datetime | None = None, *, threads: int = SEND_THREADS
) -> dict[int, str]:
    """Send outbox rows as one batch; safe to run twice and after a crash. Returns what happened
    to each (`not-due` for a row another worker holds or that is not due). The rows are claimed
    in one statement and their opt-outs read in one query, then sent `threads` at a time (texts to
    one number one after another, in order) and their outcomes recorded in one transaction."""
    results = _send_many(line, outbound_ids, now or utcnow(), threads)
    for result, count in Counter(results.values()).items():
        metrics.SENDS.labels(result).inc(count)
    return results


class _Claimed(NamedTuple):
    id: int
    to_hash: str
    to: str
    body: str
    from_number: str | None
    kind: str
    attempts: int


def _send_many(line: Line, outbound_ids: list[int], now: datetime, threads: int) -> dict[int, str]:
    results = dict.fromkeys(outbound_ids, "not-due")
    attempt_id = uuid.uuid4().hex
    service = line.config.twilio_messaging_service_sid
    with line.sessions() as session:
        claimed = _claim(session, outbound_ids, attempt_id, now)
        opted_out = _opted_out(session, claimed)
        unsent = [row.id for row in claimed if row.id in opted_out]
        _record(session, attempt_id, "suppressed", [{"row_id": row_id} for row_id in unsent])
        results.update(dict.fromkeys(unsent, "suppressed"))
        nowhere = [
            row.id for row in claimed if not (service or row.from_number or row.id in opted_out)
        ]
        if nowhere:
            detail = "no line number: run `smsline numbers add`"
            _record(session, attempt_id, "failed", [{"row_id": i} for i in nowhere], detail)
            results.update(dict.fromkeys(nowhere, "failed"))
            log.error("outbound %s: no line number or Messaging Service to send from", nowhere)
        to_send = [row for row in claimed if results[row.id] == "not-due"]
        max_attempts = settings.get(session, "max_send_attempts") if to_send else 0
        session.commit()  # the claims are recorded before any network call
    if not to_send:
        return results

    outcomes = _post_all(line, to_send, service, threads)
    with line.sessions() as session:
        sent_at = utcnow()
        sent = [
            {"row_id": row_id, "sid": outcome.sid, "at": sent_at}
            for row_id, outcome in sorted(outcomes.items())  # locked in id order, as claimed
            if isinstance(outcome, SendResult)
        ]
        superseded = len(sent) - _record(session, attempt_id, "sent", sent)
        results.update({each["row_id"]: "sent" for each in sent})
        for row in to_send:
            error = outcomes[row.id]
            if isinstance(error, TransportError):
                results[row.id] = _failed_attempt(
                    session, row.id, attempt_id, error, row.attempts, max_attempts, now
                )
        session.commit()
    if superseded:
        log.warning("outbound: %d attempts superseded, not recorded", superseded)
    log.info("outbound: %s", dict(Counter(results.values())))
    for error in outcomes.values():
        if isinstance(error, Exception) and not isinstance(error, TransportError):
            raise error  # a bug: that row stays `sending`, and the sweep reconciles it with Twilio
    return results


def _claim(
    session: Session, outbound_ids: list[int], attempt_id: str, now: datetime
) -> list[_Claimed]:
    """Take the due rows among `outbound_ids` for this attempt (`sending`, one more attempt), in
    one statement. A row another transaction holds is waited for, not skipped (on PostgreSQL;
    SQLite's write transactions are serialised anyway): the holder is a short transaction (a
    hand-over marking it queued, another worker's claim, a status callback), and a row skipped
    here would wait for the sweep. Once it is free the row is looked at again, so a row another
    worker took is left alone; rows are locked in id order, as the others lock them."""
    Row = OutboundMessage
    due = (
        select(Row.id)
        .where(
            Row.id.in_(outbound_ids),
            Row.status.in_(CLAIMABLE),
            (Row.next_attempt_at.is_(None)) | (Row.next_attempt_at <= now),
        )
        .order_by(Row.id)
        .with_for_update()
    )
    statement = (
        update(Row)
        .where(Row.id.in_(due.scalar_subquery()))
        .values(
            status="sending",
            attempt_id=attempt_id,
            sending_started_at=now,
            attempts=Row.attempts + 1,
        )
        .returning(
            Row.id, Row.to_hash, Row.to_enc, Row.body_enc, Row.from_number, Row.kind, Row.attempts
        )
        .execution_options(synchronize_session=False)
    )
    return sorted((_Claimed(*found) for found in session.execute(statement)), key=lambda r: r.id)


def _opted_out(session: Session, rows: list[_Claimed]) -> set[int]:
    """Ids of the claimed rows whose number has opted out (ALWAYS_ALLOWED texts are not asked
    about): one query, or while an old index key is configured, by each number itself
    (keys.is_opted_out: the row's stored hash may be under either key)."""
    asked = [row for row in rows if row.kind not in ALWAYS_ALLOWED]
    if not asked:
        return set()
    if crypto.current().has_previous_index_keys:
        return {row.id for row in asked if keys.is_opted_out(session, row.to_hash, row.to)}
    out = set(
        session.scalars(
            select(OptOut.phone_hash).where(
                OptOut.phone_hash.in_({row.to_hash for row in asked}), OptOut.opted_out.is_(True)
            )
        )
    )
    return {row.id for row in asked if row.to_hash in out}


def _post_all(
    line: Line, rows: list[_Claimed], service: str | None, threads: int
) -> dict[int, SendResult | Exception]:
    """Hand the rows to the transport, `threads` at a time; the texts to one number go one after
    another in the order they were written. Each row's result, or the exception its send raised."""

    def post(group: list[_Claimed]) -> list[tuple[int, SendResult | Exception]]:
        done: list[tuple[int, SendResult | Exception]] = []
        for row in group:
            try:
                done.append((row.id, _post(line, row, service)))
            except Exception as error:  # noqa: BLE001 - recorded by the caller
                done.append((row.id, error))
        return done

    groups: dict[str, list[_Claimed]] = {}
    for row in rows:
        groups.setdefault(row.to_hash, []).append(row)
    if threads <= 1 or len(groups) == 1:
        return dict(pair for group in groups.values() for pair in post(group))
    with ThreadPoolExecutor(min(threads, len(groups)), thread_name_prefix="outbox") as pool:
        return dict(pair for done in pool.map(post, groups.values()) for pair in done)


def _post(line: Line, row: _Claimed, service: str | None) -> SendResult:
    return line.transport.send(
        to=row.to,
        body=row.body,
        from_=None if service else row.from_number,
        messaging_service_sid=service,
        status_callback=status_callback_url(line, row.id),
    )


def _record(
    session: Session, attempt_id: str, status: str, rows: list[dict], detail: str | None = None
) -> int:
    """Record the end of our attempt on `rows` ({"row_id"}, with "sid" and "at" when sent) in one
    statement: the rule of `_finish` (nothing if the attempt was superseded; the status only if a
    status callback has not moved the row further). Returns how many rows it recorded."""
    if not rows:
        return 0
    Row = OutboundMessage.__table__.c
    further = [name for name, rank in RANK.items() if rank >= RANK.get(status, 5)]
    values: dict[str, object] = {
        "status": case(
            (Row.status.in_([literal(name) for name in further]), Row.status), else_=status
        )
    }
    if status == "sent":
        values |= {
            "twilio_sid": func.coalesce(Row.twilio_sid, bindparam("sid")),
            "sent_at": bindparam("at"),
        }
    if detail is not None:
        values["error_detail"] = detail
    statement = (
        update(OutboundMessage.__table__)
        .where(Row.id == bindparam("row_id"), Row.attempt_id == attempt_id)
        .values(values)
    )
    return session.execute(statement, rows).rowcount


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
    """Record a send the transport refused or could not make, in the caller's transaction: try
    again after a backoff, ask Twilio first (it may have the text), or give up."""
    row = session.get(OutboundMessage, outbound_id)
    assert row is not None
    if row.attempt_id != attempt_id or row.status != "sending":
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
    found by our id (`o`), by the inbound MessageSid and place of a TwiML reply (`r`), or by SID,
    and locked until the commit: two callbacks for one row at once are applied one after the
    other (otherwise a `sent` that read the row first could overwrite a `delivered`)."""
    row = None
    if reply is not None:
        row = session.scalar(
            select(OutboundMessage)
            .join(InboundMessage, OutboundMessage.inbound_id == InboundMessage.id)
            .where(InboundMessage.message_sid == reply[0], OutboundMessage.reply_index == reply[1])
            .with_for_update(of=OutboundMessage)
        )
    if outbound_id is not None:
        row = session.get(
            OutboundMessage, outbound_id, with_for_update=True, populate_existing=True
        )
        if row is not None and sid and row.twilio_sid not in (None, sid):
            row = None  # a callback for another send of ours: trust the SID
    if row is None and sid:
        row = session.scalar(
            select(OutboundMessage).where(OutboundMessage.twilio_sid == sid).with_for_update()
        )
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
