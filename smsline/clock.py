"""The sweep ("tick"): finds what is due in the database and hands it to the workers.

Here: members whose check-in is due (claimed, started, written to the outbox, or written as a
check-in call, and rescheduled in one transaction; a check-in more than `checkin_late_hours` late
is skipped and recorded), check-in calls to place or that never reported back, meeting reminders due
(meetings/reminders.py), outbox
retries whose time has come, rows left `pending`/`queued` by a lost Redis or a failed
hand-over, and rows stuck in `sending` after a killed worker (reconciled with Twilio before any
resend). Rows are claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite transactions here begin
IMMEDIATE (db.py), which serialises the claims. Two clocks at once therefore never hand the same row
over twice, and even if they did, `outbox.send` claims each row once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from smsline import (
    announcements,
    checkin_calls,
    checkins,
    circles,
    coordinators,
    db,
    metrics,
    outbox,
    pacing,
    pairing,
    relay,
    retention,
    roster,
)
from smsline.meetings import importer as meetings_importer
from smsline.meetings import reminders as meeting_reminders
from smsline.models import FollowUp, OutboundCall, OutboundMessage, Shift
from smsline.outbox import SENDING_STALE
from smsline.transport import TransportError

if TYPE_CHECKING:
    from smsline.line import Line

log = logging.getLogger(__name__)

HANDOVER_GRACE = timedelta(seconds=60)  # a fresh pending row is still being handed over
QUEUED_STALE = timedelta(minutes=10)  # a queued row no worker took: the job was lost
# ...sooner for texts a person is waiting for (a crisis page, an offer, a relayed text): a job that
# failed while the database restarted must not hold them for ten minutes. A job handed over twice
# is harmless: the second finds its rows taken.
REPLIES_STALE = timedelta(minutes=2)
# A text Twilio accepted whose final status never came (its callback answered 503 while the
# database restarted, say) is asked about once an hour, for two days.
STATUS_LATE = timedelta(hours=1)
STATUS_GIVE_UP = timedelta(days=2)
STATUS_BATCH = 100
BATCH = 500
CLAIM = 5_000  # check-ins claimed a statement


def sweep(line: Line, now: datetime) -> dict[str, int]:
    """One pass over everything due at `now`; returns counts of what it did."""
    metrics.clock_beat(line)
    counts = {"handed_over": 0, "reconciled": 0, "resent": 0, "conversations": 0}
    counts["conversations"] = _move_conversations(line, now)
    counts["peer_requests"] = _peer_requests(line, now)
    counts.update(_checkins(line, now))
    counts.update(_calls(line, now))
    counts.update(meeting_reminders.sweep(line, now))  # bulk rows: pacing hands them over below
    with line.sessions() as session:
        stuck = _claim_stuck_sending(session, now)
        session.commit()
        for row in stuck:
            counts[_reconcile(line, row, now)] += 1
        due = _claim_due(session, line, now)
        session.commit()
    counts["statuses_asked"] = _late_statuses(line, now)
    if due:
        line.queues.hand_over(due, now=now)
    counts["handed_over"] = len(due) + pacing.hand_over_due(line, now)
    _hourly_checks(line, now)
    counts["announcements_resumed"] = announcements.hand_over_stalled(line, now)
    with line.sessions() as session:  # circles meeting within the hour: their members told
        counts["circle_reminders"] = circles.remind_due(session, now)
        line.commit(session)
    counts.update(retention.sweep(line, now))  # message bodies past retention_days: purged
    with line.sessions() as session:  # meeting feeds due a refresh, a few a sweep; it commits
        counts["meeting_sources"] = len(meetings_importer.refresh_due(session, now))
    if any(counts.values()):
        log.info("sweep at %s: %s", now.isoformat(), counts)
    return counts


def _checkins(line: Line, now: datetime) -> dict[str, int]:
    """Due check-ins: claimed in one statement a CLAIM of members and handed to the workers in
    batches (`bulk`), who deliver them (`checkins.deliver_claimed`). In-process the delivery runs
    here, so the counts say what was sent; with RQ they say what was claimed."""
    counts = {"checkins": 0, "checkin_calls": 0, "checkins_skipped": 0, "checkins_claimed": 0}
    while True:
        with line.sessions() as session:
            claimed = checkins.claim(session, now, CLAIM)
            session.commit()
        if not claimed:
            return counts
        counts["checkins_claimed"] += len(claimed)
        results = line.queues.hand_over_checkins(claimed, now)
        counts["checkins"] += results.count("sent")
        counts["checkin_calls"] += results.count("called")
        counts["checkins_skipped"] += results.count("skipped")
        if "unpublished" in results or len(claimed) < CLAIM:
            return counts


def _peer_requests(line: Line, now: datetime) -> int:
    """Peer requests nobody took in time go to the next tier, promised ones to whoever is free;
    pairings silent for `relay_quiet_minutes` end; supporters hear of their shift an hour ahead."""
    with line.sessions() as session:
        moved = pairing.escalate_due(session, now)
        relay.end_quiet(session, now)
        roster.remind(session, now)
        line.commit(session)
    return moved


def _hourly_checks(line: Line, now: datetime) -> None:
    """Once an hour (the sweep at minute 0): can the sending rate deliver the coming day's
    check-ins on time, and has the roster nobody on call in the coming week? The coordinators are
    told of each, at most once a day."""
    if now.minute != 0:
        return
    with line.sessions() as session:
        if not db.try_lock(session, "smsline.clock.hourly_checks"):
            return  # another clock is checking this hour
        plan = pacing.capacity(session, now)
        if plan.short:
            log.warning("sending rate too low: %s", plan.describe())
            details = {"due": plan.due, "run": plan.run_count, "rate": plan.rate}
            _tell_once_a_day(session, "capacity", "capacity_page", details, now)
        if session.scalar(select(Shift.id).limit(1)) is not None:  # a line with a roster
            gaps = roster.gaps(session, now, now + timedelta(days=7))
            if gaps:
                hours = sum((end - start).total_seconds() for start, end in gaps) / 3600
                details = {"gaps": len(gaps), "hours": round(hours, 1)}
                _tell_once_a_day(session, "roster_gaps", "roster_gaps_page", details, now)
        line.commit(session)


def _tell_once_a_day(
    session: Session, kind: str, text_key: str, details: dict, now: datetime
) -> None:
    told = session.scalar(
        select(FollowUp.id).where(
            FollowUp.kind == kind, FollowUp.created_at > now - timedelta(days=1)
        )
    )
    if told is not None:
        return
    followup = FollowUp(kind=kind, created_at=now)
    session.add(followup)
    session.flush()
    coordinators.tell(
        session,
        kind=kind,
        text_key=text_key,
        details=details,
        urgent=False,
        now=now,
        followup=followup,
    )


def _calls(line: Line, now: datetime) -> dict[str, int]:
    """Check-in calls: ones placed long ago that never reported back count as unanswered (the
    text check-in goes instead, once); answered ones whose end was never reported are settled;
    ones due to be placed and with no worker go to one."""
    with line.sessions() as session:
        stale = checkin_calls.stale(session, now, BATCH)
        for row in stale:
            checkin_calls.settle_stale(session, row, now)
        tidied = checkin_calls.tidy_answered(session, now, BATCH)
        outbound = session.info.pop("outbox_ids", [])
        due = _claim_for_workers(session, line, OutboundCall, now, OutboundCall.id)
        due_ids = [row.id for row in due]
        session.commit()
    if outbound:
        line.queues.hand_over(outbound, now=now)
    if due_ids:
        line.queues.hand_over_calls(due_ids, now=now)
    return {
        "calls_handed_over": len(due_ids),
        "calls_unanswered": len(stale),
        "calls_tidied": tidied,
    }


def _claim_due(session: Session, line: Line, now: datetime) -> list[tuple[int, str]]:
    """Outbox rows that should be with a worker but are not, "replies" before "bulk"; pending bulk
    rows are claimed at the sender's pace instead (`pacing`)."""
    order = (OutboundMessage.queue.desc(), OutboundMessage.id)
    paced = OutboundMessage.queue == "bulk"
    urgent = (OutboundMessage.queue == "replies") & (
        OutboundMessage.status_at <= now - REPLIES_STALE
    )
    rows = _claim_for_workers(
        session, line, OutboundMessage, now, *order, paced=paced, stale_sooner=urgent
    )
    return [(row.id, row.queue) for row in rows]


