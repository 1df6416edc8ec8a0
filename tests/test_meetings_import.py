"""Meeting sources (smsline/meetings/): Meeting Guide and BMLT feeds imported by `smsline meetings
import`, bad records skipped with reasons, broken feeds changing nothing, re-imports idempotent,
vanished meetings retired once, the sharing key kept secret, and refreshes when due."""

# ruff: noqa: F811  (the `run` fixture is imported from tests.test_cli)

from __future__ import annotations

import json
import shutil
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from smsline.meetings.importer import refresh_due
from smsline.models import AuditEntry, Meeting, MeetingSource
from tests.test_cli import run  # noqa: F401  (the CLI against the test database)

FEEDS = Path(__file__).parent / "meeting_feeds"
KEY = "s3cret-sharing-key-7f2a"


def meetings(session) -> dict[str, Meeting]:  # noqa: ANN001
    session.rollback()
    session.expire_all()
    return {meeting.slug: meeting for meeting in session.scalars(select(Meeting))}


def imported(cli, location: str | Path, *options: str):  # noqa: ANN001, ANN201
    result = cli("meetings", "import", str(location), *options)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def feed_server(tmp_path):  # noqa: ANN001, ANN201
    """A local HTTP server for files copied to `tmp_path`; /private/ needs ?key=KEY."""
    for path in FEEDS.iterdir():
        shutil.copy(path, tmp_path / path.name)
    seen: list[str] = []

    class Feeds(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            seen.append(self.path)
            name = url.path.rsplit("/", 1)[-1]
            if url.path.startswith("/private/") and parse_qs(url.query).get("key") != [KEY]:
                self.send_response(403)
                self.end_headers()
                return
            body = (tmp_path / name).read_bytes() if (tmp_path / name).is_file() else None
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Feeds)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.files, server.seen = tmp_path, seen
    server.base = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def test_a_meeting_guide_feed_with_every_field_shape(run, session) -> None:  # noqa: ANN001
    result = imported(run, FEEDS / "meeting_guide.json", "--source", "Springfield Intergroup",
                      "--timezone", "America/Chicago")  # fmt: skip
    assert (
        "Springfield Intergroup (meeting_guide): 6 imported, 0 updated, 0 retired, 1 skipped"
        in (result.output)
    )
    assert "skipped record 5 (slug basement-group): temporarily closed (TC)" in result.output
    found = meetings(session)
    assert set(found) == {"monday-night-big-book", "sunrise-womens-group", "grupo-esperanza",
                          "noon-serenity-phone", "library-group", "42"}  # fmt: skip

    big_book = found["monday-night-big-book"]
    assert (big_book.days, big_book.time, big_book.end_time) == ("1", "19:00", "20:30")
    assert (big_book.attendance, big_book.timezone) == ("in_person", "America/Chicago")
    assert (big_book.city, big_book.state, big_book.postal_code) == ("Springfield", "IL", "62701")
    assert (big_book.latitude, big_book.longitude) == (39.7817, -89.6501)
    assert big_book.types == "O,B"  # the unknown code XYZ is ignored
    assert big_book.notes == "Use the side door & go downstairs."  # no HTML
    assert big_book.location == "St. Mark's Church"
    assert big_book.feed_updated_at == datetime(2026, 3, 1, 14, 5, tzinfo=UTC)

    women = found["sunrise-womens-group"]  # a list of days, no zone of its own, no end time
    assert (women.days, women.time, women.end_time) == ("0,3", "07:00", "08:00")
    assert women.timezone == "America/Chicago" and women.types == "W,C"
    assert women.formatted_address == "45 Oak Ave, Springfield, IL 62704"
    assert women.postal_code == "62704" and women.location_notes == "Room 2"

    spanish = found["grupo-esperanza"]
    assert (spanish.attendance, spanish.types) == ("hybrid", "S,O")
    assert spanish.conference_url == "https://zoom.us/j/5550001111"
    assert spanish.conference_url_notes == "Contraseña: esperanza"
    assert (spanish.timezone, spanish.latitude) == ("America/Los_Angeles", 37.7825)

    phone = found["noon-serenity-phone"]  # an approximate address is no address
    assert (phone.attendance, phone.formatted_address, phone.postal_code) == ("online", None, None)
    assert phone.conference_phone == "+16465588656,,5550002222#"
    assert phone.conference_phone_notes == "Meeting ID 555 000 2222, passcode 1234"
    assert phone.types == "D"

    closed_room = found["library-group"]  # TC with a link: online, the closed room dropped
    assert (closed_room.attendance, closed_room.formatted_address) == ("online", None)

    speaker = found[
        "42"
    ]  # an integer slug, a day as text, seconds in the time, tel: and a comma list
    assert (speaker.days, speaker.time, speaker.end_time) == ("6", "09:30", "10:30")
    assert speaker.conference_phone == "+17207072699" and speaker.types == "SP,O"
    audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "meetings.import"))
    assert json.loads(audit.details_json)["imported"] == 6


