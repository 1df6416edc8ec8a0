"""/admin/: the dashboard's figures on known data (check-ins per day, peer request waits with their
median and 90th percentile, failures by error code, the outbox backlog) and the follow-up queue,
where taking and resolving an item is audited and a viewer changes nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from smsline.models import (
    AuditEntry,
    CheckinRecord,
    FollowUp,
    OutboundCall,
    OutboundMessage,
    PeerRequest,
    utcnow,
)
from smsline.web.admin import charts, figures
from tests.admin_support import logged_in
from tests.factories import create_member


def outbound(session, member, **fields) -> OutboundMessage:  # noqa: ANN001
    row = OutboundMessage(
        to_hash=member.phone_hash, to_enc=member.phone, body_enc="text", member_id=member.id
    )
    for name, value in {"kind": "reply", **fields}.items():
        setattr(row, name, value)
    session.add(row)
    return row


def test_percentile_interpolates_between_ranks() -> None:
    assert figures.percentile([], 0.5) is None
    assert figures.percentile([7], 0.9) == 7
    assert figures.percentile([10, 1, 3, 2], 0.5) == 2.5
    assert figures.percentile([1, 2, 3, 10], 0.9) == pytest.approx(7.9)


def test_members_active_and_risk_flags(session) -> None:  # noqa: ANN001
    for status in ("active", "active", "paused", "new", "erased"):
        create_member(session, status=status)
    member = create_member(session, status="active")
    session.add_all(
        [
            FollowUp(kind="risk", member_id=member.id),
            FollowUp(kind="risk", member_id=member.id, resolved_at=utcnow()),
            FollowUp(kind="crisis", member_id=member.id),
        ]
    )
    session.commit()
    assert figures.members_active(session) == 4
    assert figures.risk_flags_open(session) == 1


def test_checkins_sent_and_answered_per_day(client, line, session) -> None:  # noqa: ANN001
    now = utcnow()
    today = now.replace(hour=0, minute=0, second=1, microsecond=0)
    yesterday = today - timedelta(days=1)
    ana, ben, cal = (create_member(session, status="active") for _ in range(3))
    for member, at in ((ana, today), (ana, today), (ben, today), (ana, yesterday)):
        outbound(session, member, kind="checkin", queue="bulk", created_at=at)
    outbound(session, cal, kind="checkin", status="suppressed", created_at=today)
    outbound(session, cal, kind="reply", created_at=today)
    session.add(
        OutboundCall(member_id=cal.id, to_hash=cal.phone_hash, to_enc=cal.phone, created_at=today)
    )
    session.add(CheckinRecord(member_id=ana.id, answers_enc="{}", created_at=today))
    session.add(CheckinRecord(member_id=ana.id, answers_enc="{}", created_at=today))
    session.add(
        CheckinRecord(member_id=ana.id, answers_enc="{}", created_at=today - timedelta(days=20))
    )
    session.commit()
    days = figures.checkins_by_day(session, now)
    assert len(days) == 14 and days[-1].day == now.date()
    assert (days[-1].sent, days[-1].answered) == (3, 1)
    assert (days[-2].sent, days[-2].answered) == (1, 0)
    assert sum(day.sent for day in days) == 4 and sum(day.answered for day in days) == 1
    logged_in(client, line, "viewer")
    page = client.get("/admin/").get_data(as_text=True)
    sent = re.findall(r'<rect class="bar sent"[^>]*height="([\d.]+)"', page)
    answered = re.findall(r'<rect class="bar answered"[^>]*height="([\d.]+)"', page)
    assert [float(h) for h in sent] == [charts.PLOT_HEIGHT / 3, charts.PLOT_HEIGHT]
    assert [float(h) for h in answered] == [charts.PLOT_HEIGHT / 3]
    assert f"<td>{now.date().isoformat()}</td><td>3</td><td>1</td>" in page


def test_peer_requests_and_time_to_a_yes(client, line, session) -> None:  # noqa: ANN001
    member = create_member(session, status="active")
    now = utcnow()
    for minutes in (1, 2, 3, 10):
        asked = now - timedelta(hours=minutes)
        session.add(
            PeerRequest(
                member_id=member.id,
                source="keyword",
                status="paired",
                created_at=asked,
                closed_at=asked + timedelta(minutes=minutes),
            )
        )
    old = now - timedelta(days=40)
    session.add(
        PeerRequest(
            member_id=member.id,
            source="keyword",
            status="paired",
            created_at=old,
            closed_at=old + timedelta(minutes=500),
        )
    )
    session.add(PeerRequest(member_id=member.id, source="checkin", status="unmet"))
    session.add(PeerRequest(member_id=member.id, source="crisis", status="open"))
    session.commit()
    peers = figures.peer_requests(session, now)
    assert peers.by_status == {"paired": 4, "unmet": 1, "open": 1} and peers.total == 6
    assert peers.accepted == 4
    assert peers.median_minutes == pytest.approx(2.5)
    assert peers.p90_minutes == pytest.approx(7.9)
    logged_in(client, line, "viewer")
    page = client.get("/admin/").get_data(as_text=True)
    assert '<dd id="peer-median">2.5 min</dd>' in page
    assert '<dd id="peer-p90">7.9 min</dd>' in page


def test_delivery_failures_by_error_code(client, line, session) -> None:  # noqa: ANN001
    member = create_member(session, status="active")
    now = utcnow()
    for status, code, days_ago in (
        ("failed", 30003, 1),
        ("undelivered", 30003, 2),
        ("undelivered", 30006, 0),
        ("failed", None, 0),
        ("failed", 30005, 8),  # older than a week
        ("delivered", None, 0),
    ):
        at = now - timedelta(days=days_ago)
        outbound(session, member, status=status, error_code=code, created_at=at, status_at=at)
    session.commit()
    assert figures.delivery_failures(session, now) == [(30003, 2), (30006, 1), (None, 1)]
    logged_in(client, line, "viewer")
    page = client.get("/admin/").get_data(as_text=True)
    table = page[page.index('<table id="failures">') :]
    table = table[: table.index("</table>")]
    assert "30003" in table and "30006" in table and "30005" not in table
    assert "<td>no code</td><td>1</td>" in table


def test_outbox_backlog_and_its_oldest_due_row(client, line, session) -> None:  # noqa: ANN001
    member = create_member(session, status="active")
    now = utcnow()
    outbound(session, member, status="pending", created_at=now - timedelta(minutes=10))
    outbound(session, member, status="queued", created_at=now - timedelta(minutes=3))
    outbound(
        session,
        member,
        status="queued",
        created_at=now - timedelta(hours=5),
        next_attempt_at=now + timedelta(hours=1),  # quiet hours: not due yet
    )
    outbound(session, member, status="sent", created_at=now - timedelta(days=1))
    session.commit()
    backlog = figures.outbox_backlog(session, now)
    assert (backlog.waiting, backlog.due) == (3, 2)
    assert backlog.oldest_age(now) == pytest.approx(timedelta(minutes=10), abs=timedelta(seconds=1))
    logged_in(client, line, "viewer")
    page = client.get("/admin/").get_data(as_text=True)
    assert '<dd id="oldest-due">10 min</dd>' in page
    assert "none: jobs run in-process" in page


def followup_rows(session) -> list[FollowUp]:  # noqa: ANN001
    session.rollback()
    session.expire_all()
    return list(session.scalars(select(FollowUp).order_by(FollowUp.id)))


def test_take_and_resolve_a_follow_up_audited(client, line, session) -> None:  # noqa: ANN001
    member = create_member(session, nickname="Rosa", status="active")
    crisis = FollowUp(kind="crisis", member_id=member.id)
    quiet = FollowUp(kind="outreach", member_id=member.id)
    session.add_all([crisis, quiet])
    session.commit()
    token = logged_in(client, line, "coordinator")
    page = client.get("/admin/").get_data(as_text=True)
    assert "Crisis page" in page and "Missed check-ins" in page and "Rosa" in page
    assert page.count("I&#39;ll take it") == 2 or page.count("I'll take it") == 2
    response = client.post(f"/admin/followups/{crisis.id}/take", data={"csrf_token": token})
    assert response.status_code == 302
    taken = followup_rows(session)[0]
    assert taken.taken_by == "admin:coordinator@example.org" and taken.taken_at is not None
    page = client.get("/admin/").get_data(as_text=True)
    assert "coordinator@example.org <span" in page
    response = client.post(f"/admin/followups/{crisis.id}/resolve", data={"csrf_token": token})
    assert response.status_code == 302
    resolved = followup_rows(session)[0]
    assert resolved.resolved_by == "admin:coordinator@example.org" and resolved.resolved_at
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action.like("followup.%")).order_by(AuditEntry.id)
    ).all()
    assert [(e.action, e.actor, e.subject_id) for e in entries] == [
        ("followup.take", "admin:coordinator@example.org", crisis.id),
        ("followup.resolve", "admin:coordinator@example.org", crisis.id),
    ]
    page = client.get("/admin/").get_data(as_text=True)
    assert "Crisis page" not in page and "Missed check-ins" in page
    assert client.post("/admin/followups/99999/take", data={"csrf_token": token}).status_code == 404


def test_a_viewer_cannot_take_or_resolve(client, line, session) -> None:  # noqa: ANN001
    member = create_member(session, nickname="Rosa", status="active")
    item = FollowUp(kind="risk", member_id=member.id)
    session.add(item)
    session.commit()
    token = logged_in(client, line, "viewer")
    page = client.get("/admin/").get_data(as_text=True)
    assert "Hard day flagged" in page and "take it" not in page
    for action in ("take", "resolve"):
        response = client.post(f"/admin/followups/{item.id}/{action}", data={"csrf_token": token})
        assert response.status_code == 403
    (row,) = followup_rows(session)
    assert row.taken_by is None and row.resolved_at is None
    assert session.scalar(select(AuditEntry).where(AuditEntry.action.like("followup.%"))) is None
