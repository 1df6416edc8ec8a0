"""The dashboard's figures, each an aggregate the database computes (counts grouped by day, by
status, by error code) so that a busy line costs the page a handful of small queries. No Flask
here: every function takes a session and the instant it is asked at. Days are UTC days."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, case, cast, distinct, func, or_, select
from sqlalchemy.orm import Session

from smsline import outbox
from smsline.models import (
    CheckinRecord,
    FollowUp,
    Member,
    OutboundCall,
    OutboundMessage,
    PeerRequest,
)

CHECKIN_DAYS = 14
PEER_DAYS = 30
FAILURE_DAYS = 7
FAILED = ("failed", "undelivered")
FOLLOWUPS_SHOWN = 100


def utc_day(session: Session, column: Any) -> Any:
    """The UTC calendar day of a timestamp column, as SQL (SQLite keeps UTC text; PostgreSQL's
    `date()` would use the connection's zone, so the zone is named)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def percentile(values: list[float], fraction: float) -> float | None:
    """The `fraction` percentile with linear interpolation between ranks (PostgreSQL's
    percentile_cont): the median of [1, 2, 3, 10] is 2.5, its 90th percentile 7.9."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def members_active(session: Session) -> int:
    """Members signed up and not gone: active, or with check-ins paused."""
    return session.scalar(
        select(func.count()).select_from(Member).where(Member.status.in_(("active", "paused")))
    )


@dataclass(frozen=True)
class Day:
    day: date
    sent: int
    answered: int


def checkins_by_day(session: Session, now: datetime, days: int = CHECKIN_DAYS) -> list[Day]:
    """Check-ins sent (members texted a check-in, or called) and answered (members who saved
    one) on each of the last `days` UTC days, today included, oldest first."""
    first = now.date() - timedelta(days=days - 1)
    since = datetime(first.year, first.month, first.day, tzinfo=now.tzinfo)
    sent: dict[date, int] = {}
    texted_day = utc_day(session, OutboundMessage.created_at)
    called_day = utc_day(session, OutboundCall.created_at)
    answered_day = utc_day(session, CheckinRecord.created_at)
    queries = (
        select(texted_day, func.count(distinct(OutboundMessage.member_id)))
        .where(
            OutboundMessage.kind == "checkin",
            OutboundMessage.created_at >= since,
            OutboundMessage.status != "suppressed",
        )
        .group_by(texted_day),
        select(called_day, func.count(distinct(OutboundCall.member_id)))
        .where(OutboundCall.created_at >= since, OutboundCall.status != "suppressed")
        .group_by(called_day),
    )
    for query in queries:
        for day, count in session.execute(query):
            sent[_as_date(day)] = sent.get(_as_date(day), 0) + count
    answered = {
        _as_date(day): count
        for day, count in session.execute(
            select(answered_day, func.count(distinct(CheckinRecord.member_id)))
            .where(CheckinRecord.created_at >= since)
            .group_by(answered_day)
        )
    }
    return [
        Day(day, sent.get(day, 0), answered.get(day, 0))
        for day in (first + timedelta(days=offset) for offset in range(days))
    ]


def risk_flags_open(session: Session) -> int:
    return session.scalar(
        select(func.count())
        .select_from(FollowUp)
        .where(FollowUp.kind == "risk", FollowUp.resolved_at.is_(None))
    )


@dataclass
class PeerFigures:
    by_status: dict[str, int] = field(default_factory=dict)
    accepted: int = 0
    median_minutes: float | None = None
    p90_minutes: float | None = None

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def peer_requests(session: Session, now: datetime, days: int = PEER_DAYS) -> PeerFigures:
    """Peer requests made in the last `days` by status, and the time from a request to a
    supporter's YES (the request's close when it was paired): median and 90th percentile."""
    since = now - timedelta(days=days)
    figures = PeerFigures(
        by_status=dict(
            session.execute(
                select(PeerRequest.status, func.count())
                .where(PeerRequest.created_at >= since)
                .group_by(PeerRequest.status)
            ).all()
        )
    )
    waits = [
        (closed - created).total_seconds() / 60
        for created, closed in session.execute(
            select(PeerRequest.created_at, PeerRequest.closed_at).where(
                PeerRequest.created_at >= since,
                PeerRequest.status == "paired",
                PeerRequest.closed_at.is_not(None),
            )
        )
    ]
    figures.accepted = len(waits)
    figures.median_minutes = percentile(waits, 0.5)
    figures.p90_minutes = percentile(waits, 0.9)
    return figures


def delivery_failures(
    session: Session, now: datetime, days: int = FAILURE_DAYS
) -> list[tuple[int | None, int]]:
    """Texts that failed or were undelivered in the last `days`, by Twilio error code (None: no
    code given, listed after the codes of the same count), most frequent first."""
    since = now - timedelta(days=days)
    when = func.coalesce(OutboundMessage.status_at, OutboundMessage.created_at)
    count = func.count().label("count")
    return [
        (code, total)
        for code, total in session.execute(
            select(OutboundMessage.error_code, count)
            .where(OutboundMessage.status.in_(FAILED), when >= since)
            .group_by(OutboundMessage.error_code)
            .order_by(
                count.desc(), OutboundMessage.error_code.is_(None), OutboundMessage.error_code
            )
        )
    ]


@dataclass(frozen=True)
class Backlog:
    waiting: int  # outbox rows not yet handed to Twilio (pending or queued)
    due: int  # of those, due now (no not-before time, or one that has passed)
    oldest_due_at: datetime | None

    def oldest_age(self, now: datetime) -> timedelta | None:
        return None if self.oldest_due_at is None else max(now - self.oldest_due_at, timedelta())


def outbox_backlog(session: Session, now: datetime) -> Backlog:
    """The outbox rows waiting to be sent, and the oldest due one (by when it became due)."""
    due_at = func.coalesce(OutboundMessage.next_attempt_at, OutboundMessage.created_at)
    is_due = or_(OutboundMessage.next_attempt_at.is_(None), OutboundMessage.next_attempt_at <= now)
    waiting, due = session.execute(
        select(func.count(), func.coalesce(func.sum(case((is_due, 1), else_=0)), 0)).where(
            OutboundMessage.status.in_(outbox.CLAIMABLE)
        )
    ).one()
    oldest = session.scalar(
        select(due_at)
        .where(OutboundMessage.status.in_(outbox.CLAIMABLE), is_due)
        .order_by(due_at)
        .limit(1)
    )
    if isinstance(oldest, str):  # SQLite returns coalesce() of two timestamps as text
        oldest = datetime.fromisoformat(oldest).replace(tzinfo=now.tzinfo)
    return Backlog(int(waiting), int(due), oldest)


@dataclass(frozen=True)
class OpenFollowUp:
    id: int
    kind: str
    member_id: int | None
    nickname: str | None
    created_at: datetime
    taken_by: str | None
    taken_at: datetime | None


def open_followups(
    session: Session, limit: int = FOLLOWUPS_SHOWN
) -> tuple[int, list[OpenFollowUp]]:
    """The unresolved follow-ups, oldest first, with the member's nickname; and how many there
    are in all."""
    total = session.scalar(
        select(func.count()).select_from(FollowUp).where(FollowUp.resolved_at.is_(None))
    )
    rows = session.execute(
        select(
            FollowUp.id,
            FollowUp.kind,
            FollowUp.member_id,
            Member.nickname,
            FollowUp.created_at,
            FollowUp.taken_by,
            FollowUp.taken_at,
        )
        .outerjoin(Member, Member.id == FollowUp.member_id)
        .where(FollowUp.resolved_at.is_(None))
        .order_by(FollowUp.created_at, FollowUp.id)
        .limit(limit)
    )
    return total, [OpenFollowUp(*row) for row in rows]
