"""The admin's roster (smsline/web/admin/roster.py): the team added, edited and deactivated with
the same rules and audit as the CLI; a phone number typed once and never shown; a week of shifts
and overrides with the gaps highlighted; who is on call now; open requests and pairings without a
message; a secret calendar feed per supporter."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from sqlalchemy import select

from smsline import crypto
from smsline.models import AuditEntry, Offer, Override, Pairing, PeerRequest, Shift, Supporter
from tests.admin_support import csrf_token, logged_in
from tests.factories import create_member, create_shift, create_supporter

PHONE = "+12015550177"
DIGITS = ("2015550177", "555-0177", "5550177", "0177")
WEEK = "2027-06-07"  # a Monday


def refreshed(session):  # noqa: ANN001, ANN201
    session.rollback()
    session.expire_all()
    return session


def add_supporter(client, token: str, **fields: str):  # noqa: ANN001, ANN201
    form = {
        "csrf_token": token,
        "name": "Ana",
        "phone": PHONE,
        "timezone": "America/New_York",
        "languages": "en,es",
        "max_active": "2",
        **fields,
    }
    return client.post("/admin/roster/supporters", data=form)


def pages(supporter_id: int) -> list[str]:
    return [
        "/admin/roster",
        f"/admin/roster?week={WEEK}",
        "/admin/roster/supporters",
        f"/admin/roster/supporters/{supporter_id}",
        "/admin/meetings",
        "/admin/settings",
        "/admin/",
    ]


def test_a_supporter_added_from_the_page_never_shows_their_number(client, line, session) -> None:  # noqa: ANN001
    token = logged_in(client, line, "coordinator")
    response = add_supporter(client, token, coordinator="on", gender="Woman")
    assert response.status_code == 302, response.get_data(as_text=True)
    ana = refreshed(session).scalar(select(Supporter))
    assert ana.phone == PHONE and ana.is_coordinator and ana.languages == "en,es"
    assert ana.gender == "woman"
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "roster.add"))
    assert entry.actor == "admin:coordinator@example.org" and entry.subject_id == ana.id
    client.post(  # a shift and a calendar feed: more pages that could leak it
        "/admin/roster/shifts",
        data={"csrf_token": token, "supporter_id": ana.id, "starts": "09:00", "ends": "17:00"},
    )
    link = client.post(f"/admin/roster/supporters/{ana.id}/calendar", data={"csrf_token": token})
    feed_path = re.search(r"https://line\.example\.org(/admin/calendar/[^\"]+\.ics)", link.text)[1]
    seen = [client.get(url).get_data(as_text=True) for url in pages(ana.id)]
    seen += [link.text, client.get(feed_path).get_data(as_text=True)]
    for page in seen:
        assert not any(digits in page for digits in DIGITS)
    assert "on file" in client.get("/admin/roster/supporters").text
    for entry in session.scalars(select(AuditEntry)):
        assert "0177" not in (entry.details_json or "") + (entry.reason or "")


def test_a_refused_form_says_why_and_does_not_echo_the_number(client, line, session) -> None:  # noqa: ANN001
    token = logged_in(client, line, "coordinator")
    response = add_supporter(client, token, timezone="Mars/Base")
    assert response.status_code == 422
    assert "not an IANA time zone" in response.text and "2015550177" not in response.text
    assert 'value="Ana"' in response.text  # the rest of the form is kept
    response = add_supporter(client, token, phone="not a number")
    assert response.status_code == 422 and 'id="phone-error"' in response.text
    assert add_supporter(client, token).status_code == 302
    again = add_supporter(client, token, name="Other")
    assert again.status_code == 422 and "already exists" in again.text
    assert refreshed(session).scalars(select(Supporter)).all()[0].name == "Ana"


def test_edit_and_deactivate_are_audited_like_the_cli(client, line, session) -> None:  # noqa: ANN001
    token = logged_in(client, line, "coordinator")
    add_supporter(client, token)
    ana = refreshed(session).scalar(select(Supporter))
    form = {
        "csrf_token": token,
        "name": "Ana M",
        "timezone": "America/Chicago",
        "languages": "en,es",
        "max_active": "3",
        "phone": "+1 201 555 0188",
    }
    response = client.post(f"/admin/roster/supporters/{ana.id}", data=form)
    assert response.status_code == 302
    page = client.get(f"/admin/roster/supporters/{ana.id}").text
    assert "max_active, name, phone, timezone changed" in page and "0188" not in page
    ana = refreshed(session).get(Supporter, ana.id)
    assert (ana.name, ana.phone, ana.max_active) == ("Ana M", "+12015550188", 3)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "roster.edit"))
    assert json.loads(entry.details_json) == {
        "before": {"name": "Ana", "timezone": "America/New_York", "max_active": 2},
        "after": {"name": "Ana M", "timezone": "America/Chicago", "max_active": 3},
        "phone": "changed",
    }
    bad = client.post(f"/admin/roster/supporters/{ana.id}", data={**form, "max_active": "99"})
    assert bad.status_code == 422 and "from 1 to 20" in bad.text
    deactivate = f"/admin/roster/supporters/{ana.id}/deactivate"
    assert client.post(deactivate, data={"csrf_token": token}).status_code == 302
    ana = refreshed(session).get(Supporter, ana.id)
    assert ana.active is False and ana.deactivated_at is not None
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-3:] == ["roster.add", "roster.edit", "roster.deactivate"]
    assert "inactive" in client.get("/admin/roster/supporters").text


def roster_actions(supporter_id: int, shift_id: int) -> list[tuple[str, dict[str, str]]]:
    return [
        ("/admin/roster/supporters", {"name": "Eve", "phone": "+12015550199"}),
        (f"/admin/roster/supporters/{supporter_id}", {"name": "Changed", "max_active": "1"}),
        (f"/admin/roster/supporters/{supporter_id}/deactivate", {}),
        (f"/admin/roster/supporters/{supporter_id}/calendar", {}),
        (
            "/admin/roster/shifts",
            {"supporter_id": str(supporter_id), "starts": "08:00", "ends": "09:00"},
        ),
        (f"/admin/roster/shifts/{shift_id}/end", {}),
        (
            "/admin/roster/overrides",
            {
                "supporter_id": str(supporter_id),
                "starts_at": "2027-06-08T10:00",
                "ends_at": "2027-06-08T12:00",
            },
        ),
    ]


def test_a_viewer_sees_the_roster_and_changes_nothing(client, line, session) -> None:  # noqa: ANN001
    ana = create_supporter(session, name="Ana")
    shift = create_shift(session, ana)
    token = logged_in(client, line, "viewer")
    for url in ("/admin/roster", "/admin/roster/supporters", f"/admin/roster/supporters/{ana.id}"):
        page = client.get(url)
        assert page.status_code == 200 and "Ana" in page.text
        assert "cannot change" in page.text and '<form method="post" action="/admin/roster' not in (
            page.text
        )
    for url, data in roster_actions(ana.id, shift.id):
        assert client.post(url, data={"csrf_token": token, **data}).status_code == 403, url
    session = refreshed(session)
    assert session.scalar(select(Supporter)).name == "Ana"
    assert session.scalar(select(Supporter)).calendar_token_hash is None
    assert len(session.scalars(select(Supporter)).all()) == 1
    assert session.get(Shift, shift.id).last_day is None
    assert session.scalars(select(Override)).all() == []
    assert session.scalars(select(AuditEntry).where(AuditEntry.action.like("roster.%"))).all() == []


def test_roster_forms_need_the_csrf_token(client, line, session) -> None:  # noqa: ANN001
    ana = create_supporter(session, name="Ana")
    shift = create_shift(session, ana)
    logged_in(client, line, "admin")
    for url, data in roster_actions(ana.id, shift.id):
        assert client.post(url, data=data).status_code == 400, url
        assert client.post(url, data={**data, "csrf_token": "forged"}).status_code == 400, url
    assert refreshed(session).scalar(select(Supporter)).name == "Ana"
    assert session.scalars(select(Override)).all() == []


def week_cells(page: str) -> dict[str, list[tuple[str, str]]]:
    """The week table as {hour: [(class, text) for each day]}."""
    table = page.split('<table class="week">', 1)[1].split("</table>", 1)[0]
    rows = {}
    for hour, cells in re.findall(r'<th scope="row">(\d\d:00)</th>(.*?)</tr>', table, re.S):
        found = re.findall(r'<td class="(\w+)">(.*?)</td>', cells, re.S)
        hidden = r'<span class="visually-hidden">[^<]*</span>'  # " gap", for screen readers
        rows[hour] = [(cls, re.sub(hidden, "", text).strip()) for cls, text in found]
    return rows


def test_the_week_view_highlights_the_gaps(client, line, session) -> None:  # noqa: ANN001
    token = logged_in(client, line, "coordinator")
    ana = create_supporter(session, name="Ana", timezone="America/New_York")
    ben = create_supporter(session, name="Ben", timezone="America/Chicago")
    for supporter, days, starts, ends, tier in (
        (ana, "weekdays", "09:00", "17:00", "primary"),
        (ben, "daily", "17:00", "01:00", "backup"),  # 18:00-02:00 in New York, past midnight
    ):
        response = client.post(
            "/admin/roster/shifts",
            data={"csrf_token": token, "supporter_id": supporter.id, "days": days,
                  "starts": starts, "ends": ends, "tier": tier, "first_day": "2027-06-01"},
        )  # fmt: skip
        assert response.status_code == 302
    off = client.post(  # Ana off call on Wednesday afternoon
        "/admin/roster/overrides",
        data={"csrf_token": token, "supporter_id": ana.id, "on_call": "off",
              "starts_at": "2027-06-09T13:00", "ends_at": "2027-06-09T17:00",
              "timezone": "America/New_York"},
    )  # fmt: skip
    assert off.status_code == 302
    page = client.get(f"/admin/roster?tz=America/New_York&week={WEEK}").text
    cells = week_cells(page)
    assert len(cells) == 24 and all(len(day) == 7 for day in cells.values())
    monday, wednesday, saturday = 0, 2, 5
    assert cells["10:00"][monday] == ("covered", "Ana")
    assert cells["17:00"][monday] == ("gap", "")  # nobody from 17:00 to 18:00 in New York
    assert cells["18:00"][monday] == ("covered", "Ben (backup)")
    assert cells["01:00"][saturday] == ("covered", "Ben (backup)")  # Friday's shift, past midnight
    assert cells["10:00"][saturday][0] == "gap"
    assert cells["12:00"][wednesday] == ("covered", "Ana")
    assert cells["14:00"][wednesday] == ("gap", "")  # the override wins over the shift
    assert "Nobody on call Mon 7 17:00 to Mon 7 18:00" in page
    assert "Nobody on call Wed 9 13:00 to Wed 9 18:00" in page
    assert "Ana off call" in page and "(by admin)" in page
    entries = session.scalars(
        select(AuditEntry.action).where(AuditEntry.action.like("roster.%")).order_by(AuditEntry.id)
    ).all()
    assert entries == ["roster.shift", "roster.shift", "roster.override"]
    chicago = week_cells(client.get(f"/admin/roster?tz=America/Chicago&week={WEEK}").text)
    assert chicago["09:00"][monday] == ("covered", "Ana")  # 10:00 in New York
    assert "not an IANA time zone" in client.get("/admin/roster?tz=Mars/Base").text


def test_a_bad_shift_or_override_is_refused_with_the_reason(client, line, session) -> None:  # noqa: ANN001
    token = logged_in(client, line, "coordinator")
    ana = create_supporter(session, name="Ana")
    response = client.post(
        "/admin/roster/shifts",
        data={"csrf_token": token, "supporter_id": ana.id, "days": "someday", "starts": "09:00",
              "ends": "10:00"},
        follow_redirects=True,
    )  # fmt: skip
    assert "Shift not added: days:" in response.text
    response = client.post(
        "/admin/roster/shifts",
        data={"csrf_token": token, "supporter_id": ana.id, "starts": "9", "ends": "10:00",
              "tier": "coordinator"},
        follow_redirects=True,
    )  # fmt: skip
    assert "Shift not added: from: expected HH:MM" in response.text
    response = client.post(
        "/admin/roster/overrides",
        data={"csrf_token": token, "supporter_id": ana.id, "starts_at": "2027-06-08T12:00",
              "ends_at": "2027-06-08T10:00"},
        follow_redirects=True,
    )  # fmt: skip
    assert "Override not added: to: the end must be after the start" in response.text
    assert refreshed(session).scalars(select(Shift)).all() == []


def test_end_a_shift(client, line, session) -> None:  # noqa: ANN001
    token = logged_in(client, line, "coordinator")
    shift = create_shift(session, create_supporter(session, name="Ana"))
    response = client.post(
        f"/admin/roster/shifts/{shift.id}/end",
        data={"csrf_token": token, "last_day": "2027-06-10", "back": "/admin/roster?week=" + WEEK},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(WEEK)
    assert refreshed(session).get(Shift, shift.id).last_day.isoformat() == "2027-06-10"
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "roster.end_shift"))
    assert entry.actor == "admin:coordinator@example.org"
    evil = client.post(
        f"/admin/roster/shifts/{shift.id}/end",
        data={"csrf_token": token, "back": "https://evil.example/admin/roster"},
    )
    assert evil.headers["Location"] == "/admin/roster"


def test_on_call_now_requests_and_pairings_show_no_message(client, line, session) -> None:  # noqa: ANN001
    now = datetime.now(UTC)
    ana = create_supporter(session, name="Ana")
    ben = create_supporter(session, name="Ben")
    session.add(
        Override(supporter_id=ana.id, on_call=True, tier="primary", source="text",
                 starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=2))
    )  # fmt: skip
    sam = create_member(session, nickname="Sam")
    kai = create_member(session, nickname="Kai")
    waiting = PeerRequest(member_id=sam.id, source="keyword", status="open", created_at=now)
    session.add(waiting)
    session.flush()
    session.add(Offer(request_id=waiting.id, supporter_id=ben.id, status="open", created_at=now))
    session.add(Pairing(member_id=kai.id, supporter_id=ana.id, status="active", started_at=now))
    session.commit()
    logged_in(client, line, "viewer")
    page = client.get("/admin/roster").text
    on_call = page.split('id="now-heading"', 1)[1].split("</section>", 1)[0]
    assert "<strong>Ana</strong>, primary, until" in on_call and "Ben" not in on_call
    requests = page.split('id="requests-heading"', 1)[1].split("</section>", 1)[0]
    assert "<td>Sam</td>" in requests and "Ben: open" in requests
    pairings = page.split('id="pairings-heading"', 1)[1].split("</section>", 1)[0]
    assert "<td>Kai</td><td>Ana</td>" in pairings and "no message is shown" in pairings


def feed_events(client, path: str) -> list[icalendar.Event]:  # noqa: ANN001
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(response.data)
    return list(calendar.walk("VEVENT"))


def calendar_path(client, supporter_id: int, token: str) -> str:  # noqa: ANN001
    response = client.post(
        f"/admin/roster/supporters/{supporter_id}/calendar", data={"csrf_token": token}
    )
    assert response.status_code == 200
    assert "shown only this once" in response.text
    return re.search(r"https://line\.example\.org(/admin/calendar/[^\"]+\.ics)", response.text)[1]


def test_the_calendar_feed_is_secret_stable_and_replaceable(app, client, line, session) -> None:  # noqa: ANN001
    token = logged_in(client, line, "coordinator")
    ana = create_supporter(session, name="Ana", timezone="America/Chicago")
    create_supporter(session, name="Ben")
    create_shift(session, ana, first_day=datetime.now(UTC).date() - timedelta(days=3))
    cut = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=3)
    session.add(  # off for two days: those evenings drop out of the feed
        Override(supporter_id=ana.id, on_call=False, tier="primary", source="admin",
                 starts_at=cut, ends_at=cut + timedelta(days=2))
    )  # fmt: skip
    sam = create_member(session, nickname="Sam")
    session.add(Pairing(member_id=sam.id, supporter_id=ana.id, status="active"))
    session.commit()
    path = calendar_path(client, ana.id, token)
    secret = path.rsplit("/", 1)[1].removesuffix(".ics")
    stored = refreshed(session).get(Supporter, ana.id).calendar_token_hash
    assert stored == crypto.current().index(secret) and secret not in stored
    for entry in session.scalars(select(AuditEntry)):
        assert secret not in (entry.details_json or "") + (entry.reason or "")
    assert session.scalar(
        select(AuditEntry.actor).where(AuditEntry.action == "roster.calendar_link")
    )

    client.post("/admin/logout", data={"csrf_token": token})  # the feed needs no login
    events = feed_events(client, path)
    assert 52 <= len(events) <= 56  # 8 weeks of evenings, less the two days off
    starts = [event.decoded("dtstart") for event in events]
    assert all(not cut <= start < cut + timedelta(days=2) for start in starts)
    assert all(
        event.decoded("dtend") - event.decoded("dtstart") == timedelta(hours=5) for event in events
    )
    assert all(str(event["summary"]).startswith("On call") for event in events)
    uids = [str(event["uid"]) for event in events]
    assert len(set(uids)) == len(uids) and all(uid.endswith("@smsline") for uid in uids)
    assert [str(event["uid"]) for event in feed_events(client, path)] == uids  # stable
    body = client.get(path).text
    assert "Sam" not in body and "Ben" not in body

    token = logged_in(client, line, "admin")
    new_path = calendar_path(client, ana.id, token)
    assert new_path != path
    assert client.get(path).status_code == 404  # the old link no longer works
    assert [str(event["uid"]) for event in feed_events(client, new_path)] == uids
    assert client.get("/admin/calendar/not-a-token.ics").status_code == 404
    client.post(f"/admin/roster/supporters/{ana.id}/deactivate", data={"csrf_token": token})
    assert client.get(new_path).status_code == 404  # off the team: no feed


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_the_nav_links_to_the_roster(client, line, role) -> None:  # noqa: ANN001
    logged_in(client, line, role)
    page = client.get("/admin/roster").text
    assert 'href="/admin/roster" aria-current="page">Roster' in page
    assert 'href="/admin/meetings"' in page and 'href="/admin/settings"' in page
    assert csrf_token(client, "/admin/roster")
