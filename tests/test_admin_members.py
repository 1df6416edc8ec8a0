"""/admin/members: search by nickname or exact number (never showing it), the member's page with
its check-in chart, every view audited, message bodies hidden unless a coordinator reveals them
with a reason."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from smsline.models import (
    AuditEntry,
    CheckinRecord,
    Consent,
    Conversation,
    InboundMessage,
    Meeting,
    MeetingSource,
    MeetingSubscription,
    OutboundMessage,
    Pairing,
    utcnow,
)
from smsline.web.admin import charts
from smsline.web.admin.members import looks_like_phone
from tests.admin_support import logged_in
from tests.factories import create_member, create_supporter, message_sid

NUMBER = "+12015550123"
SECRET_IN = "my private words about a hard night"
SECRET_OUT = "we are glad you wrote back"


def audits(session, action: str) -> list[AuditEntry]:  # noqa: ANN001
    session.rollback()
    session.expire_all()
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def with_messages(session, member) -> None:  # noqa: ANN001
    session.add(
        InboundMessage(
            message_sid=message_sid(),
            from_hash=member.phone_hash,
            from_enc=member.phone,
            to_number="+15005550006",
            body_enc=SECRET_IN,
            member_id=member.id,
            route="conversation",
        )
    )
    session.add(
        OutboundMessage(
            to_hash=member.phone_hash,
            to_enc=member.phone,
            body_enc=SECRET_OUT,
            kind="reply",
            status="delivered",
            member_id=member.id,
        )
    )
    session.commit()


def bars(page: str, css: str) -> list[float]:
    """The heights of the chart's bars of class `css`."""
    return [
        float(height)
        for height in re.findall(rf'<rect class="bar {css}"[^>]*height="([\d.]+)"', page)
    ]


def test_a_phone_number_is_told_from_a_nickname() -> None:
    assert looks_like_phone("(201) 555-0123") and looks_like_phone("+1 201 555 0123")
    assert (
        not looks_like_phone("Rosa") and not looks_like_phone("R2D2") and not looks_like_phone("12")
    )


def test_search_by_part_of_a_nickname_in_any_case(client, line, session) -> None:  # noqa: ANN001
    rosa = create_member(session, nickname="Rosa", status="active", language="es")
    create_member(session, nickname="rosalind", status="paused")
    create_member(session, nickname="Tom", status="active")
    create_member(session, nickname="100%_sure")
    logged_in(client, line, "viewer")
    page = client.get("/admin/members?q=ROS").get_data(as_text=True)
    assert "Rosa" in page and "rosalind" in page and "Tom" not in page
    assert f'href="/admin/members/{rosa.id}"' in page and "es" in page
    assert rosa.created_at.strftime("%Y-%m-%d") in page
    page = client.get("/admin/members?q=%25_").get_data(as_text=True)  # no wildcards: literal
    assert "100%_sure" in page and "Rosa" not in page
    assert "No member" in client.get("/admin/members?q=zzz").get_data(as_text=True)


def test_search_by_exact_number_never_shows_it(client, line, session) -> None:  # noqa: ANN001
    member = create_member(session, NUMBER, nickname="Rosa", status="active")
    create_member(session, "+12015550124", nickname="Other")
    logged_in(client, line, "viewer")
    page = client.get("/admin/members", query_string={"q": "(201) 555-0123"}).get_data(as_text=True)
    assert f'href="/admin/members/{member.id}"' in page and "Other" not in page
    for digits in ("2015550123", "555-0123", "5550123", "555 0123"):
        assert digits not in page
    page = client.get("/admin/members", query_string={"q": "201-555-0125"}).get_data(as_text=True)
    assert "No member has that number" in page and "Rosa" not in page
    assert "5550125" not in page and "555-0125" not in page
    searches = audits(session, "member.search_phone")
    assert [entry.details_json for entry in searches] == ['{"found": 1}', '{"found": 0}']
    assert all("555" not in (entry.details_json or "") for entry in searches)
    page = client.get(f"/admin/members/{member.id}").get_data(as_text=True)
    assert "5550123" not in page and "555-0123" not in page and "0123" not in page


def test_every_view_of_a_member_page_is_audited(client, line, session) -> None:  # noqa: ANN001
    member = create_member(session, nickname="Rosa", status="active")
    logged_in(client, line, "viewer")
    assert client.get(f"/admin/members/{member.id}").status_code == 200
    assert client.get(f"/admin/members/{member.id}?reason=callback").status_code == 200
    entries = audits(session, "member.view")
    assert [(e.actor, e.subject_type, e.subject_id, e.reason) for e in entries] == [
        ("admin:viewer@example.org", "member", member.id, None),
        ("admin:viewer@example.org", "member", member.id, "callback"),
    ]
    assert client.get("/admin/members/99999").status_code == 404
    assert len(audits(session, "member.view")) == 2


