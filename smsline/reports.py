"""The monthly report for funders: counts and rates only, never a row about a person.

`monthly(session, month)` counts what the line did in one calendar month of the line's time zone
(the `line_timezone` setting). Small cells are suppressed so no one can be singled out: a count
from 1 to 4 is shown as "<5"; a rate is not shown when its count, its total or the difference
between them is from 1 to 4 (the difference would give the count away); a median needs at least 5
values. Plain functions on a session, so a command line could print the same report.
"""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, distinct, func, select, union
from sqlalchemy.orm import Session

from smsline import settings
from smsline.models import (
    CheckinRecord,
    Conversation,
    InboundMessage,
    Member,
    OutboundCall,
    OutboundMessage,
    Pairing,
    PeerRequest,
)

SMALL = range(1, 5)  # counts that could single someone out
SMALL_TEXT = "<5"
NOT_SHOWN = "not shown (small numbers)"
STREAK_DAYS = 7
NOT_SENT = ("suppressed", "pending", "queued", "sending")  # never reached Twilio (yet)
DELIVERY_KNOWN = ("sent", "delivered", "undelivered", "failed", "replied")
FAILED = ("undelivered", "failed")
OPT_OUT_ROUTES = ("stop", "twilio_stop")


@dataclass(frozen=True)
class Figure:
    """One line of the report: a machine key, its label, the value as shown, what it counts."""

    key: str
    label: str
    value: str
    definition: str


@dataclass(frozen=True)
class Report:
    month: str  # "YYYY-MM"
    timezone: str
    starts: datetime  # UTC
    ends: datetime  # UTC, exclusive
    figures: list[Figure]

    def figure(self, key: str) -> Figure:
        return next(figure for figure in self.figures if figure.key == key)


def count_text(count: int) -> str:
    """A count as the report shows it: 1 to 4 become "<5"."""
    return SMALL_TEXT if count in SMALL else f"{count:,}"


def rate_text(part: int, whole: int) -> str:
    """part/whole as a percentage, unless a small cell could be worked out from it."""
    if whole == 0:
        return "—"
    if part in SMALL or whole in SMALL or (whole - part) in SMALL:
        return NOT_SHOWN
    return f"{100 * part / whole:.0f}%"


def median_text(values: list[float]) -> str:
    """A median of minutes, when there are at least 5 values."""
    if not values:
        return "—"
    if len(values) in SMALL:
        return NOT_SHOWN
    minutes = statistics.median(values)
    if minutes < 60:
        return f"{minutes:.0f} min"
    return f"{minutes / 60:.1f} h"


def last_month(today: date) -> str:
    first = today.replace(day=1) - timedelta(days=1)
    return f"{first:%Y-%m}"


def parse_month(text: str) -> date:
    """ "YYYY-MM" to the month's first day; ValueError otherwise."""
    year, _, month = text.partition("-")
    if len(year) != 4 or len(month) != 2:
        raise ValueError(f"not a month: {text!r}")
    return date(int(year), int(month), 1)