def _claim_for_workers(
    session: Session, line: Line, Row, now: datetime, *order, paced=None, stale_sooner=None
) -> list:  # noqa: ANN001, N803
    """Rows (outbox texts or check-in calls) that should be with a worker but are not: pending and
    due (unless `paced`: those wait for their turn), or queued so long ago that the job was lost
    (QUEUED_STALE, or `stale_sooner` where that holds). Claimed and marked queued in one go."""
    pending_due = (Row.status == "pending") & or_(
        Row.next_attempt_at <= now,
        Row.next_attempt_at.is_(None) & (Row.created_at <= now - HANDOVER_GRACE),
    )
    if paced is not None:
        pending_due = pending_due & ~paced
    statement = (
        select(Row)
        .where(
            or_(
                pending_due,
                (Row.status == "queued")
                & or_(
                    Row.status_at.is_(None),
                    Row.status_at <= now - QUEUED_STALE,
                    *([stale_sooner] if stale_sooner is not None else []),
                )
                & or_(Row.next_attempt_at.is_(None), Row.next_attempt_at <= now),
            )
        )
        .order_by(*order)
        .limit(BATCH)
    )
    rows = session.scalars(db.skip_locked(statement, session)).all()
    for row in rows:
        if not line.queues.in_process:
            row.status = "queued"
        row.status_at, row.next_attempt_at = now, None  # the sweep decided: due now
    return rows


