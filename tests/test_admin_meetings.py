"""The admin's meetings page (smsline/web/admin/meetings.py): sources with their last import,
skipped records and their reasons, failures and next refresh; re-import now and add a source
(coordinators and up; a file on the server: admins only), audited."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from smsline.models import AuditEntry, Meeting, MeetingSource
from tests.admin_support import logged_in

FEEDS = Path(__file__).parent / "meeting_feeds"


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    path = tmp_path / "springfield.json"
    shutil.copy(FEEDS / "meeting_guide.json", path)
    return path


@pytest.fixture
def source(session, feed: Path) -> MeetingSource:  # noqa: ANN001
    row = MeetingSource(name="Springfield", url=str(feed), timezone="America/Chicago")
    session.add(row)
    session.commit()
    return row


def refreshed(session):  # noqa: ANN001, ANN201
    session.rollback()
    session.expire_all()
    return session


def test_reimport_updates_the_summary_and_shows_skipped_reasons(
    client, line, session, source, feed
) -> None:  # noqa: ANN001, E501
    token = logged_in(client, line, "coordinator")
    page = client.get("/admin/meetings").text
    assert "Springfield" in page and "never" in page and "0 active, 0 retired" in page
    response = client.post(f"/admin/meetings/{source.id}/refresh", data={"csrf_token": token})
    assert response.status_code == 302
    page = client.get("/admin/meetings").text
    assert "Springfield re-imported: 6 imported, 0 updated, 0 retired, 1 skipped" in page
    assert "6 active, 0 retired" in page
    assert "1 record skipped at the last import" in page
    assert "<td>5</td><td>basement-group</td><td>temporarily closed (TC) with no" in page
    stored = json.loads(refreshed(session).get(MeetingSource, source.id).last_summary_json)
    assert [(r["index"], r["slug"]) for r in stored["skipped_records"]] == [(5, "basement-group")]
    assert stored["skipped_records"][0]["reason"].startswith("temporarily closed (TC)")
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "meetings.refresh"))
    assert entry.actor == "admin:coordinator@example.org" and entry.subject_id == source.id
    assert json.loads(entry.details_json)["imported"] == 6

    records = json.loads(feed.read_text())
    feed.write_text(json.dumps(records[1:]))  # a meeting gone from the feed
    client.post(f"/admin/meetings/{source.id}/refresh", data={"csrf_token": token})
    page = client.get("/admin/meetings").text
    assert "5 active, 1 retired" in page and "1 retired, 1 skipped" in page

    feed.write_text("<html>moved</html>")  # a broken feed changes nothing and says why
    response = client.post(
        f"/admin/meetings/{source.id}/refresh", data={"csrf_token": token}, follow_redirects=True
    )
    assert "not re-imported" in response.text and "it looks like a web page" in response.text
    assert "Last failure" in response.text and "5 active, 1 retired" in response.text
    count = refreshed(session).scalars(select(Meeting).where(Meeting.retired_at.is_(None))).all()
    assert len(count) == 5


def test_add_a_source(client, line, session, feed) -> None:  # noqa: ANN001
    token = logged_in(client, line, "coordinator")
    form = {"csrf_token": token, "name": "Springfield", "location": str(feed),
            "timezone": "America/Chicago", "refresh_hours": "12"}  # fmt: skip
    refused = client.post("/admin/meetings/sources", data=form)
    assert refused.status_code == 422 and "only an admin may name a file" in refused.text
    logged_in(client, line, "admin")
    token = client.get("/admin/meetings").text.split('name="csrf-token" content="')[1].split('"')[0]
    form["csrf_token"] = token
    bad = client.post("/admin/meetings/sources", data={**form, "timezone": "Mars/Base"})
    assert bad.status_code == 422 and "not an IANA time zone" in bad.text
    broken = client.post(
        "/admin/meetings/sources", data={**form, "location": str(FEEDS / "not_json.html")}
    )
    assert broken.status_code == 422 and "Nothing was changed" in broken.text
    assert refreshed(session).scalars(select(MeetingSource)).all() == []
    added = client.post("/admin/meetings/sources", data=form, follow_redirects=True)
    assert "Springfield added: 6 imported" in added.text
    source = refreshed(session).scalar(select(MeetingSource))
    assert (source.refresh_hours, source.timezone) == (12, "America/Chicago")
    assert source.next_refresh_at is not None
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "meetings.import"))
    assert entry.actor == "admin:admin@example.org"
    again = client.post("/admin/meetings/sources", data=form)
    assert again.status_code == 422 and "already exists" in again.text


def test_a_viewer_sees_the_sources_and_changes_nothing(client, line, session, source) -> None:  # noqa: ANN001
    token = logged_in(client, line, "viewer")
    page = client.get("/admin/meetings")
    assert page.status_code == 200 and "Springfield" in page.text
    assert "Re-import Springfield" not in page.text and "cannot re-import" in page.text
    refresh = client.post(f"/admin/meetings/{source.id}/refresh", data={"csrf_token": token})
    assert refresh.status_code == 403
    add = client.post(
        "/admin/meetings/sources",
        data={"csrf_token": token, "name": "X", "location": "https://example.org/feed.json"},
    )
    assert add.status_code == 403
    assert refreshed(session).get(MeetingSource, source.id).last_imported_at is None
    assert len(session.scalars(select(MeetingSource)).all()) == 1


def test_meeting_forms_need_the_csrf_token(client, line, session, source) -> None:  # noqa: ANN001
    logged_in(client, line, "admin")
    assert client.post(f"/admin/meetings/{source.id}/refresh").status_code == 400
    response = client.post(
        "/admin/meetings/sources",
        data={"csrf_token": "forged", "name": "X", "location": str(FEEDS / "bmlt.json")},
    )
    assert response.status_code == 400
    assert refreshed(session).get(MeetingSource, source.id).last_imported_at is None


def test_the_sharing_key_is_never_shown(client, line, session, source) -> None:  # noqa: ANN001
    row = refreshed(session).get(MeetingSource, source.id)
    row.key_enc = "s3cret-sharing-key-7f2a"
    session.commit()
    logged_in(client, line, "admin")
    page = client.get("/admin/meetings").text
    assert "s3cret" not in page and "with a sharing key, kept encrypted" in page