def test_a_bmlt_feed_is_recognised_by_its_shape(run, session) -> None:  # noqa: ANN001
    result = imported(run, FEEDS / "bmlt.json", "--timezone", "America/New_York")
    assert "bmlt (bmlt): 3 imported, 0 updated, 0 retired, 1 skipped" in result.output
    assert "record 3 (slug 1204): weekday_tinyint: expected 1 (Sunday) to 7" in result.output
    found = meetings(session)
    in_person, by_phone, hybrid = found["1201"], found["1202"], found["1203"]
    assert (in_person.name, in_person.days, in_person.time, in_person.end_time) == (
        "Just for Today", "0", "19:00", "20:30")  # fmt: skip
    assert in_person.timezone == "America/New_York"  # empty time_zone: the source's
    assert in_person.attendance == "in_person" and in_person.types == "O,S,W"
    assert in_person.formatted_address == "10 Church Rd, Toledo, OH 43604"
    assert (in_person.postal_code, in_person.latitude) == ("43604", 41.6528)
    assert in_person.location == "Grace Church"
    assert (by_phone.days, by_phone.timezone, by_phone.attendance) == (
        "6",
        "America/Detroit",
        "online",
    )
    assert by_phone.conference_phone == "+1 646 558 8656 ,,5550004444#"
    assert by_phone.conference_url_notes == "Passcode 4444" and by_phone.latitude is None
    assert (hybrid.attendance, hybrid.end_time, hybrid.conference_url) == (
        "hybrid", "19:00", "https://meet.example.org/hope")  # fmt: skip
    source = session.scalar(select(MeetingSource))
    assert source.kind == "bmlt" and source.timezone == "America/New_York"


def test_bad_records_are_skipped_each_with_a_reason(run, session) -> None:  # noqa: ANN001
    output = imported(run, FEEDS / "bad_records.json").output
    assert "2 imported, 0 updated, 0 retired, 12 skipped" in output
    reasons = [
        "record 0: not an object",
        "record 1 (slug no-name): name: Field required",
        "record 2 (slug day-seven): day: days are 0 (Sunday) to 6 (Saturday)",
        "record 3 (slug late): time: expected a 24-hour time HH:MM",
        "record 4 (slug eastern): timezone: not an IANA time zone",
        "record 5 (slug nowhere): no specific address and no conference link or phone",
        "record 6 (slug bad-link): conference_url: not a web link",
        "record 7 (slug bad-phone): conference_phone: not a dial-in number",
        "record 8 (slug by-appointment): day: none given",
        "record 9: slug: Field required",
        "record 11 (slug good-one): slug: already used by an earlier record",
        "record 13 (slug no-zone): timezone: none in the record and none set for the source",
    ]
    for reason in reasons:
        assert f"skipped {reason}" in output
    assert "Jane Doe" not in output and "zoom.us/j/123" not in output  # reasons, never values
    found = meetings(session)
    assert set(found) == {"good-one", "good-two"}
    assert found["good-one"].days == "3" and found["good-two"].days == "1,3,5"


@pytest.mark.parametrize(
    ("name", "message"),
    [("not_json.html", "is not JSON (it looks like a web page"), ("not_a_list.json", "not a list")],
)
def test_a_feed_that_is_not_a_json_list_changes_nothing(
    run, session, tmp_path, name, message
) -> None:  # noqa: ANN001
    feed = tmp_path / "feed.json"
    shutil.copy(FEEDS / "meeting_guide.json", feed)
    imported(run, feed, "--source", "area", "--timezone", "America/Chicago")
    before = {slug: (m.id, m.updated_at, m.retired_at) for slug, m in meetings(session).items()}
    shutil.copy(FEEDS / name, feed)
    result = run("meetings", "import", str(feed), "--source", "area", "--timezone", "UTC")
    assert result.exit_code == 1
    assert message in result.output and "nothing was changed" in result.output
    after = {slug: (m.id, m.updated_at, m.retired_at) for slug, m in meetings(session).items()}
    assert after == before
    assert session.scalar(select(MeetingSource)).timezone == "America/Chicago"
    fresh = run("meetings", "import", str(FEEDS / name), "--source", "new one")
    assert fresh.exit_code == 1
    assert session.scalars(select(MeetingSource.name)).all() == ["area"]  # no source half-made


def test_an_empty_feed_does_not_retire_a_whole_area(run, session, tmp_path) -> None:  # noqa: ANN001
    feed = tmp_path / "feed.json"
    shutil.copy(FEEDS / "bad_records.json", feed)
    imported(run, feed, "--source", "area")
    feed.write_text("[]")
    result = run("meetings", "import", str(feed), "--source", "area")
    assert result.exit_code == 1 and "the 2 meetings of area are kept" in result.output
    assert all(m.retired_at is None for m in meetings(session).values())


