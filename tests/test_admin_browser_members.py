"""The dashboard and a member's page in a real browser: view the dashboard (its chart, figures and
follow-up queue, taking an item), find a member and see their check-in chart, with no phone number
on either page and no CSP violation. Screenshots go to tests/artifacts/."""

from __future__ import annotations

from datetime import timedelta

from smsline.models import CheckinRecord, FollowUp, OutboundMessage, utcnow
from tests.factories import create_member
from tests.test_admin_browser import (  # noqa: F401 - fixtures
    app,
    browser,
    live,
    log_in,
    page,
    shot,
    site,
)

NUMBER = "+12015550188"


def seed(line) -> int:  # noqa: ANN001
    """A member with a few check-ins over the last two weeks and an open follow-up."""
    with line.sessions() as session:
        member = create_member(
            session, NUMBER, nickname="Rosa", status="active", timezone="UTC", checkin_time="09:00"
        )
        now = utcnow()
        for days_ago in (0, 1, 2, 4, 5, 8, 9, 12):
            at = now - timedelta(days=days_ago, minutes=5)
            session.add(
                OutboundMessage(
                    to_hash=member.phone_hash,
                    to_enc=member.phone,
                    body_enc="How are you today?",
                    kind="checkin",
                    status="delivered",
                    member_id=member.id,
                    created_at=at,
                )
            )
            if days_ago % 4:
                session.add(CheckinRecord(member_id=member.id, answers_enc="{}", created_at=at))
        session.add(FollowUp(kind="risk", member_id=member.id, created_at=now))
        session.commit()
        return member.id


def test_view_the_dashboard(page, site, line) -> None:  # noqa: ANN001, F811
    seed(line)
    log_in(page, site, line, "coordinator")
    page.goto(f"{site}/admin/")
    page.get_by_role("heading", name="Dashboard", exact=True).wait_for()
    assert page.locator("#members-active .figure").inner_text() == "1"
    assert page.locator("#risk-open .figure").inner_text() == "1"
    chart = page.get_by_role("img", name="Check-ins sent and answered per day")
    assert chart.is_visible() and chart.bounding_box()["height"] > 50
    assert page.locator("#checkins-chart rect.bar.sent").count() == 8
    assert page.locator("#checkins-chart rect.bar.answered").count() == 4
    assert "Hard day flagged at a check-in" in page.locator("#followups").inner_text()
    assert "0188" not in page.content()
    shot(page, "dashboard")
    page.get_by_role("button", name="I'll take it").click()
    page.get_by_text("You took follow-up").wait_for()
    assert "coordinator@example.org" in page.locator("#followups").inner_text()


def test_a_member_page_with_its_chart(page, site, line) -> None:  # noqa: ANN001, F811
    seed(line)
    log_in(page, site, line, "viewer")
    page.goto(f"{site}/admin/members")
    page.get_by_label("Nickname or phone number").fill("(201) 555-0188")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Rosa").click()
    page.get_by_role("heading", name="Rosa").wait_for()
    chart = page.get_by_role("img", name="Days checked in, last 30 days")
    assert chart.is_visible()
    assert page.locator("#checkin-chart rect.bar.answered").count() == 4
    assert "4 days checked in" in page.locator("#history-summary").inner_text()
    assert page.locator("#messages .hidden-body").count() == 8
    assert "How are you today" not in page.content() and "0188" not in page.content()
    assert page.get_by_role("button", name="Show the messages").count() == 0
    shot(page, "member")
