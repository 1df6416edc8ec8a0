"""/admin/members: find a member by nickname or by exact phone number (through the blind index,
never by decrypting numbers), and a member's page: check-in history as a chart, consents, meeting
subscriptions, peer requests and pairings, conversations, and recent messages with their bodies
hidden. Every view of a member's page is audited; a coordinator may reveal the bodies with a
reason (audited too), for that one response only. No page shows a phone number."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import abort, render_template, request
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, defer

from smsline import audit, crypto, db, phones
from smsline.models import (
    CheckinRecord,
    Consent,
    Conversation,
    InboundMessage,
    Meeting,
    MeetingSubscription,
    Member,
    Offer,
    OutboundMessage,
    Pairing,
    PeerRequest,
    Supporter,
    utcnow,
)
from smsline.web.admin import bp, charts, requires

RESULTS = 50
HISTORY_DAYS = (30, 90)
MESSAGES_SHOWN = 40
ROWS_SHOWN = 50
MAX_REASON = 200
PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{7,}$")
CHECKIN_FLOW = "checkin"


def _actor() -> str:
    return f"admin:{current_user.email}"[:80]


def looks_like_phone(query: str) -> bool:
    """A query of digits and phone punctuation (7 digits at least) is a number, not a nickname."""
    return bool(PHONE_LIKE.match(query)) and sum(c.isdigit() for c in query) >= 7


def search(session: Session, query: str) -> tuple[str, list[Member]]:
    """("phone" | "nickname" | "invalid", members): a phone number is normalised to E.164 and
    found through its keyed hash, exactly; anything else is a case-insensitive part of a
    nickname."""
    members = select(Member).options(defer(Member.phone_enc))
    if looks_like_phone(query):
        try:
            e164 = phones.normalise(query)
        except phones.InvalidPhone:
            return "invalid", []
        found = session.scalars(members.where(Member.phone_hash == crypto.current().index(e164)))
        return "phone", list(found)
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    found = session.scalars(
        members.where(Member.nickname.ilike(pattern, escape="\\"))
        .order_by(Member.nickname, Member.id)
        .limit(RESULTS)
    )
    return "nickname", list(found)


@bp.get("/members")
@requires("viewer")
def members() -> str:
    """The search form and its results: nickname, status, language, member since."""
    query = request.args.get("q", "").strip()[:80]
    kind, found = ("", [])
    session = db.get_session()
    if query:
        kind, found = search(session, query)
        if kind == "phone":  # a lookup by number is a read of personal data: on the record
            audit.record(
                session,
                actor=_actor(),
                action="member.search_phone",
                details={"found": len(found)},
            )
            session.commit()
    shown = "" if kind in ("phone", "invalid") else query  # a number is never written back
    return render_template(
        "admin/members.html", query=shown, searched=bool(query), kind=kind, members=found
    )


@dataclass(frozen=True)
class Message:
    at: datetime
    direction: str  # in | out
    kind: str  # the inbound route, or the outbound kind
    status: str
    body: str | None  # only when revealed


def _messages(session: Session, member_id: int, reveal: bool) -> list[Message]:
    """The member's latest texts both ways, newest first; bodies are read (decrypted) only when
    revealed."""
    inbound_columns = [InboundMessage.received_at, InboundMessage.route]
    outbound_columns = [OutboundMessage.created_at, OutboundMessage.kind, OutboundMessage.status]
    if reveal:
        inbound_columns.append(InboundMessage.body_enc)
        outbound_columns.append(OutboundMessage.body_enc)
    rows = [
        Message(row[0], "in", row[1] or "", "received", row[2] if reveal else None)
        for row in session.execute(
            select(*inbound_columns)
            .where(InboundMessage.member_id == member_id)
            .order_by(InboundMessage.received_at.desc())
            .limit(MESSAGES_SHOWN)
        )
    ]
    rows += [
        Message(row[0], "out", row[1], row[2], row[3] if reveal else None)
        for row in session.execute(
            select(*outbound_columns)
            .where(OutboundMessage.member_id == member_id)
            .order_by(OutboundMessage.created_at.desc())
            .limit(MESSAGES_SHOWN)
        )
    ]
    rows.sort(key=lambda message: message.at, reverse=True)
    return rows[:MESSAGES_SHOWN]


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class History:
    days: int
    checked_in: int  # days with an answered check-in
    asked: int  # days a check-in was asked and not answered
    chart: charts.Chart


def checkin_history(session: Session, member: Member, days: int, now: datetime) -> History:
    """The last `days` local days of the member: a full bar for a day checked in (a saved
    check-in), a short quiet bar for a day a check-in was asked and not answered, nothing for a
    day without one. Only times are read, never the answers."""
    zone = _zone(member.timezone)
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    since = datetime(first.year, first.month, first.day, tzinfo=zone) - timedelta(days=1)
    answered = {
        at.astimezone(zone).date()
        for at in session.scalars(
            select(CheckinRecord.created_at).where(
                CheckinRecord.member_id == member.id, CheckinRecord.created_at >= since
            )
        )
    }
    asked = {
        at.astimezone(zone).date()
        for at in session.scalars(
            select(Conversation.started_at).where(
                Conversation.member_id == member.id,
                Conversation.flow_name == CHECKIN_FLOW,
                Conversation.status != "active",  # one still open may yet be answered
                Conversation.started_at >= since,
            )
        )
    }
    groups = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        label = day.strftime("%b %-d")
        if day in answered:
            bar = charts.Series(1, "answered", f"{label}: checked in")
        elif day in asked:
            bar = charts.Series(0.25, "asked", f"{label}: check-in sent, no answer")
        else:
            bar = charts.Series(0, "none", f"{label}: no check-in")
        step = 7 if days <= 31 else 14
        groups.append(charts.Group(label, (bar,), show_label=(days - 1 - offset) % step == 0))
    in_window = {day for day in answered if first <= day <= today}
    not_answered = {day for day in asked if first <= day <= today} - in_window
    return History(
        days=days,
        checked_in=len(in_window),
        asked=len(not_answered),
        chart=charts.bar_chart(groups, top_value=1),
    )


def _member(member_id: int) -> Member:
    member = db.get_session().scalar(
        select(Member).options(defer(Member.phone_enc)).where(Member.id == member_id)
    )
    if member is None or member.status == "erased":  # an erased member is no one: 404 alike
        abort(404)
    return member


def _page(member: Member, *, revealed: bool, reveal_error: str | None = None) -> str:
    session = db.get_session()
    now = utcnow()
    days = request.args.get("days", type=int)
    days = days if days in HISTORY_DAYS else HISTORY_DAYS[0]
    consents = session.scalars(
        select(Consent)
        .where(or_(Consent.member_id == member.id, Consent.phone_hash == member.phone_hash))
        .order_by(Consent.at.desc(), Consent.id.desc())
        .limit(ROWS_SHOWN)
    ).all()
    subscriptions = session.execute(
        select(MeetingSubscription, Meeting.name)
        .join(Meeting, Meeting.id == MeetingSubscription.meeting_id)
        .where(MeetingSubscription.member_id == member.id)
        .order_by(MeetingSubscription.ended_at.is_not(None), MeetingSubscription.created_at.desc())
        .limit(ROWS_SHOWN)
    ).all()
    pairings = session.execute(
        select(Pairing, Supporter.name)
        .join(Supporter, Supporter.id == Pairing.supporter_id)
        .where(Pairing.member_id == member.id)
        .order_by(Pairing.started_at.desc())
        .limit(ROWS_SHOWN)
    ).all()
    requests = session.execute(
        select(PeerRequest, Supporter.name)
        .outerjoin(Offer, (Offer.request_id == PeerRequest.id) & (Offer.status == "won"))
        .outerjoin(Supporter, Supporter.id == Offer.supporter_id)
        .options(defer(PeerRequest.voicemail_enc))
        .where(PeerRequest.member_id == member.id)
        .order_by(PeerRequest.created_at.desc())
        .limit(ROWS_SHOWN)
    ).all()
    conversations = session.scalars(
        select(Conversation)
        .options(defer(Conversation.answers_enc))
        .where(Conversation.member_id == member.id)
        .order_by(Conversation.started_at.desc())
        .limit(ROWS_SHOWN)
    ).all()
    return render_template(
        "admin/member.html",
        member=member,
        name=member.nickname or f"Member #{member.id}",
        history=checkin_history(session, member, days, now),
        history_days=HISTORY_DAYS,
        consents=consents,
        subscriptions=subscriptions,
        pairings=pairings,
        requests=requests,
        conversations=conversations,
        messages=_messages(session, member.id, revealed),
        revealed=revealed,
        reveal_error=reveal_error,
        can_reveal=current_user.can("coordinator"),
    )


def _audit_view(session: Session, member: Member, reason: str | None) -> None:
    audit.record(
        session,
        actor=_actor(),
        action="member.view",
        subject_type="member",
        subject_id=member.id,
        reason=reason,
    )


@bp.get("/members/<int:member_id>")
@requires("viewer")
def member(member_id: int) -> str:
    """A member's page; the view is audited (with the reason, when one is given)."""
    found = _member(member_id)
    session = db.get_session()
    reason = request.args.get("reason", "").strip()[:MAX_REASON] or None
    _audit_view(session, found, reason)
    session.commit()
    return _page(found, revealed=False)


@bp.post("/members/<int:member_id>/reveal")
@requires("coordinator")
def reveal(member_id: int) -> tuple[str, int] | str:
    """The member's page with the message bodies shown, for this response only: a coordinator
    gives a reason, which the audit log keeps with who asked and when."""
    found = _member(member_id)
    session = db.get_session()
    reason = request.form.get("reason", "").strip()
    if not reason:
        _audit_view(session, found, None)
        session.commit()
        error = "Say why you need to see the messages."
        return _page(found, revealed=False, reveal_error=error), 400
    reason = reason[:MAX_REASON]
    _audit_view(session, found, reason)
    audit.record(
        session,
        actor=_actor(),
        action="message.reveal",
        subject_type="member",
        subject_id=found.id,
        reason=reason,
        details={"shown": MESSAGES_SHOWN},
    )
    session.commit()
    return _page(found, revealed=True)