def test_bodies_are_hidden_without_a_reveal(client, line, session) -> None:  # noqa: ANN001
    member = create_member(session, nickname="Rosa", status="active")
    with_messages(session, member)
    logged_in(client, line, "coordinator")
    page = client.get(f"/admin/members/{member.id}").get_data(as_text=True)
    assert SECRET_IN not in page and SECRET_OUT not in page
    assert page.count('<span class="hidden-body">hidden</span>') == 2
    assert "from the member" in page and "to the member" in page and "delivered" in page
    assert "Show the messages" in page


def test_a_coordinator_reveals_with_a_reason_audited(client, line, session) -> None:  # noqa: ANN001
    member = create_member(session, nickname="Rosa", status="active")
    with_messages(session, member)
    token = logged_in(client, line, "coordinator")
    response = client.post(
        f"/admin/members/{member.id}/reveal", data={"csrf_token": token, "reason": "  "}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Say why" in page
    assert SECRET_IN not in page and audits(session, "message.reveal") == []
    response = client.post(
        f"/admin/members/{member.id}/reveal",
        data={"csrf_token": token, "reason": "member asked for a callback"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and SECRET_IN in page and SECRET_OUT in page
    (entry,) = audits(session, "message.reveal")
    assert (entry.actor, entry.subject_id, entry.reason) == (
        "admin:coordinator@example.org",
        member.id,
        "member asked for a callback",
    )
    assert SECRET_IN not in (entry.details_json or "")
    page = client.get(f"/admin/members/{member.id}").get_data(as_text=True)
    assert SECRET_IN not in page  # shown on that response only


def test_a_viewer_cannot_reveal(client, line, session) -> None:  # noqa: ANN001
    member = create_member(session, nickname="Rosa", status="active")
    with_messages(session, member)
    token = logged_in(client, line, "viewer")
    page = client.get(f"/admin/members/{member.id}").get_data(as_text=True)
    assert "Show the messages" not in page and "Only a coordinator" in page
    response = client.post(
        f"/admin/members/{member.id}/reveal", data={"csrf_token": token, "reason": "curious"}
    )
    assert response.status_code == 403
    assert SECRET_IN not in response.get_data(as_text=True)
    assert audits(session, "message.reveal") == []


def test_the_chart_has_a_bar_for_each_day_checked_in(client, line, session) -> None:  # noqa: ANN001
    member = create_member(session, nickname="Rosa", status="active", timezone="UTC")
    noon = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)
    if noon > utcnow():
        noon -= timedelta(days=1)
    for days_ago in (0, 2, 2, 5, 40):
        session.add(
            CheckinRecord(
                member_id=member.id, answers_enc="{}", created_at=noon - timedelta(days=days_ago)
            )
        )
    for days_ago in (3, 5):  # asked and not answered; day 5 was answered by another check-in
        session.add(
            Conversation(
                member_id=member.id,
                flow_name="checkin",
                state="mood",
                status="ended",
                ended_reason="expired",
                started_at=noon - timedelta(days=days_ago, hours=1),
            )
        )
    session.commit()
    logged_in(client, line, "viewer")
    page = client.get(f"/admin/members/{member.id}").get_data(as_text=True)
    assert bars(page, "answered") == [charts.PLOT_HEIGHT] * 3
    assert bars(page, "asked") == [charts.PLOT_HEIGHT / 4]
    assert "<strong>3</strong> days checked in, in the last 30 days" in page
    assert "missed" not in page.lower()
    page = client.get(f"/admin/members/{member.id}?days=90").get_data(as_text=True)
    assert bars(page, "answered") == [charts.PLOT_HEIGHT] * 4
    assert "<strong>4</strong> days checked in, in the last 90 days" in page
    assert "CheckinRecord" not in page and "{}" not in page  # never the answers


def test_consents_subscriptions_pairings_and_conversations(client, line, session) -> None:  # noqa: ANN001
    member = create_member(session, nickname="Rosa", status="active")
    supporter = create_supporter(session, name="Dana")
    source = MeetingSource(name="Local AA", url="file:///feed.json")
    session.add(source)
    session.flush()
    meeting = Meeting(
        source_id=source.id,
        slug="sunrise",
        name="Sunrise Group",
        days="1",
        time="07:00",
        end_time="08:00",
        timezone="America/Chicago",
        attendance="in_person",
    )
    session.add(meeting)
    session.flush()
    now = utcnow()
    session.add_all(
        [
            Consent(
                phone_hash=member.phone_hash,
                member_id=member.id,
                purpose="checkins",
                granted=True,
                wording="Reply YES to get a daily check-in <b>",
                channel="sms",
                recorded_by="line",
            ),
            MeetingSubscription(
                member_id=member.id, meeting_id=meeting.id, next_remind_at=now + timedelta(days=1)
            ),
            Pairing(member_id=member.id, supporter_id=supporter.id, started_at=now),
            Conversation(member_id=member.id, flow_name="meetings", state="pick", status="active"),
        ]
    )
    session.commit()
    logged_in(client, line, "viewer")
    page = client.get(f"/admin/members/{member.id}").get_data(as_text=True)
    assert "Reply YES to get a daily check-in &lt;b&gt;" in page  # the wording, escaped
    assert "Sunrise Group" in page and "60 min before" in page
    assert "Dana" in page and "meetings v1" in page and "pick" in page