class _Stuck(NamedTuple):
    id: int
    attempt_id: str
    to_hash: str
    to: str
    from_number: str | None
    body: str
    since: datetime  # when the dead worker's attempt started


def _claim_stuck_sending(session: Session, now: datetime) -> list[_Stuck]:
    Row = OutboundMessage
    statement = (
        select(Row)
        .where(Row.status == "sending", Row.sending_started_at <= now - SENDING_STALE)
        .order_by(Row.id)
        .limit(BATCH)
    )
    stuck = []
    for row in session.scalars(db.skip_locked(statement, session)):
        # Take the row over with a new attempt id so a late finish of the dead worker is ignored.
        old_since = row.sending_started_at
        row.attempt_id = f"reconcile-{row.id}-{int(now.timestamp())}"
        row.sending_started_at = now
        stuck.append(
            _Stuck(
                row.id,
                row.attempt_id,
                row.to_hash,
                row.to_enc,
                row.from_number,
                row.body_enc,
                old_since,
            )
        )
    return stuck


def _reconcile(line: Line, stuck: _Stuck, now: datetime) -> str:
    """Ask Twilio whether a stuck row went out; record it as sent, or put it back to be sent. The
    same words to the same number may have gone out for another row (two offers to a supporter):
    SIDs other rows already own are not this row's."""
    service = line.config.twilio_messaging_service_sid
    since = stuck.since - timedelta(minutes=1)
    with line.sessions() as session:
        taken = set(
            session.scalars(
                select(OutboundMessage.twilio_sid).where(
                    OutboundMessage.to_hash == stuck.to_hash,
                    OutboundMessage.id != stuck.id,
                    OutboundMessage.twilio_sid.is_not(None),
                    OutboundMessage.sent_at >= since - timedelta(minutes=1),
                )
            )
        )
        session.commit()
    try:
        sid = line.transport.find_sent(
            to=stuck.to,
            from_=None if service else stuck.from_number,
            body=stuck.body,
            since=since,
            exclude=taken,
        )
    except TransportError as error:
        log.warning("outbound %s: could not reconcile (code %s); will retry", stuck.id, error.code)
        sid = "unknown"
    with line.sessions() as session:
        row = session.get(OutboundMessage, stuck.id)
        if row is None or row.attempt_id != stuck.attempt_id or row.status != "sending":
            return "reconciled"
        if sid == "unknown":  # leave it in sending: the next sweep asks again
            row.sending_started_at = stuck.since
            session.commit()
            return "reconciled"
        if sid:
            row.twilio_sid = row.twilio_sid or sid
            row.status, row.sent_at = "sent", now
            try:
                session.commit()
            except IntegrityError:  # another row recorded that SID meanwhile: ask again next time
                session.rollback()
                log.warning("outbound %s: the text found belongs to another row", stuck.id)
                return "reconciled"
            log.info("outbound %s: found at Twilio as %s, not resent", stuck.id, sid)
            return "reconciled"
        row.status, row.next_attempt_at = "pending", now
        session.commit()
        return "resent"


