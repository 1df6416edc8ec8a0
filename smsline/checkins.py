"""Daily check-ins: when a member's next one is due (`schedule`), asking again in an hour (`later`),
and what the clock does with a due one (`deliver`).

`Member.next_checkin_at` is the record of what is due: the clock claims due members, delivers and
advances it in one transaction, so a check-in is neither lost nor sent twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from smsline import audit, outbox, schedule
from smsline.models import Member, OptOut

log = logging.getLogger(__name__)

LATER = timedelta(hours=1)


def schedule_next(member: Member, now: datetime) -> datetime | None:
    """Set when the member's next check-in is due (None: nothing scheduled): the next occurrence
    after `now`, or after a pause ends; none while paused until RESUME or without a time."""
    after = now
    if member.status == "paused":
        if member.paused_until is None:
            member.next_checkin_at = None
            return None
        after = max(now, member.paused_until)
    elif member.status != "active":
        member.next_checkin_at = None
        return None
    if not member.checkin_time:
        member.next_checkin_at = None
        return None
    try:
        member.next_checkin_at = schedule.next_checkin(
            after, member.checkin_time, member.checkin_days or "daily", member.timezone
        )
    except ValueError as error:
        log.error("member %s: no check-in scheduled: %s", member.id, error)
        member.next_checkin_at = None
    return member.next_checkin_at


def later(member: Member, now: datetime) -> datetime:
    """LATER: the check-in is asked again in an hour (the next regular one follows as usual)."""
    member.next_checkin_at = now + LATER
    return member.next_checkin_at


def due(now: datetime, limit: int) -> Select:
    """Members whose check-in is due: active, or paused with the pause over."""
    return (
        select(Member)
        .where(
            or_(
                Member.status == "active",
                (Member.status == "paused")
                & Member.paused_until.is_not(None)
                & (Member.paused_until <= now),
            ),
            Member.next_checkin_at <= now,
        )
        .order_by(Member.next_checkin_at, Member.id)
        .limit(limit)
    )


def opted_out(session: Session, members: list[Member]) -> set[str]:
    """The phone hashes among `members` that opted out (one query for a batch)."""
    hashes = [member.phone_hash for member in members]
    if not hashes:
        return set()
    return set(
        session.scalars(
            select(OptOut.phone_hash).where(
                OptOut.phone_hash.in_(hashes), OptOut.opted_out.is_(True)
            )
        )
    )


def deliver(
    session: Session, member: Member, now: datetime, late_after: timedelta, is_opted_out: bool
) -> str:
    """Carry out one claimed, due check-in and schedule the next; returns "sent", "skipped" (too
    late: a clock that was down) or "opted_out". Raises flowstore.UnknownFlow when the check-in
    flow is not published (the caller rolls back, so the member stays due)."""
    from smsline import conversations  # conversations -> flow_actions -> checkins

    if member.status == "paused":  # the pause is over
        member.status, member.paused_until = "active", None
    due_at = member.next_checkin_at
    assert due_at is not None
    if now - due_at > late_after:
        result = "skipped"
        audit.record(
            session,
            actor="clock",
            action="checkin.skipped",
            subject_type="member",
            subject_id=member.id,
            reason="late",
            details={
                "due": due_at.isoformat(),
                "late_minutes": int((now - due_at).total_seconds() // 60),
            },
        )
    elif is_opted_out:  # nothing goes to them; the schedule keeps going in case they come back
        result = "opted_out"
    else:
        result = "sent"
        outcome = conversations.start(session, member, "checkin", now, channel="sms")
        for body in outcome.texts:
            outbox.write(
                session,
                to=member.phone,
                body=body,
                kind="checkin",
                queue="bulk",
                timezone=member.timezone,
                member_id=member.id,
                now=now,
            )
    schedule_next(member, now)
    return result
