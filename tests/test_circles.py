"""Peer circles (issue 9): join with the ground rules, in-window relay to all but the sender with
nicknames, the outside-window answer, LEAVE; MUTE/UNMUTE/REMOVE; a crisis text reaching no other
member; no phone number in any circle text; conference TwiML; reminders before the window."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from smsline import circles, clock, segments
from smsline.models import (
    AuditEntry,
    Circle,
    CircleMember,
    Consent,
    FollowUp,
    LineNumber,
    OutboundMessage,
    utcnow,
)
from tests.factories import create_line_number, create_member, create_supporter, sms_form

LINE = "+15005550006"
CIRCLE_NUMBER = "+15005550042"
ZONE = "America/Chicago"


def fresh(session) -> None:  # noqa: ANN001
    session.rollback()
    session.expire_all()


def make_circle(session, *, open_now: bool = True, **fields: object) -> Circle:  # noqa: ANN001
    """A circle whose window is now (or is not), facilitated by Robin."""
    number = LineNumber(e164=CIRCLE_NUMBER, purpose="relay")
    session.add(number)
    session.commit()
    robin = create_supporter(session, name="Robin")
    today = int(utcnow().astimezone(circles.ZoneInfo(ZONE)).strftime("%w"))
    circle = circles.create(
        session,
        name=fields.pop("name", "Tuesday Circle"),
        topic="early recovery",
        language="en",
        day=circles.WEEKDAYS[today if open_now else (today + 3) % 7],
        starts="00:00" if open_now else "19:00",
        ends="23:59" if open_now else "20:00",
        timezone=ZONE,
        facilitator_id=robin.id,
        number=CIRCLE_NUMBER,
        actor="test",
        **fields,
    )
    session.commit()
    return circle


def joined(session, circle: Circle, *nicknames: str) -> list:  # noqa: ANN001
    people = []
    for nickname in nicknames:
        member = create_member(session, status="active", nickname=nickname)
        session.add(CircleMember(circle_id=circle.id, member_id=member.id, joined_at=utcnow()))
        people.append(member)
    session.commit()
    return people


def text(twilio_post, sender: str, body: str, to: str = CIRCLE_NUMBER) -> str:  # noqa: ANN001
    response = twilio_post("/twilio/sms", sms_form(body, sender, to=to))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def circle_rows(session) -> list[OutboundMessage]:  # noqa: ANN001
    fresh(session)
    return list(
        session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.kind.in_(("circle", "crisis")))
            .order_by(OutboundMessage.id)
        )
    )


@pytest.fixture(autouse=True)
def numbered(session) -> None:  # noqa: ANN001
    create_line_number(session, LINE)
    circles.forget_numbers()
    yield
    circles.forget_numbers()


def test_find_join_with_the_ground_rules_and_a_yes(twilio_post, session) -> None:  # noqa: ANN001
    circle = make_circle(session)
    member = create_member(session, status="active", nickname="Ana")
    listed = text(twilio_post, member.phone, "CIRCLES", to=LINE)
    assert "1. Tuesday Circle," in listed and "JOIN" in listed
    rules = text(twilio_post, member.phone, "join 1", to=LINE)
    assert "stays in the circle" in rules and "no phone numbers or last names" in rules
    welcome = text(twilio_post, member.phone, "yes", to=LINE)
    assert "You're in Tuesday Circle" in welcome and CIRCLE_NUMBER in welcome
    fresh(session)
    assert [row.member_id for row, _ in circles.members(session, circle)] == [member.id]
    consent = session.scalar(select(Consent).where(Consent.purpose == "circle"))
    assert consent.granted and "stays in the circle" in consent.wording


def test_in_the_window_a_text_goes_to_all_but_the_sender_with_its_nickname(
    twilio_post, session
) -> None:  # noqa: ANN001
    circle = make_circle(session)
    ana, bo, cy = joined(session, circle, "Ana", "Bo", "Cy")
    answer = text(twilio_post, ana.phone, "rough day, but I'm here")
    assert "<Message" not in answer  # nothing back to the sender
    rows = circle_rows(session)
    assert {row.to_hash for row in rows} == {
        bo.phone_hash,
        cy.phone_hash,
        session.get(circles.Supporter, circle.facilitator_id).phone_hash,
    }
    assert {row.body_enc for row in rows} == {"Ana: rough day, but I'm here"}
    assert {row.from_number for row in rows} == {CIRCLE_NUMBER}


def test_outside_the_window_the_text_is_not_shared(twilio_post, session) -> None:  # noqa: ANN001
    circle = make_circle(session, open_now=False)
    (ana,) = joined(session, circle, "Ana")
    answer = text(twilio_post, ana.phone, "anyone around?")
    assert "Tuesday Circle meets" in answer and "was not shared" in answer
    assert circle_rows(session) == []


def test_leave_at_the_circle_number(twilio_post, session) -> None:  # noqa: ANN001
    circle = make_circle(session)
    ana, bo = joined(session, circle, "Ana", "Bo")
    assert "You've left Tuesday Circle" in text(twilio_post, ana.phone, "LEAVE")
    assert "This number is for a peer circle" in text(twilio_post, ana.phone, "still here?")
    assert circle_rows(session) == []


def test_facilitator_mutes_unmutes_and_removes(twilio_post, session) -> None:  # noqa: ANN001
    circle = make_circle(session)
    ana, bo = joined(session, circle, "Ana", "Bo")
    robin = session.get(circles.Supporter, circle.facilitator_id)
    create_supporter(session, name="Coord", coordinator=True)
    assert "Bo is muted" in text(twilio_post, robin.phone, "MUTE bo")
    assert "paused your messages" in text(twilio_post, bo.phone, "hey")
    assert circle_rows(session) == []
    assert "Bo can share again" in text(twilio_post, robin.phone, "unmute Bo")
    assert "Bo is out of Tuesday Circle" in text(twilio_post, robin.phone, "REMOVE Bo")
    told = [row for row in circle_rows(session) if row.to_hash == bo.phone_hash]
    assert len(told) == 1 and "no longer in Tuesday Circle" in told[0].body_enc
    assert session.scalar(select(FollowUp.kind)) == "circle_removal"
    assert "This number is for a peer circle" in text(twilio_post, bo.phone, "let me back")
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.subject_type == "circle"))
    assert {"circle.mute", "circle.unmute", "circle.remove"} <= set(actions)


def test_a_crisis_text_reaches_no_other_member(twilio_post, session) -> None:  # noqa: ANN001
    circle = make_circle(session)
    ana, bo = joined(session, circle, "Ana", "Bo")
    create_supporter(session, name="Coord", coordinator=True)
    answer = text(twilio_post, ana.phone, "I want to kill myself")
    assert "988" in answer
    rows = circle_rows(session)
    assert all("kill" not in row.body_enc for row in rows)
    to_bo = [row.body_enc for row in rows if row.to_hash == bo.phone_hash]
    assert to_bo == ["The facilitator stepped aside for a moment. Please be kind to each other."]
    robin = session.get(circles.Supporter, circle.facilitator_id)
    paged = [row.body_enc for row in rows if row.to_hash == robin.phone_hash]
    assert len(paged) == 1 and "Ana in Tuesday Circle" in paged[0]


def test_no_circle_without_its_facilitator(twilio_post, session) -> None:  # noqa: ANN001
    circle = make_circle(session)
    (ana,) = joined(session, circle, "Ana")
    robin = session.get(circles.Supporter, circle.facilitator_id)
    robin.active = False
    session.commit()
    assert "can't meet without its facilitator" in text(twilio_post, ana.phone, "hello")
    assert circle_rows(session) == []


def test_a_coordinator_stands_in_with_open(twilio_post, session) -> None:  # noqa: ANN001
    circle = make_circle(session, open_now=False)
    (ana,) = joined(session, circle, "Ana")
    coordinator = create_supporter(session, name="Coord", coordinator=True)
    assert "Tuesday Circle is open" in text(twilio_post, coordinator.phone, "OPEN")
    text(twilio_post, ana.phone, "thanks for opening")
    assert [row.body_enc for row in circle_rows(session)] == ["Ana: thanks for opening"]


PHONE_DIGITS = re.compile(r"\d{7,}")


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    words=st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Nd")), min_size=1, max_size=120
    ).filter(lambda words: words.strip()),
    nickname=st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDE ", min_size=1, max_size=12),
)
def test_no_phone_number_in_any_circle_text(session, line, words: str, nickname: str) -> None:  # noqa: ANN001
    """Whatever a member says and whatever they are called, what the circle sends carries no
    phone number: not the sender's, not anyone's."""
    if session.scalar(select(Circle)) is None:
        make_circle(session)
    circle = session.scalar(select(Circle))
    people = circles.members(session, circle)
    if not people:
        joined(session, circle, "Ana", "Bo")
        people = circles.members(session, circle)
    sender = people[0][1]
    sender.nickname = nickname.strip() or None
    replies = circles.route(session, circle, sender, None, words, utcnow())
    session.flush()
    bodies = [*replies, *(row.body_enc for row in session.new if hasattr(row, "body_enc"))]
    bodies += [
        row.body_enc
        for row in session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "circle"))
    ]
    session.rollback()
    for body in bodies:
        assert not PHONE_DIGITS.search(body.replace(" ", "")), body


def test_conference_twiml_for_member_and_facilitator(client, session) -> None:  # noqa: ANN001
    from twilio.request_validator import RequestValidator

    from tests.conftest import AUTH_TOKEN, PUBLIC_URL

    circle = make_circle(session)
    (ana,) = joined(session, circle, "Ana")
    robin = session.get(circles.Supporter, circle.facilitator_id)

    def call(caller: str) -> str:
        form = {"CallSid": "CA" + "1" * 32, "From": caller, "To": CIRCLE_NUMBER}
        signature = RequestValidator(AUTH_TOKEN).compute_signature(
            PUBLIC_URL + "/twilio/voice", form
        )
        response = client.post(
            "/twilio/voice", data=form, headers={"X-Twilio-Signature": signature}
        )
        assert response.status_code == 200
        return response.get_data(as_text=True)

    leads = call(robin.phone)
    assert 'startConferenceOnEnter="true"' in leads and 'endConferenceOnExit="true"' in leads
    joins = call(ana.phone)
    assert 'startConferenceOnEnter="false"' in joins and f"circle-{circle.id}-" in joins
    stranger = call("+12015550999")
    assert "<Conference" not in stranger and "<Hangup" in stranger
    for twiml in (leads, joins, stranger):
        assert ana.phone not in twiml and robin.phone not in twiml


def test_members_are_reminded_once_before_the_window(session, line) -> None:  # noqa: ANN001
    circle = make_circle(session, open_now=False)
    ana, bo = joined(session, circle, "Ana", "Bo")
    start, _end = circles.window(circle, utcnow())
    before = start - timedelta(minutes=30)
    assert clock.sweep(line, before)["circle_reminders"] == 2
    assert clock.sweep(line, before + timedelta(minutes=5))["circle_reminders"] == 0
    fresh(session)
    rows = session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "reminder")).all()
    assert {row.to_hash for row in rows} == {ana.phone_hash, bo.phone_hash}
    assert all("Tuesday Circle meets at 19:00 today" in row.body_enc for row in rows)


def test_cli_adds_a_circle_and_refuses_the_line_number(session) -> None:  # noqa: ANN001
    robin = create_supporter(session, name="Robin")
    with pytest.raises(circles.CircleError, match="number of its own"):
        circles.create(
            session,
            name="X",
            topic=None,
            language="en",
            day="tue",
            starts="19:00",
            ends="20:00",
            timezone=ZONE,
            facilitator_id=robin.id,
            number=LINE,
            actor="test",
        )


@pytest.mark.parametrize("key", sorted(circles.TEXTS))
def test_circle_texts_fit(key: str) -> None:
    values = {
        "name": "Tuesday Circle",
        "when": "Tuesdays 19:00-20:00 CST",
        "number": CIRCLE_NUMBER,
        "nickname": "Ana",
        "names": "Tuesday Circle",
        "time": "19:00",
        "lines": "1. Tuesday Circle, Tuesdays 19:00-20:00 CST;",
    }
    for language, limit in (("en", 1), ("es", 2)):
        body = circles.say(key, language, **values)
        assert segments.count(body).segments <= limit, (key, language, body)


def test_the_admin_adds_a_circle_and_flags_one_its_number_cannot_carry(
    client, line, session
) -> None:  # noqa: ANN001
    from tests.admin_support import logged_in

    robin = create_supporter(session, name="Robin")
    session.add(LineNumber(e164=CIRCLE_NUMBER, purpose="relay"))
    session.commit()
    token = logged_in(client, line, "coordinator")
    form = {
        "csrf_token": token,
        "name": "Evening <b>Circle</b>",
        "language": "en",
        "day": "wed",
        "starts": "19:00",
        "ends": "20:00",
        "timezone": ZONE,
        "facilitator": str(robin.id),
        "number": CIRCLE_NUMBER,
        "size": "15",
    }
    assert client.post("/admin/circles", data=form).status_code == 302
    page = client.get("/admin/circles").get_data(as_text=True)
    assert "Evening &lt;b&gt;Circle&lt;/b&gt;" in page and "Wednesdays 19:00-20:00" in page
    assert "larger than its number can carry" in page  # 15 texts at 1/s: 15 s
    fresh(session)
    assert session.scalar(select(AuditEntry.action).where(AuditEntry.action == "circle.add"))
    viewer = client.application.test_client()
    viewer_token = logged_in(viewer, line, "viewer")
    refused = viewer.post("/admin/circles", data=form | {"csrf_token": viewer_token})
    assert refused.status_code == 403


def test_erasure_takes_a_member_out_of_their_circles(session) -> None:  # noqa: ANN001
    from smsline import erasure

    circle = make_circle(session)
    ana, bo = joined(session, circle, "Ana", "Bo")
    erasure.erase(session, ana, actor="test", now=utcnow())
    session.commit()
    fresh(session)
    assert [person.id for _row, person in circles.members(session, circle)] == [bo.id]
    assert session.scalar(select(CircleMember).where(CircleMember.member_id == ana.id)) is None


def test_a_member_who_cannot_text_is_added_by_staff_and_joins_by_phone(session) -> None:  # noqa: ANN001
    circle = make_circle(session)
    caller = create_member(session, status="active", nickname="Lu")
    circles.add_member(session, circle, caller, actor="admin:coord", now=utcnow())
    session.commit()
    consent = session.scalar(select(Consent).where(Consent.purpose == "circle"))
    assert consent.channel == "staff" and consent.recorded_by == "admin:coord"
    twiml = circles.call(session, caller.phone, CIRCLE_NUMBER, utcnow())
    assert 'startConferenceOnEnter="false"' in twiml and caller.phone not in twiml
    new = create_member(session, status="new")
    with pytest.raises(circles.CircleError):
        circles.add_member(session, circle, new, actor="admin:coord", now=utcnow())


def test_a_circle_message_goes_as_one_job_paced_at_the_numbers_rate(
    config, transport, redis_url, monkeypatch
) -> None:  # noqa: ANN001
    """With RQ, the members' copies of one circle message are one `replies` job that sends them
    in order, one a second (send_rate_per_number): quick, and never faster than the number may."""
    from rq import Queue, SimpleWorker

    from smsline import jobs
    from smsline.line import Line

    line = Line.build(config.with_(redis_url=redis_url), transport=transport)
    jobs.install(line)
    try:
        with line.sessions() as session:
            circle = make_circle(session)
            ana, bo, cy = joined(session, circle, "Ana", "Bo", "Cy")
            circles.route(session, circle, ana, None, "hello all", utcnow())
            line.commit(session)
        queued = Queue("replies", connection=line.queues.redis()).jobs
        assert [job.func_name for job in queued] == ["smsline.jobs.send_paced"]
        (ids,) = queued[0].args
        assert len(ids) == 3  # Bo, Cy and the facilitator
        slept: list[float] = []
        monkeypatch.setattr("time.sleep", slept.append)
        SimpleWorker(["replies"], connection=line.queues.redis()).work(burst=True)
        assert slept == [1.0, 1.0]
        assert sorted(sent.body for sent in transport.sent) == ["Ana: hello all"] * 3
    finally:
        jobs.install(None)
        line.close()