def _late_statuses(line: Line, now: datetime) -> int:
    """Ask Twilio for the status of texts it accepted over STATUS_LATE ago whose final status never
    came back, each at most once an hour (`status_at` notes the asking), for STATUS_GIVE_UP.
    Returns how many Twilio answered."""
    Row = OutboundMessage
    with line.sessions() as session:
        statement = (
            select(Row.id, Row.twilio_sid)
            .where(
                Row.status == "sent",
                Row.twilio_sid.is_not(None),
                Row.sent_at <= now - STATUS_LATE,
                Row.sent_at > now - STATUS_GIVE_UP,
                or_(Row.status_at.is_(None), Row.status_at <= now - STATUS_LATE),
            )
            .order_by(Row.id)
            .limit(STATUS_BATCH)
        )
        late = session.execute(db.skip_locked(statement, session)).all()
        if late:
            asked = update(Row).where(Row.id.in_([row_id for row_id, _ in late]))
            session.execute(asked.values(status_at=now))
        session.commit()
    answered = 0
    for row_id, sid in late:
        try:
            found = line.transport.fetch_status(sid)
        except TransportError as error:
            log.warning("late statuses: Twilio could not be asked (code %s)", error.code)
            break  # the rest are asked again within the hour
        if found is None:
            continue
        with line.sessions() as session:
            outbox.apply_status(
                session, sid=sid, twilio_status=found[0], error_code=found[1], outbound_id=row_id
            )
            session.commit()
        answered += 1
    return answered


def _move_conversations(line: Line, now: datetime) -> int:
    """Conversations whose wait timed out or that expired move on: a re-ask goes through the outbox
    (an automated text: quiet hours apply), an expiry ends quietly. One transaction each."""
    from smsline import conversations
    from smsline.engine import run
    from smsline.models import Conversation, Member

    with line.sessions() as session:
        due = conversations.due(session, now)
        session.commit()
    for conversation_id, kind in due:
        with line.sessions() as session:
            conversation = session.scalar(  # locked, and checked again: two clocks move it once
                db.skip_locked(
                    select(Conversation).where(Conversation.id == conversation_id), session
                )
            )
            if conversation is None or not conversations.is_due(conversation, kind, now):
                continue
            member = session.get(Member, conversation.member_id)
            if conversation.channel == "voice":  # the call is over: nothing to say by text
                conversations.close(conversation, "call ended")
                line.commit(session)
                continue
            outcome = conversations.feed(session, member, conversation, run.Input(kind), now)
            for body in outcome.texts:
                outbox.write(
                    session,
                    to=member.phone,
                    body=body,
                    kind="notice",
                    member_id=member.id,
                    timezone=member.timezone,
                    now=now,
                )
            line.commit(session)
    return len(due)
