"""Check-ins by phone call, for members who would rather talk than type.

The clock writes an `OutboundCall` row in the claim transaction (`write`); a worker places the call
by id (`place`). When the call connects, Twilio asks for TwiML (`answer`): a person hears the
check-in flow by voice, an answering machine or fax is hung up on at once, so no question is ever
left on a voicemail others might hear. The final status (`apply_status`) or, failing that, the
sweep (`settle_stale`, and `tidy_answered` for an answered call whose end was never reported)
settles the row; a check-in left unfinished when the person hung up counts as missed (no answer) or
answered (some answers) (`call_over`); a call nobody answered (no answer, busy, failed, a machine)
becomes a text check-in instead, once: `fallback_sent` is set in the same transaction that writes
the texts, under a row lock, so duplicated or reordered callbacks change nothing.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from smsline import audit, checkins, flowstore, outbox, schedule, settings, twiml
from smsline.models import Member, OutboundCall, utcnow
from smsline.transport import TransportError

if TYPE_CHECKING:
    from smsline.line import Line

log = logging.getLogger(__name__)

CLAIMABLE = ("pending", "queued")
CALL_STALE = timedelta(minutes=15)  # placed this long ago and no final status: nobody answered
ANSWERED_STALE = timedelta(hours=1)  # answered this long ago and no final status: the call is over
# Twilio's final CallStatus values other than `completed`, as our statuses.
UNANSWERED = {"no-answer": "no_answer", "busy": "busy", "failed": "failed", "canceled": "failed"}
FINAL = frozenset({"completed", "no_answer", "busy", "failed", "machine", "suppressed"})
FALLS_BACK = frozenset({"no_answer", "busy", "failed", "machine"})


def is_machine(answered_by: str | None) -> bool:
    """Twilio's AnsweredBy for a voicemail greeting or a fax (`machine_start`, `machine_end_*`)."""
    return bool(answered_by) and (answered_by == "fax" or answered_by.startswith("machine_"))


def write(session: Session, member: Member, now: datetime) -> OutboundCall:
    """Write the call to be placed after the commit; inside the member's quiet hours it waits
    for them to end, as an automated text would."""
    row = OutboundCall(
        member_id=member.id,
        to_hash=member.phone_hash,
        to_enc=member.phone,
        from_number=outbox.default_from(session),
        status="pending",
        next_attempt_at=outbox.quiet_hours_end(
            session, now, member.timezone, settings.texting_window(session, member)
        ),
        created_at=now,
    )
    session.add(row)
    session.flush()
    session.info.setdefault("call_ids", []).append(row.id)
    return row


def mark_queued(line: Line, call_ids: list[int], now: datetime | None = None) -> None:
    """Calls handed to RQ move from pending to queued (if a worker has not already taken them),
    as of `now` (the sweep's instant), so the sweep gives a lost job QUEUED_STALE."""
    with line.sessions() as session:
        session.execute(
            update(OutboundCall)
            .where(OutboundCall.id.in_(call_ids), OutboundCall.status == "pending")
            .values(status="queued", status_at=now or utcnow())
        )
        session.commit()


def place(line: Line, call_id: int, now: datetime | None = None) -> str:
    """Place one call; safe to run twice (the row is claimed once). Returns what happened."""
    now = now or utcnow()
    with line.sessions() as session:
        claimed = session.execute(
            update(OutboundCall)
            .where(
                OutboundCall.id == call_id,
                OutboundCall.status.in_(CLAIMABLE),
                or_(OutboundCall.next_attempt_at.is_(None), OutboundCall.next_attempt_at <= now),
            )
            .values(
                status="calling",
                calling_at=now,
                status_at=now,
                attempts=OutboundCall.attempts + 1,
            )
        ).rowcount
        session.commit()
        if not claimed:
            return "not-due"
        row = session.get(OutboundCall, call_id)
        assert row is not None
        member = session.get(Member, row.member_id)
        if not _reachable(session, member):
            row.status, row.status_at = "suppressed", now
            session.commit()
            return "suppressed"
        base = line.config.public_url
        problem = None if base else "no public URL for Twilio to fetch: set SMSLINE_PUBLIC_URL"
        if not row.from_number:
            problem = "no line number to call from: run `smsline numbers add`"
        if problem:
            row.error_detail = problem
            log.error("call %s: %s", call_id, problem)
            _settle(row, "failed", now)
            fall_back(session, row, now)
            line.commit(session)
            return "failed"
        to, from_number, attempts = row.to_enc, row.from_number, row.attempts
        session.commit()  # end the transaction before the network call
        try:
            sid = line.transport.call(
                to=to,
                from_=from_number,
                url=f"{base}/twilio/voice/checkin?k={call_id}",
                status_callback=f"{base}/twilio/call-status?k={call_id}",
            )
        except TransportError as error:
            return _failed_attempt(line, session, call_id, error, attempts, now)
        row = session.get(OutboundCall, call_id)
        assert row is not None
        row.call_sid = row.call_sid or sid  # a fast callback may have stored it already
        session.commit()
        log.info("call %s placed as %s", call_id, sid)
        return "calling"


