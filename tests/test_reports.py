"""The monthly report: figures on seeded data, months in the line's time zone, small cells
suppressed, the CSV, and that nothing about a person (nickname, phone) appears."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from smsline import reports
from smsline.models import (
    CheckinRecord,
    Conversation,
    InboundMessage,
    OutboundMessage,
    Pairing,
    PeerRequest,
)
from tests.admin_support import logged_in
from tests.factories import create_member, create_supporter, message_sid

MARCH = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def inbound(session, member, at: datetime, route: str = "conversation") -> None:  # noqa: ANN001
    session.add(
        InboundMessage(
            message_sid=message_sid(),
            from_hash=member.phone_hash,
            from_enc=member.phone,
            to_number="+15005550006",
            body_enc="hello",
            member_id=member.id,
            route=route,
            received_at=at,
        )
    )


def outbound(session, member, at: datetime, kind: str = "reply", status: str = "delivered") -> None:  # noqa: ANN001
    session.add(
        OutboundMessage(
            to_hash=member.phone_hash,
            to_enc=member.phone,
            body_enc="hi",
            kind=kind,
            status=status,
            member_id=member.id,
            created_at=at,
        )
    )


def seed(session) -> list:  # noqa: ANN001
    """Eight members who joined in March (two more joined in February), with a month of use."""
    members = [
        create_member(session, nickname=f"Nick{n}", status="active", created_at=MARCH)
        for n in range(8)
    ]
    old = [
        create_member(
            session, nickname="Early", status="active", created_at=MARCH - timedelta(days=30)
        )
        for _ in range(2)
    ]
    everyone = members + old
    for person in everyone:  # everyone texts in March: 10 active
        inbound(session, person, MARCH)
    # check-ins: 6 members get one a day for 7 days and answer all; 4 get one and do not answer
    for person in everyone[:6]:
        for day in range(7):
            at = MARCH + timedelta(days=day)
            outbound(session, person, at, kind="checkin")
            outbound(
                session, person, at + timedelta(minutes=1), kind="checkin"
            )  # 2 texts, 1 check-in
            session.add(CheckinRecord(member_id=person.id, answers_enc="{}", created_at=at))
    for person in everyone[6:]:
        outbound(session, person, MARCH, kind="checkin")
    outbound(session, everyone[9], MARCH, kind="checkin", status="suppressed")  # never sent
    # peer requests: 6, of which 5 accepted after 2, 4, 6, 8, 10 minutes
    supporter = create_supporter(session, name="Jordan")
    for n, person in enumerate(everyone[:6]):
        request = PeerRequest(member_id=person.id, source="keyword", created_at=MARCH)
        session.add(request)
        session.flush()
        if n < 5:
            request.status = "paired"
            session.add(
                Pairing(
                    member_id=person.id,
                    supporter_id=supporter.id,
                    request_id=request.id,
                    started_at=MARCH + timedelta(minutes=2 * (n + 1)),
                )
            )
    # 3 crisis texts (suppressed as <5), 2 opt-outs, 7 meeting searches, 12 reminders
    for person in everyone[:3]:
        inbound(session, person, MARCH, route="crisis")
    for person in everyone[8:]:
        inbound(session, person, MARCH, route="stop")
    for person in everyone[:7]:
        session.add(
            Conversation(member_id=person.id, flow_name="meetings", state="ask", started_at=MARCH)
        )
    for person in everyone[:6]:
        outbound(session, person, MARCH, kind="reminder", status="delivered")
        outbound(session, person, MARCH, kind="reminder", status="undelivered")
    # April, and the last evening of March in New York (already April in UTC), for the bounds
    inbound(session, everyone[0], datetime(2026, 4, 1, 2, 0, tzinfo=UTC))  # March 31, 10pm EDT
    inbound(session, everyone[0], datetime(2026, 4, 2, 12, 0, tzinfo=UTC))
    session.commit()
    return everyone


def values(report: reports.Report) -> dict[str, str]:
    return {figure.key: figure.value for figure in report.figures}


def test_the_figures_of_a_month(session) -> None:  # noqa: ANN001
    seed(session)
    report = reports.monthly(session, "2026-03")
    assert report.timezone == "America/New_York"
    assert report.starts == datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
    assert report.ends == datetime(2026, 4, 1, 4, 0, tzinfo=UTC)  # daylight saving began
    assert values(report) == {
        "new_members": "8",
        "active_members": "10",
        "checkins_sent": "46",  # 6 x 7 days + 4
        "checkins_answered": "42",
        "checkin_answer_rate": reports.NOT_SHOWN,  # 4 unanswered: a small cell
        "streak_members": "6",
        "peer_requests": "6",
        "peer_accepted": "5",
        "peer_acceptance_rate": reports.NOT_SHOWN,  # 1 not accepted: a small cell
        "median_time_to_acceptance": "6 min",
        "crisis_texts": "<5",
        "meeting_searches": "7",
        "meeting_reminders_sent": "12",
        "opt_outs": "<5",
        "texts_in": "16",  # 10 + 3 crisis + 2 stop + March 31 in New York
        "texts_out": "100",  # 6x7x2 + 4 check-in texts + 12 reminders (not the suppressed one)
        "delivery_failure_rate": "6%",  # 6 undelivered of 100
    }
    assert values(reports.monthly(session, "2026-04"))["texts_in"] == "<5"
    assert values(reports.monthly(session, "2026-02"))["new_members"] == "<5"


def test_small_cells() -> None:
    assert [reports.count_text(n) for n in (0, 1, 4, 5, 1234)] == ["0", "<5", "<5", "5", "1,234"]
    assert reports.rate_text(50, 100) == "50%"
    assert reports.rate_text(3, 100) == reports.NOT_SHOWN  # the count
    assert reports.rate_text(97, 100) == reports.NOT_SHOWN  # the difference gives it away
    assert reports.rate_text(3, 4) == reports.NOT_SHOWN
    assert reports.rate_text(0, 0) == "—"
    assert reports.median_text([1, 2, 3, 4]) == reports.NOT_SHOWN
    assert reports.median_text([10, 20, 30, 40, 50]) == "30 min"
    assert reports.median_text([90] * 5) == "1.5 h"


def test_last_month_in_the_lines_time_zone(session) -> None:  # noqa: ANN001
    # 1 December 03:00 UTC is still 30 November in New York: last month is October
    assert reports.default_month(session, datetime(2026, 12, 1, 3, 0, tzinfo=UTC)) == "2026-10"
    assert reports.default_month(session, datetime(2026, 12, 1, 6, 0, tzinfo=UTC)) == "2026-11"
    assert reports.default_month(session, datetime(2026, 1, 15, tzinfo=UTC)) == "2025-12"


def test_the_page_and_the_csv_show_no_person(client, line, session) -> None:  # noqa: ANN001
    everyone = seed(session)
    logged_in(client, line, "viewer")  # viewers may read the report
    page = client.get("/admin/reports?month=2026-03")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Monthly report: 2026-03" in html
    assert "any count from 1 to 4 is shown as “&lt;5”" in html
    assert '<td class="num">&lt;5</td>' in html
    assert 'href="/admin/reports/2026-03.csv"' in html
    response = client.get("/admin/reports/2026-03.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="smsline-report-2026-03.csv"'
    )
    text = response.get_data(as_text=True)
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["month", "metric", "label", "value"]
    assert ["2026-03", "crisis_texts", "Crisis texts", "<5"] in table
    assert ["2026-03", "new_members", "New members", "8"] in table
    assert len(table) == 1 + len(reports.monthly(session, "2026-03").figures)
    for person in everyone:
        for shown in (html, text):
            assert person.nickname not in shown
            assert person.phone not in shown and person.phone[2:] not in shown
    assert "Jordan" not in html + text


def test_the_default_month_and_a_bad_one(client, line) -> None:  # noqa: ANN001
    logged_in(client, line, "viewer")
    html = client.get("/admin/reports").get_data(as_text=True)
    assert "Monthly report: 20" in html
    assert client.get("/admin/reports?month=2026-13").status_code == 404
    assert client.get("/admin/reports/nonsense.csv").status_code == 404


def test_logged_out_no_report(client) -> None:  # noqa: ANN001
    assert client.get("/admin/reports").status_code == 302
    assert client.get("/admin/reports/2026-03.csv").status_code == 302
