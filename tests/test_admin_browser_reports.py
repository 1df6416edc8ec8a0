"""Reports, announcements and the admin's phone simulator in a real browser: the report of a month
with its small-cell note, an announcement previewed then confirmed, a simulated text answered;
no CSP violation or script error on any of them. Screenshots go to tests/artifacts/."""

# ruff: noqa: F811  (the browser fixtures are imported from tests.test_admin_browser)

from __future__ import annotations

import pytest
from sqlalchemy import select

from smsline import announcements, create_app
from smsline.models import Announcement, Consent, OutboundMessage
from tests.factories import create_line_number, create_member
from tests.test_admin_browser import (  # noqa: F401 - fixtures
    browser,
    live,
    log_in,
    page,
    shot,
    site,
)


@pytest.fixture
def app(config, transport):  # noqa: ANN001, ANN201
    """Plain http on 127.0.0.1 and no Twilio: the local transport, where the simulator may run."""
    local = config.with_(public_url=None, twilio_account_sid=None, twilio_auth_token=None)
    app = create_app(local, transport=transport)
    app.config["TESTING"] = True
    yield app
    app.extensions["smsline"].close()


def test_the_monthly_report(page, site, line) -> None:  # noqa: ANN001
    log_in(page, site, line, "viewer")
    page.goto(f"{site}/admin/reports?month=2026-03")
    assert page.get_by_role("heading", name="Monthly report: 2026-03").is_visible()
    assert page.get_by_text("Small numbers are hidden.").is_visible()
    assert page.get_by_role("link", name="Download CSV").get_attribute("href") == (
        "/admin/reports/2026-03.csv"
    )
    shot(page, "reports")


def test_an_announcement_previewed_then_confirmed(page, site, line, session, transport) -> None:  # noqa: ANN001
    create_line_number(session)
    members = []
    for nickname in ("Ana", "Ben"):
        member = create_member(
            session, nickname=nickname, status="active", texting_from="00:00", texting_until="00:00"
        )
        members.append(member)
        session.add(
            Consent(
                phone_hash=member.phone_hash,
                member_id=member.id,
                purpose=announcements.PURPOSE,
                granted=True,
                wording="News from the line",
                channel="sms",
                recorded_by="member",
            )
        )
    session.commit()
    log_in(page, site, line, "coordinator")
    page.goto(f"{site}/admin/announcements")
    page.get_by_label("English text (required)").fill(
        "The line is closed on Thanksgiving Day. We're back Friday at 9am. Take care."
    )
    page.get_by_label("Spanish text").fill("La línea cierra el Día de Acción de Gracias.")
    page.get_by_role("button", name="Preview").click()
    page.get_by_text("This goes to 2 members who agreed to announcements.").wait_for()
    shot(page, "announcement-preview")
    page.get_by_role("button", name="Send to 2 members").click()
    page.get_by_text("Sending to 2 members.").wait_for()
    session.rollback()
    assert session.scalar(select(Announcement.status)) == "sent"
    # One outbox row each (sent at once in-process; with Redis a worker sends them).
    rows = session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "announcement"))
    assert sorted(row.member_id for row in rows) == sorted(m.id for m in members)
    if line.queues.in_process:
        assert len(transport.sent) == 2


def test_the_simulator_under_the_admin(page, site, line, session) -> None:  # noqa: ANN001
    create_line_number(session)
    log_in(page, site, line, "coordinator")
    page.goto(f"{site}/admin/simulator")
    phone = page.locator("[data-phone]").first
    phone.locator("textarea").fill("hi")
    phone.get_by_role("button", name="Send").click()
    phone.locator("[data-thread] li").nth(1).wait_for()  # the text and the line's answer
    shot(page, "admin-simulator")