def bounds(month: date, timezone: str) -> tuple[datetime, datetime]:
    """The month's start and end (exclusive) in UTC, from midnights in `timezone`."""
    zone = ZoneInfo(timezone)
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    starts = datetime.combine(month, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    ends = datetime.combine(following, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    return starts, ends


def default_month(session: Session, now: datetime) -> str:
    """Last month, in the line's time zone."""
    zone = ZoneInfo(settings.get(session, "line_timezone"))
    return last_month(now.astimezone(zone).date())


def _count(session: Session, statement: Select) -> int:
    return session.scalar(select(func.count()).select_from(statement.subquery())) or 0


def monthly(session: Session, month: str) -> Report:
    """The report of `month` ("YYYY-MM"); ValueError for a malformed month."""
    timezone = settings.get(session, "line_timezone")
    starts, ends = bounds(parse_month(month), timezone)

    def within(column):  # noqa: ANN001, ANN202
        return (column >= starts) & (column < ends)

    new_members = _count(session, select(Member.id).where(within(Member.created_at)))
    active = _count(
        session,
        union(
            select(InboundMessage.member_id).where(
                within(InboundMessage.received_at), InboundMessage.member_id.is_not(None)
            ),
            select(CheckinRecord.member_id).where(within(CheckinRecord.created_at)),
        ),
    )
    # A check-in is a member's check-in of a day: its texts (one or a few rows) or its call.
    day = func.date(OutboundMessage.created_at)
    checkins_sent = _count(
        session,
        union(
            select(OutboundMessage.member_id, day).where(
                OutboundMessage.kind == "checkin",
                OutboundMessage.status != "suppressed",
                within(OutboundMessage.created_at),
            ),
            select(OutboundCall.member_id, func.date(OutboundCall.created_at)).where(
                OutboundCall.status != "suppressed", within(OutboundCall.created_at)
            ),
        ),
    )
    checkins_answered = _count(
        session,
        select(CheckinRecord.member_id, func.date(CheckinRecord.created_at))
        .where(within(CheckinRecord.created_at))
        .distinct(),
    )
    streaks = _streaks(session, starts, ends, ZoneInfo(timezone))
    requests = _count(session, select(PeerRequest.id).where(within(PeerRequest.created_at)))
    waits = [
        (started - created).total_seconds() / 60
        for created, started in session.execute(
            select(PeerRequest.created_at, func.min(Pairing.started_at))
            .join(Pairing, Pairing.request_id == PeerRequest.id)
            .where(within(PeerRequest.created_at))
            .group_by(PeerRequest.id, PeerRequest.created_at)
        )
    ]
    crisis = _count(
        session,
        select(InboundMessage.id).where(
            InboundMessage.route == "crisis", within(InboundMessage.received_at)
        ),
    )
    searches = _count(
        session,
        select(Conversation.id).where(
            Conversation.flow_name == "meetings", within(Conversation.started_at)
        ),
    )
    reminders = _count(
        session,
        select(OutboundMessage.id).where(
            OutboundMessage.kind == "reminder",
            OutboundMessage.status.not_in(NOT_SENT),
            within(OutboundMessage.created_at),
        ),
    )
    opt_outs = _count(
        session,
        select(distinct(InboundMessage.from_hash)).where(
            InboundMessage.route.in_(OPT_OUT_ROUTES), within(InboundMessage.received_at)
        ),
    )
    texts_in = _count(session, select(InboundMessage.id).where(within(InboundMessage.received_at)))
    texts_out = _count(
        session,
        select(OutboundMessage.id).where(
            OutboundMessage.status.not_in(NOT_SENT), within(OutboundMessage.created_at)
        ),
    )
    outcomes = dict(
        session.execute(
            select(OutboundMessage.status, func.count())
            .where(OutboundMessage.status.in_(DELIVERY_KNOWN), within(OutboundMessage.created_at))
            .group_by(OutboundMessage.status)
        ).all()
    )
    failed = sum(outcomes.get(status, 0) for status in FAILED)
    figures = [
        Figure("new_members", "New members", count_text(new_members), "Members who joined."),
        Figure(
            "active_members",
            "Active members",
            count_text(active),
            "Members who texted the line or answered a check-in at least once.",
        ),
        Figure(
            "checkins_sent",
            "Check-ins sent",
            count_text(checkins_sent),
            "Daily check-ins sent by text or call (one a member a day).",
        ),
        Figure(
            "checkins_answered",
            "Check-ins answered",
            count_text(checkins_answered),
            "Check-ins with an answer (one a member a day; members may also check in unasked).",
        ),
        Figure(
            "checkin_answer_rate",
            "Check-in answer rate",
            rate_text(min(checkins_answered, checkins_sent), checkins_sent),
            "Check-ins answered out of check-ins sent.",
        ),
        Figure(
            "streak_members",
            f"Members with a streak of {STREAK_DAYS}+ days",
            count_text(streaks),
            f"Members who answered check-ins on {STREAK_DAYS} days in a row, ending this month.",
        ),
        Figure(
            "peer_requests", "Peer requests", count_text(requests), "Requests to talk to a peer."
        ),
        Figure(
            "peer_accepted",
            "Peer requests accepted",
            count_text(len(waits)),
            "Requests a peer supporter took.",
        ),
        Figure(
            "peer_acceptance_rate",
            "Peer acceptance rate",
            rate_text(len(waits), requests),
            "Requests accepted out of requests made.",
        ),
        Figure(
            "median_time_to_acceptance",
            "Median time to acceptance",
            median_text(waits),
            "From the request to a supporter taking it (at least 5 requests).",
        ),
        Figure(
            "crisis_texts",
            "Crisis texts",
            count_text(crisis),
            "Texts answered with crisis resources.",
        ),
        Figure(
            "meeting_searches",
            "Meeting searches",
            count_text(searches),
            "Times members looked for a meeting.",
        ),
        Figure(
            "meeting_reminders_sent",
            "Meeting reminders sent",
            count_text(reminders),
            "Reminders of meetings members follow.",
        ),
        Figure(
            "opt_outs", "Opt-outs", count_text(opt_outs), "Numbers that texted STOP (or similar)."
        ),
        Figure("texts_in", "Texts in", count_text(texts_in), "Texts the line received."),
        Figure("texts_out", "Texts out", count_text(texts_out), "Texts the line sent."),
        Figure(
            "delivery_failure_rate",
            "Delivery failure rate",
            rate_text(failed, sum(outcomes.values())),
            "Texts the carrier reported undelivered or failed, out of texts sent.",
        ),
    ]
    return Report(month, timezone, starts, ends, figures)


def _streaks(session: Session, starts: datetime, ends: datetime, zone: ZoneInfo) -> int:
    """Members whose answered check-ins make a run of STREAK_DAYS local days ending this month."""
    days: dict[int, set[date]] = {}
    for member_id, at in session.execute(
        select(CheckinRecord.member_id, CheckinRecord.created_at).where(
            CheckinRecord.created_at >= starts - timedelta(days=STREAK_DAYS - 1),
            CheckinRecord.created_at < ends,
        )
    ):
        days.setdefault(member_id, set()).add(at.astimezone(zone).date())
    first = starts.astimezone(zone).date()
    count = 0
    for answered in days.values():
        for end in answered:
            if end >= first and all(
                end - timedelta(days=n) in answered for n in range(STREAK_DAYS)
            ):
                count += 1
                break
    return count


CSV_HEADER = ("month", "metric", "label", "value")


def to_csv(report: Report) -> str:
    """The report as CSV: one row a figure, values exactly as on the page (suppressed alike)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for figure in report.figures:
        writer.writerow((report.month, figure.key, figure.label, figure.value))
    return out.getvalue()