def test_reimport_is_idempotent_changes_keep_ids_and_vanished_meetings_retire_once(
    run,
    session,
    tmp_path,  # noqa: ANN001
) -> None:
    feed = tmp_path / "feed.json"
    records = json.loads((FEEDS / "meeting_guide.json").read_text())
    feed.write_text(json.dumps(records))
    imported(run, feed, "--source", "area", "--timezone", "America/Chicago")
    ids = {slug: meeting.id for slug, meeting in meetings(session).items()}
    again = imported(run, feed, "--source", "area").output
    assert "0 imported, 0 updated, 0 retired, 1 skipped (6 unchanged)" in again

    records[0]["time"] = "19:30"  # moved half an hour
    del records[2]  # Grupo Esperanza stops meeting
    feed.write_text(json.dumps(records))
    changed = imported(run, feed, "--source", "area").output
    assert "0 imported, 1 updated, 1 retired" in changed
    found = meetings(session)
    assert found["monday-night-big-book"].id == ids["monday-night-big-book"]
    assert found["monday-night-big-book"].time == "19:30"
    assert found["monday-night-big-book"].retired_at is None
    retired_at = found["grupo-esperanza"].retired_at
    assert retired_at is not None and found["grupo-esperanza"].id == ids["grupo-esperanza"]

    later = imported(run, feed, "--source", "area").output
    assert "0 imported, 0 updated, 0 retired" in later  # retired once, not again
    assert meetings(session)["grupo-esperanza"].retired_at == retired_at

    feed.write_text((FEEDS / "meeting_guide.json").read_text())  # it comes back: same row
    back = imported(run, feed, "--source", "area").output
    assert "0 imported, 2 updated, 0 retired" in back
    assert meetings(session)["grupo-esperanza"].retired_at is None
    assert {slug: m.id for slug, m in meetings(session).items()} == ids


def test_fetched_over_http_with_a_sharing_key_that_is_never_shown(
    run,
    session,
    feed_server,
    caplog,  # noqa: ANN001
) -> None:
    url = f"{feed_server.base}/private/meeting_guide.json"
    denied = run("meetings", "import", url, "--source", "tsml", "--timezone", "America/Chicago")
    assert denied.exit_code == 1 and "HTTP 403 (is the sharing key right? --key)" in denied.output
    result = imported(run, f"{url}?key={KEY}", "--source", "tsml", "--timezone", "America/Chicago")
    assert "6 imported" in result.output
    assert feed_server.seen[-1] == f"/private/meeting_guide.json?key={KEY}"
    source = session.scalar(select(MeetingSource))
    assert source.url == url and source.key_enc == KEY  # the key out of the address, encrypted
    raw = session.connection().exec_driver_sql("SELECT key_enc, url FROM meeting_sources").one()
    assert KEY.encode() not in bytes(raw[0]) and KEY not in raw[1]
    listed = run("meetings", "sources").output
    assert f"#{source.id} tsml: meeting_guide, 6 active meetings" in listed
    assert "with a sharing key" in listed
    refreshed = run("meetings", "refresh", "--source", "tsml")  # the stored key is used
    assert refreshed.exit_code == 0 and "0 imported, 0 updated" in refreshed.output
    for output in (denied.output, result.output, listed, refreshed.output, caplog.text):
        assert KEY not in output


def test_refresh_due_reimports_due_sources_and_records_failures(run, session, feed_server) -> None:  # noqa: ANN001
    shutil.copy(FEEDS / "meeting_guide.json", feed_server.files / "area.json")
    imported(
        run, f"{feed_server.base}/area.json", "--source", "area", "--timezone", "America/Chicago"
    )
    imported(run, FEEDS / "bmlt.json", "--source", "na", "--timezone", "America/New_York",
             "--refresh-hours", "0")  # fmt: skip
    source = session.scalar(select(MeetingSource).where(MeetingSource.name == "area"))
    due_at = source.next_refresh_at
    assert due_at - source.last_imported_at == timedelta(hours=24)
    assert refresh_due(session, due_at - timedelta(minutes=1)) == {}  # nothing due yet

    records = json.loads((FEEDS / "meeting_guide.json").read_text())
    (feed_server.files / "area.json").write_text(json.dumps(records[:-1]))
    outcomes = refresh_due(session, due_at)
    assert outcomes == {"area": "0 imported, 0 updated, 1 retired, 1 skipped (5 unchanged)"}
    session.expire_all()
    assert session.get(MeetingSource, source.id).next_refresh_at == due_at + timedelta(hours=24)

    (feed_server.files / "area.json").write_text("<html>maintenance</html>")
    later = due_at + timedelta(hours=24)
    assert refresh_due(session, later)["area"].startswith("failed: ")
    session.expire_all()
    failed = session.get(MeetingSource, source.id)
    assert "is not JSON" in failed.last_error
    assert failed.next_refresh_at == later + timedelta(hours=1)  # tried again in an hour
    assert (
        sum(m.retired_at is None for m in meetings(session).values() if m.source_id == source.id)
        == 5
    )
    na = session.scalar(select(MeetingSource).where(MeetingSource.name == "na"))
    assert na.next_refresh_at is None  # refresh-hours 0: only when asked
