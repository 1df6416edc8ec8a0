"""The roster, meetings and settings pages in a real browser: the week view with a gap highlighted,
a supporter's calendar link shown once, a meeting source re-imported with its skipped record, a bad
setting refused with the reason; no phone number on any of them and no CSP violation. Screenshots
go to tests/artifacts/."""

# ruff: noqa: F811  (the browser fixtures are imported from tests.test_admin_browser)

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from smsline.models import MeetingSource
from tests.factories import create_shift, create_supporter
from tests.test_admin_browser import (  # noqa: F401 - fixtures
    app,
    browser,
    live,
    log_in,
    page,
    shot,
    site,
)

NUMBER = "+12015550166"
WEEK = "2027-06-07"
FEEDS = Path(__file__).parent / "meeting_feeds"


def test_roster_meetings_and_settings_pages(page, site, line, tmp_path) -> None:  # noqa: ANN001
    feed = tmp_path / "springfield.json"
    shutil.copy(FEEDS / "meeting_guide.json", feed)
    with line.sessions() as session:
        ana = create_supporter(session, NUMBER, name="Ana", timezone="America/New_York")
        ben = create_supporter(session, name="Ben", timezone="America/Chicago")
        create_shift(session, ana, days="weekdays", starts="09:00", ends="17:00",
                     timezone="America/New_York", first_day=date(2027, 6, 1))  # fmt: skip
        create_shift(session, ben, tier="backup", first_day=date(2027, 6, 1))
        session.add(MeetingSource(name="Springfield", url=str(feed), timezone="America/Chicago"))
        session.commit()
        ana_id = ana.id
    log_in(page, site, line, "admin")

    page.goto(f"{site}/admin/roster?tz=America/New_York&week={WEEK}")
    page.get_by_role("heading", name="Week of Jun 7, 2027").wait_for()
    gap = page.locator("table.week tbody tr").nth(17).locator("td").first  # Monday 17:00
    assert "gap" in gap.get_attribute("class")
    assert page.locator("table.week td.covered", has_text="Ana").count() == 5 * 8
    shot(page, "roster-week")

    page.goto(f"{site}/admin/roster/supporters/{ana_id}")
    page.get_by_role("button", name="Calendar link").click()
    link = page.get_by_role("textbox", name="Calendar link").input_value()
    assert link.startswith(site + "/admin/calendar/") and link.endswith(".ics")
    shot(page, "roster-supporter")
    assert "BEGIN:VCALENDAR" in page.request.get(link).text()

    page.goto(f"{site}/admin/meetings")
    page.get_by_role("button", name="Re-import Springfield now").click()
    page.get_by_text("Springfield re-imported: 6 imported").wait_for()
    page.get_by_role("cell", name="basement-group").wait_for()
    shot(page, "meetings")

    page.goto(f"{site}/admin/settings")
    field = page.locator("#v-quiet_hours_start")
    field.fill("late")
    page.get_by_role("button", name="Save quiet_hours_start").click()
    page.get_by_text("expected a time of day as HH:MM").wait_for()
    shot(page, "settings")

    for url in ("/admin/roster", "/admin/roster/supporters", f"/admin/roster/supporters/{ana_id}"):
        assert "5550166" not in page.request.get(site + url).text()
