"""Announcements: only to members whose latest consent says yes (not opted out, not erased), the
Spanish text to Spanish speakers, a preview and a count confirmed as shown (asked again when it
changed), rows through the outbox held by quiet hours and paced, audited, coordinators only, and
the settings flow that records the consent with its words."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from smsline import announcements, flowstore, outbox
from smsline.models import Announcement, AuditEntry, Consent, Member, OutboundMessage, utcnow
from tests.admin_support import logged_in
from tests.factories import create_line_number, create_member, sms_form

NEW_YORK = "America/New_York"
HOLIDAY_EN = "The line is closed on Thanksgiving Day. We're back Friday at 9am. Take care."
HOLIDAY_ES = "La línea cierra el Día de Acción de Gracias. Volvemos el viernes a las 9am."


def fresh(session) -> None:  # noqa: ANN001
    session.rollback()
    session.expire_all()


def consent(session, member: Member, granted: bool = True) -> None:  # noqa: ANN001
    session.add(
        Consent(
            phone_hash=member.phone_hash,
            member_id=member.id,
            purpose=announcements.PURPOSE,
            granted=granted,
            wording="News from the line: ...",
            channel="sms",
            recorded_by="member",
        )
    )
    session.commit()


def member(session, *, agreed: bool = True, **fields: object) -> Member:  # noqa: ANN001
    fields.setdefault("status", "active")
    fields.setdefault("timezone", NEW_YORK)
    # a window open all day, so tests at any hour see no quiet hours unless they want them
    fields.setdefault("texting_from", "00:00")
    fields.setdefault("texting_until", "00:00")
    row = create_member(session, **fields)
    if agreed:
        consent(session, row)
    return row


def draft(session, body_es: str | None = None) -> Announcement:  # noqa: ANN001
    row = announcements.create(session, HOLIDAY_EN, body_es, actor="admin:test")
    session.commit()
    return row


def rows(session) -> list[OutboundMessage]:  # noqa: ANN001
    fresh(session)
    return list(
        session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.kind == announcements.KIND)
            .order_by(OutboundMessage.member_id)
        )
    )


@pytest.fixture
def numbered(session) -> None:  # noqa: ANN001
    create_line_number(session)


def test_only_members_who_said_yes_and_did_not_opt_out_get_it_spanish_to_spanish_speakers(
    session, line, numbered, transport
) -> None:  # noqa: ANN001
    ana = member(session, nickname="Ana")
    lupe = member(session, nickname="Lupe", language="es")
    member(session, nickname="Never asked", agreed=False)
    said_no = member(session, nickname="Said no", agreed=False)
    consent(session, said_no, granted=False)
    changed_mind = member(session, nickname="Changed mind")
    consent(session, changed_mind, granted=False)
    came_back = member(session, nickname="Came back", agreed=False)
    consent(session, came_back, granted=False)
    consent(session, came_back, granted=True)
    stopped = member(session, nickname="Stopped")
    outbox.set_opt_out(session, stopped.phone_hash, True, "keyword")
    member(session, nickname="Erased", status="erased")
    session.commit()

    assert announcements.count_recipients(session) == 3
    announcement = draft(session, body_es=HOLIDAY_ES)
    assert announcements.count_by_language(session) == {"en": 2, "es": 1}
    announcement.status = "sending"
    session.commit()

    assert announcements.write_rows(line, announcement.id) == 3
    written = rows(session)
    assert [row.member_id for row in written] == [ana.id, lupe.id, came_back.id]
    bodies = {row.member_id: row.body_enc for row in written}
    assert bodies == {ana.id: HOLIDAY_EN, lupe.id: HOLIDAY_ES, came_back.id: HOLIDAY_EN}
    assert {row.to_enc for row in written} == {ana.phone, lupe.phone, came_back.phone}
    assert all(row.queue == "bulk" and row.to_hash for row in written)
    sent_to = {message.to for message in transport.sent}
    assert sent_to == {ana.phone, lupe.phone, came_back.phone}  # in-process, paced, delivered
    fresh(session)
    stored = session.get(Announcement, announcement.id)
    assert (stored.status, stored.recipients) == ("sent", 3)
    assert stored.sent_at is not None


def test_without_spanish_text_spanish_speakers_get_the_english_one(session, line, numbered) -> None:  # noqa: ANN001
    member(session, language="es")
    announcement = draft(session)
    announcement.status = "sending"
    session.commit()
    assert announcements.write_rows(line, announcement.id) == 1
    assert [row.body_enc for row in rows(session)] == [HOLIDAY_EN]


def test_quiet_hours_hold_each_row_to_the_members_window(session, line, numbered) -> None:  # noqa: ANN001
    zone = ZoneInfo(NEW_YORK)
    tomorrow = (utcnow().astimezone(zone) + timedelta(days=1)).date()
    three_am = datetime.combine(tomorrow, datetime.min.time(), tzinfo=zone) + timedelta(hours=3)
    lines_window = member(session, texting_from=None, texting_until=None)  # 09:00 to 20:00
    early_bird = member(session, texting_from="07:00", texting_until="21:00")
    in_la = member(session, timezone="America/Los_Angeles", texting_from=None, texting_until=None)
    announcement = draft(session)
    announcement.status = "sending"
    session.commit()

    assert announcements.write_rows(line, announcement.id, now=three_am) == 3
    held = {row.member_id: row.next_attempt_at for row in rows(session)}
    at = datetime.combine(tomorrow, datetime.min.time(), tzinfo=zone)
    assert held[lines_window.id] == at + timedelta(hours=9)
    assert held[early_bird.id] == at + timedelta(hours=7)
    la = datetime.combine(tomorrow, datetime.min.time(), tzinfo=ZoneInfo("America/Los_Angeles"))
    assert held[in_la.id] == la + timedelta(hours=9)
    assert all(row.status == "pending" for row in rows(session))  # waiting for their morning


def test_writing_twice_writes_once(session, line, numbered) -> None:  # noqa: ANN001
    member(session)
    announcement = draft(session)
    announcement.status = "sending"
    session.commit()
    assert announcements.write_rows(line, announcement.id) == 1
    assert announcements.write_rows(line, announcement.id) == 0
    assert len(rows(session)) == 1


def test_the_clock_hands_a_lost_job_over_again_once_it_is_stale(
    session, line, numbered, monkeypatch
) -> None:  # noqa: ANN001
    """A confirmed announcement whose job was lost (Redis flushed) is picked up by the sweep."""
    from datetime import timedelta

    from smsline import clock
    from smsline.models import utcnow

    member(session)
    announcement = draft(session)
    confirmed_at = utcnow()
    announcement.status, announcement.handed_at = "sending", confirmed_at
    session.commit()
    assert announcements.hand_over_stalled(line, confirmed_at + timedelta(minutes=5)) == 0
    assert rows(session) == []  # still with the (lost) job: too soon to hand it again
    counts = clock.sweep(line, confirmed_at + timedelta(minutes=11))
    assert counts["announcements_resumed"] == 1
    assert len(rows(session)) == 1  # in-process, the job ran at once
    fresh(session)
    assert session.get(Announcement, announcement.id).status == "sent"
    assert clock.sweep(line, confirmed_at + timedelta(minutes=30))["announcements_resumed"] == 0


def test_a_draft_is_never_written(session, line, numbered) -> None:  # noqa: ANN001
    member(session)
    announcement = draft(session)
    assert announcements.write_rows(line, announcement.id) == 0
    assert rows(session) == []


# --- the pages ----------------------------------------------------------------------------------


def test_preview_shows_the_texts_their_segments_and_the_count(client, line, session) -> None:  # noqa: ANN001
    token = logged_in(client, line, "coordinator")
    member(session)
    member(session, language="es")
    page = client.get("/admin/announcements").get_data(as_text=True)
    assert "Keep it short, warm and plain." in page and "No health details." in page
    long_es = HOLIDAY_ES + " Cuídate mucho, te esperamos." * 3  # 3 segments (UCS-2)
    response = client.post(
        "/admin/announcements",
        data={"csrf_token": token, "body_en": HOLIDAY_EN, "body_es": long_es},
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "This goes to <strong>2</strong> members who agreed to announcements." in page
    assert "1 SMS segment." in page  # the English text fits one
    assert "This is 3 segments: longer than" in page  # the Spanish one does not fit two
    assert 'name="count" value="2"' in page
    assert "Send to 2 members" in page


def test_the_english_text_is_required(client, line, session) -> None:  # noqa: ANN001
    token = logged_in(client, line, "coordinator")
    response = client.post(
        "/admin/announcements", data={"csrf_token": token, "body_en": " ", "body_es": "Hola"}
    )
    assert response.status_code == 400
    assert "Write the English text" in response.get_data(as_text=True)
    fresh(session)
    assert session.scalar(select(func.count(Announcement.id))) == 0


def test_confirm_sends_through_the_outbox_paced_and_audited(
    client, line, session, numbered, transport
) -> None:  # noqa: ANN001
    token = logged_in(client, line, "coordinator")
    for _ in range(65):  # one more minute's worth than the pace allows (1 a second)
        member(session)
    announcement = draft(session)
    response = client.post(
        f"/admin/announcements/{announcement.id}/send", data={"csrf_token": token, "count": "65"}
    )
    assert response.status_code == 302
    assert "Sending to 65 members" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    written = rows(session)
    assert len(written) == 65
    assert len(transport.sent) == 60  # this minute's room at 1 segment a second
    assert sum(row.status == "pending" for row in written) == 5  # the next minute's
    stored = session.get(Announcement, announcement.id)
    assert (stored.status, stored.recipients, stored.confirmed_by) == (
        "sent",
        65,
        "admin:coordinator@example.org",
    )
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "announcement.send"))
    assert entry.actor == "admin:coordinator@example.org"
    assert entry.subject_id == announcement.id and json.loads(entry.details_json) == {"count": 65}


def test_a_count_that_changed_meanwhile_is_asked_again(client, line, session, numbered) -> None:  # noqa: ANN001
    token = logged_in(client, line, "coordinator")
    member(session)
    announcement = draft(session)
    page = client.get(f"/admin/announcements/{announcement.id}").get_data(as_text=True)
    assert 'name="count" value="1"' in page
    member(session)  # someone says yes to news meanwhile
    response = client.post(
        f"/admin/announcements/{announcement.id}/send", data={"csrf_token": token, "count": "1"}
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "changed from 1 to 2 meanwhile. Check and confirm again." in page
    assert 'name="count" value="2"' in page
    assert rows(session) == []
    assert session.get(Announcement, announcement.id).status == "draft"
    assert (
        session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "announcement.send")
        )
        == 0
    )


def test_cancel_a_draft(client, line, session, numbered) -> None:  # noqa: ANN001
    token = logged_in(client, line, "coordinator")
    member(session)
    announcement = draft(session)
    response = client.post(
        f"/admin/announcements/{announcement.id}/cancel", data={"csrf_token": token}
    )
    assert response.status_code == 302
    fresh(session)
    assert session.get(Announcement, announcement.id).status == "cancelled"
    response = client.post(
        f"/admin/announcements/{announcement.id}/send", data={"csrf_token": token, "count": "1"}
    )
    assert "already sent or cancelled" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert rows(session) == []


def test_a_viewer_sees_but_cannot_draft_send_or_cancel(client, line, session, numbered) -> None:  # noqa: ANN001
    token = logged_in(client, line, "viewer")
    member(session)
    announcement = draft(session)
    page = client.get("/admin/announcements").get_data(as_text=True)
    assert "Write an announcement" not in page
    page = client.get(f"/admin/announcements/{announcement.id}").get_data(as_text=True)
    assert "This goes to <strong>1</strong> member who agreed" in page
    assert "Send to 1 member" not in page
    for path, data in (
        ("/admin/announcements", {"body_en": HOLIDAY_EN}),
        (f"/admin/announcements/{announcement.id}/send", {"count": "1"}),
        (f"/admin/announcements/{announcement.id}/cancel", {}),
    ):
        assert client.post(path, data={"csrf_token": token, **data}).status_code == 403
    fresh(session)
    assert session.get(Announcement, announcement.id).status == "draft"
    assert rows(session) == []


def test_without_a_csrf_token_nothing_is_sent(client, line, session, numbered) -> None:  # noqa: ANN001
    logged_in(client, line, "coordinator")
    member(session)
    announcement = draft(session)
    response = client.post(f"/admin/announcements/{announcement.id}/send", data={"count": "1"})
    assert response.status_code == 400
    assert rows(session) == []


# --- consent by text ----------------------------------------------------------------------------


def say(twilio_post, body: str, sender: str) -> str:  # noqa: ANN001
    response = twilio_post("/twilio/sms", sms_form(body, sender))
    assert response.status_code == 200, response.data
    return response.data.decode()


def test_members_say_yes_or_no_in_settings_and_the_ledger_keeps_the_words(
    session, line, twilio_post
) -> None:  # noqa: ANN001
    flowstore.sync(session)
    create_line_number(session)
    sam = member(session, agreed=False, nickname="Sam")
    lupe = member(session, agreed=False, nickname="Lupe", language="es")
    assert "9 choices" in say(twilio_post, "SETTINGS", sam.phone)
    assert "1 news texts" in say(twilio_post, "9", sam.phone)
    assert "holiday hours? YES to get them" in say(twilio_post, "1", sam.phone)
    assert "we'll text you news from the line now and then" in say(twilio_post, "yes", sam.phone)
    say(twilio_post, "AJUSTES", lupe.phone)
    say(twilio_post, "9", lupe.phone)
    say(twilio_post, "1", lupe.phone)
    assert "no te mandaremos noticias" in say(twilio_post, "no", lupe.phone)
    fresh(session)
    ledger = session.scalars(select(Consent).order_by(Consent.id)).all()
    assert [(row.member_id, row.purpose, row.granted, row.channel) for row in ledger] == [
        (sam.id, "announcements", True, "sms"),
        (lupe.id, "announcements", False, "sms"),
    ]
    assert ledger[0].wording == (
        "News from the line: want a text now and then with news like holiday hours? "
        "YES to get them, NO for none."
    )
    assert ledger[1].wording.startswith("Noticias de la línea: ¿quieres un mensaje")
    assert announcements.count_recipients(session) == 1
    actions = session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.reason == "announcements")
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["consent.grant", "consent.revoke"]