def _failed_attempt(
    line: Line, session: Session, call_id: int, error: TransportError, attempts: int, now: datetime
) -> str:
    """A call Twilio did not take: try again later, or give up and text instead. A call Twilio may
    have taken (a timeout) stays `calling`: its status callback or the sweep settles it, so the
    member's phone never rings twice."""
    row = _locked(session, call_id)
    if row is None or row.status != "calling":
        session.commit()
        return "superseded"
    row.error_code = error.code
    row.error_detail = f"http {error.http_status}" if error.http_status else type(error).__name__
    if error.maybe_sent:
        outcome = "unknown"
    elif error.retryable and attempts < settings.get(session, "max_send_attempts"):
        row.status = "pending"
        row.next_attempt_at = now + min(
            outbox.BACKOFF_BASE * 2 ** (attempts - 1), outbox.BACKOFF_MAX
        )
        outcome = "retry"
    else:
        _settle(row, "failed", now)
        fall_back(session, row, now)
        outcome = "failed"
    line.commit(session)
    log.warning("call %s: %s (code %s, attempt %s)", call_id, outcome, error.code, attempts)
    return outcome


def answer(
    line: Line,
    session: Session,
    call_id: int,
    answered_by: str | None,
    line_number: str,
    sid: str | None = None,
) -> str:
    """TwiML for a check-in call that connected: hang up on a machine (and text instead), or run
    the check-in flow by voice; the <Gather> loop then goes on at /twilio/voice/answer."""
    from smsline import calls, conversations  # calls -> conversations -> flow_actions -> checkins

    now = utcnow()
    row = _locked(session, call_id)
    if row is None or (sid and row.call_sid not in (None, sid)):
        return twiml.hangup()  # not a call of ours
    if sid and row.call_sid is None:
        row.call_sid = sid
    if answered_by:
        row.answered_by = row.answered_by or answered_by[:20]
    member = session.get(Member, row.member_id)
    if is_machine(answered_by):
        if row.status not in FINAL:
            _settle(row, "machine", now)
        fall_back(session, row, now)
        line.commit(session)
        return twiml.hangup()
    if row.status in FINAL or not _reachable(session, member):
        line.commit(session)  # settled already (the member was texted instead), or opted out
        return twiml.hangup()
    try:
        outcome = conversations.start(session, member, checkins.FLOW, now, channel="voice")
    except flowstore.UnknownFlow as error:
        log.error("check-in call %s: %s", call_id, error)
        _settle(row, "failed", now)
        line.commit(session)
        return twiml.hangup()
    row.status, row.status_at = "answered", now
    answer = calls.render(line, session, member, outcome, line_number)
    line.commit(session)
    return answer


def apply_status(
    session: Session,
    call_id: int,
    call_status: str,
    *,
    answered_by: str | None = None,
    sid: str | None = None,
    now: datetime | None = None,
) -> OutboundCall | None:
    """Apply Twilio's status callback: the first final status stands, and a call no person
    answered falls back to a text once. None when the row is unknown or the SID another call's."""
    now = now or utcnow()
    row = _locked(session, call_id)
    if row is None or (sid and row.call_sid not in (None, sid)):
        return None
    if sid and row.call_sid is None:
        row.call_sid = sid
    if answered_by and row.answered_by is None:
        row.answered_by = answered_by[:20]
    if call_status == "completed":
        if row.status == "answered":
            _settle(row, "completed", now)
            call_over(session, row, now)
        elif row.status not in FINAL:  # it connected, but no check-in ever started
            _settle(row, "machine" if is_machine(answered_by) else "no_answer", now)
    elif call_status in UNANSWERED and row.status not in FINAL and row.status != "answered":
        _settle(row, UNANSWERED[call_status], now)
    if row.status in FALLS_BACK:
        fall_back(session, row, now)
    return row


