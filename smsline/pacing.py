"""Bulk texts at the sender's pace.

A carrier takes about one segment a second from a US long code, so bulk texts (check-ins, outreach,
reminders) are not handed to the workers as soon as they are written: each is claimed when due,
at most `send_rate_per_number` segments a second per sender (a line number, or the Messaging
Service as a whole), counted by the minute, the clock's beat. The count lives in `send_pacing` and
a row waits `pending` with its not-before (`next_attempt_at`) until a minute has room for it, so
the pace survives a Redis flush and two clocks at once; Twilio's own queue evens the texts out
inside the minute. What did not fit waits for the next minute, in order. Replies never wait here.

`capacity` answers the coordinators' question before it becomes a member's problem: can this rate
deliver the check-ins due in the coming day inside their texting window?
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from smsline import db, settings
from smsline.models import Member, OutboundMessage, SendPacing

if TYPE_CHECKING:
    from smsline.line import Line

BATCH = 500


def claim(session: Session, line: Line, now: datetime, limit: int = BATCH) -> list[tuple[int, str]]:
    """Claim the bulk rows due at `now` that fit in this minute's room, per sender; returns them
    as (id, "bulk") for `Queues.hand_over`, marked queued (with RQ)."""
    per_minute = settings.get(session, "send_rate_per_number") * 60
    minute = now.astimezone(UTC).replace(second=0, microsecond=0)
    Row = OutboundMessage
    due = and_(Row.status == "pending", Row.queue == "bulk", Row.next_attempt_at <= now)
    service = line.config.twilio_messaging_service_sid
    if service:
        senders: list[tuple[str, object]] = [(service, True)]
    else:
        numbers = session.scalars(select(Row.from_number).where(due).distinct()).all()
        senders = [
            (
                number or "",
                Row.from_number.is_(None) if number is None else Row.from_number == number,
            )
            for number in numbers
        ]
    claimed: list[tuple[int, str]] = []
    for sender, same_sender in senders:
        pacing = _pacing(session, sender, minute)
        room = per_minute - pacing.used
        if room <= 0:
            continue
        statement = (
            select(Row)
            .where(due, same_sender)
            .order_by(Row.next_attempt_at, Row.id)
            .limit(min(room, limit))
        )
        for row in session.scalars(db.skip_locked(statement, session)):
            if pacing.used and pacing.used + row.segments > per_minute:
                break  # the next minute's first
            pacing.used += row.segments
            if not line.queues.in_process:
                row.status = "queued"
            row.status_at, row.next_attempt_at = now, None  # its minute has come: due now
            claimed.append((row.id, "bulk"))
    return claimed


def hand_over_due(line: Line, now: datetime) -> int:
    """Claim what bulk texts this minute has room for and give them to the workers."""
    with line.sessions() as session:
        claimed = claim(session, line, now)
        session.commit()
    if claimed:
        line.queues.hand_over(claimed, now=now)
    return len(claimed)


def _pacing(session: Session, sender: str, minute: datetime) -> SendPacing:
    """The sender's count, locked for this transaction and turned over to `minute`."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(SendPacing)
        .values(sender=sender, minute_at=minute, used=0)
        .on_conflict_do_nothing(index_elements=["sender"])
    )
    pacing = session.scalar(select(SendPacing).where(SendPacing.sender == sender).with_for_update())
    assert pacing is not None
    if pacing.minute_at != minute:
        pacing.minute_at, pacing.used = minute, 0
    return pacing


@dataclass(frozen=True)
class Capacity:
    """Whether the rate keeps up with the check-ins due in the coming day (`capacity`): the worst
    run of check-ins sent back to back, and how late its last one goes out."""

    due: int  # check-ins due in the coming day
    rate: int  # segments a second per sender
    run_count: int  # check-ins in the worst run
    run_start: datetime | None  # the time of its first check-in (UTC)
    run_length: timedelta  # how long the worst run takes to send
    latest: timedelta  # how long after its time the run's latest check-in goes out
    allowed: timedelta  # how late is acceptable: the late-check-in limit, at most an hour

    @property
    def short(self) -> bool:
        return self.latest > self.allowed

    def describe(self) -> str:
        if self.run_start is None:
            return "No check-ins due in the next day."
        words = (
            f"{self.run_count:,} check-ins due from {self.run_start:%H:%M} UTC at {self.rate} "
            f"msg/s need {_hours_minutes(self.run_length)}: the last goes out "
            f"{_hours_minutes(self.latest)} after its time."
        )
        if self.short:
            words += (
                " Raise send_rate_per_number (more numbers in the Messaging Service)"
                " or spread the check-in times."
            )
        return words


def capacity(session: Session, now: datetime) -> Capacity:
    """Simulate the coming day of check-ins at the configured rate, one segment each, in order of
    their time, none before its time; report the run that ends latest after its check-ins' time."""
    rate = settings.get(session, "send_rate_per_number")
    late_hours = timedelta(hours=settings.get(session, "checkin_late_hours"))
    times = session.scalars(
        select(Member.next_checkin_at)
        .where(
            Member.status.in_(("active", "paused")),
            Member.next_checkin_at.is_not(None),
            Member.next_checkin_at < now + timedelta(days=1),
        )
        .order_by(Member.next_checkin_at)
    ).all()
    runs: list[list] = []  # [first time, start s, end s, count, latest s]
    free = -math.inf  # seconds after `now` when the sender is next free
    for due_at in times:
        due = max((due_at - now).total_seconds(), 0.0)
        if due >= free:  # the sender was idle: a new run starts
            runs.append([due_at, due, due, 0, 0.0])
            free = due
        free += 1 / rate
        run = runs[-1]
        run[2], run[3], run[4] = free, run[3] + 1, max(run[4], free - due)
    worst = max(runs, key=lambda run: run[4], default=None)
    return Capacity(
        due=len(times),
        rate=rate,
        run_count=worst[3] if worst else 0,
        run_start=worst[0].astimezone(UTC) if worst else None,
        run_length=timedelta(seconds=worst[2] - worst[1]) if worst else timedelta(0),
        latest=timedelta(seconds=worst[4]) if worst else timedelta(0),
        allowed=min(late_hours, timedelta(hours=1)),
    )


def _hours_minutes(span: timedelta) -> str:
    minutes = math.ceil(span.total_seconds() / 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}" if hours else f"{minutes} min"