def stale(session: Session, now: datetime, limit: int) -> list[OutboundCall]:
    """Calls placed more than CALL_STALE ago with no final status (a lost callback, a call Twilio
    may never have taken), locked for the caller."""
    statement = (
        select(OutboundCall)
        .where(OutboundCall.status == "calling", OutboundCall.calling_at <= now - CALL_STALE)
        .order_by(OutboundCall.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    return list(session.scalars(statement))


def settle_stale(session: Session, row: OutboundCall, now: datetime) -> None:
    """A call that never reported back counts as unanswered: the text check-in goes instead."""
    _settle(row, "no_answer", now)
    row.error_detail = row.error_detail or "no status callback"
    fall_back(session, row, now)


def call_over(session: Session, row: OutboundCall, now: datetime) -> None:
    """A check-in call a person answered has ended. If its check-in is still waiting (they hung
    up before the end), it ends here and counts like a text check-in that went quiet: no answer
    at all is a missed check-in, some answers an answered one (checkins.py's rules)."""
    from smsline import conversations  # conversations -> flow_actions -> checkins

    member = session.get(Member, row.member_id)
    if member is None:
        return
    waiting = conversations.active(session, member)
    if waiting is None or waiting.flow_name != checkins.FLOW or waiting.channel != "voice":
        return  # the check-in ended in the call, or the member has moved on since
    conversations.close(waiting, "hung up")
    if json.loads(waiting.answers_enc or "{}"):
        checkins.answered(member, now.astimezone(schedule.zone(member.timezone)).date())
    else:
        checkins.missed(session, member, now)


def stale_answered(session: Session, now: datetime, limit: int) -> list[OutboundCall]:
    """Calls a person answered more than ANSWERED_STALE ago whose final status never came (a lost
    callback), locked for the caller; no check-in call lasts that long."""
    statement = (
        select(OutboundCall)
        .where(OutboundCall.status == "answered", OutboundCall.status_at <= now - ANSWERED_STALE)
        .order_by(OutboundCall.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    return list(session.scalars(statement))


def settle_answered(session: Session, row: OutboundCall, now: datetime) -> None:
    """An answered call that never reported its end is over: `completed`, and its check-in counts
    as if the callback had come (no text instead: a person answered)."""
    _settle(row, "completed", now)
    row.error_detail = row.error_detail or "no status callback"
    call_over(session, row, now)


def tidy_answered(session: Session, now: datetime, limit: int) -> int:
    """The sweep's share: settle answered calls whose end was never reported; the caller
    commits. Returns how many."""
    rows = stale_answered(session, now, limit)
    for row in rows:
        settle_answered(session, row, now)
    return len(rows)


def fall_back(session: Session, row: OutboundCall, now: datetime) -> bool:
    """Start the check-in by text instead, once per call; True when it did."""
    if row.fallback_sent:
        return False
    row.fallback_sent = True
    member = session.get(Member, row.member_id)
    if not _reachable(session, member):
        return False
    try:
        checkins.send_by_text(session, member, now)
    except flowstore.UnknownFlow as error:
        log.error("call %s: no text check-in either: %s", row.id, error)
        return False
    audit.record(
        session,
        actor="line",
        action="checkin.call_fallback",
        subject_type="member",
        subject_id=member.id,
        reason=row.status,
    )
    return True


def _settle(row: OutboundCall, status: str, now: datetime) -> None:
    row.status, row.status_at = status, now


def _reachable(session: Session, member: Member | None) -> bool:
    """Whether anything may still go to this member: active (not paused, not erased), not
    opted out."""
    return (
        member is not None
        and member.status == "active"
        and not outbox.is_opted_out(session, member.phone_hash)
    )


def _locked(session: Session, call_id: int) -> OutboundCall | None:
    """The row, locked until the commit (PostgreSQL; SQLite writes are serialised anyway), so two
    callbacks at once settle it and fall back once."""
    return session.scalar(
        select(OutboundCall)
        .where(OutboundCall.id == call_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
