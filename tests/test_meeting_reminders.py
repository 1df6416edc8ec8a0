"""Weekly meeting reminders (meetings/reminders.py): REMIND n / REMIND n OFF from any state, the
reminder every week at the meeting's local time across daylight saving in several zones, quiet
hours (held, skipped, or allowed early), opted-out members, retired meetings (told once), and a
clock run twice or two clocks at once sending nothing twice."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from smsline import clock, flowstore, outbox, segments
from smsline.meetings import importer, reminders
from smsline.models import Meeting, MeetingSource, MeetingSubscription, Member, OutboundMessage
from tests.factories import create_line_number, create_member, sms_form

NEW_YORK, PHOENIX, LONDON = "America/New_York", "America/Phoenix", "Europe/London"
# Monday 1 March 2027, 12:00 UTC: two weeks before the US clocks go forward (Sunday 14 March),
# four before the UK's (Sunday 28 March). After the tests' real "now" (rows are stamped with it).
START = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)


@pytest.fixture
def shipped(session, line):  # noqa: ANN001, ANN201
    flowstore.sync(session)
    create_line_number(session)
    session.commit()


def create_meeting(session, **fields: object) -> Meeting:  # noqa: ANN001
    source = session.scalar(select(MeetingSource).where(MeetingSource.name == "Intergroup"))
    if source is None:
        source = MeetingSource(name="Intergroup", url="/dev/null", refresh_hours=0)
        session.add(source)
        session.flush()
    fields.setdefault("slug", f"meeting-{session.scalar(select(func.count(Meeting.id)))}")
    fields.setdefault("name", "Monday Morning Serenity")
    fields.setdefault("days", "1")
    fields.setdefault("time", "07:00")
    fields.setdefault("end_time", "08:00")
    fields.setdefault("timezone", NEW_YORK)
    fields.setdefault("attendance", "online")
    meeting = Meeting(source_id=source.id, **fields)
    session.add(meeting)
    session.commit()
    return meeting


def member_with_list(session, meetings: list[Meeting], **fields: object) -> Member:  # noqa: ANN001
    """An active member whose last meeting list showed `meetings`, numbered from 1."""
    fields.setdefault("status", "active")
    fields.setdefault("timezone", NEW_YORK)
    member = create_member(session, **fields)
    member.meeting_list = ",".join(str(meeting.id) for meeting in meetings)
    session.commit()
    return member


def fresh(session) -> None:  # noqa: ANN001
    session.rollback()
    session.expire_all()


def reminder_rows(session, kind: str = "reminder") -> list[OutboundMessage]:  # noqa: ANN001
    fresh(session)
    return list(
        session.scalars(
            select(OutboundMessage).where(OutboundMessage.kind == kind).order_by(OutboundMessage.id)
        )
    )


def subscription(session, member: Member, meeting: Meeting) -> MeetingSubscription:  # noqa: ANN001
    fresh(session)
    return session.scalar(
        select(MeetingSubscription).where(
            MeetingSubscription.member_id == member.id,
            MeetingSubscription.meeting_id == meeting.id,
        )
    )


def say(twilio_post, body: str, sender: str) -> str:  # noqa: ANN001
    response = twilio_post("/twilio/sms", sms_form(body, sender))
    assert response.status_code == 200, response.data
    return response.data.decode()


def local(instant: datetime, timezone: str) -> str:
    return instant.astimezone(ZoneInfo(timezone)).strftime("%a %H:%M")


# --- when ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timezone", "utc_hours"),
    [
        # 07:00 local every Monday, reminded at 06:00 local: the UTC instant moves with the clocks.
        (NEW_YORK, [11, 10, 10, 10, 10]),  # EST (UTC-5) until 14 March, then EDT (UTC-4)
        (LONDON, [6, 6, 6, 5, 5]),  # GMT until 28 March, then BST (UTC+1)
        (PHOENIX, [13, 13, 13, 13, 13]),  # no daylight saving: MST all year
    ],
)
def test_a_weekly_reminder_keeps_local_time_across_daylight_saving(
    session, timezone: str, utc_hours: list[int]
) -> None:  # noqa: ANN001
    meeting = create_meeting(session, timezone=timezone)
    due, instants = START, []
    for _ in range(5):
        due = reminders.next_remind_at(meeting, 60, due)
        instants.append(due)
    assert [instant.hour for instant in instants] == utc_hours
    assert {local(instant, timezone) for instant in instants} == {"Mon 06:00"}
    assert [instant.date().day for instant in instants] == [8, 15, 22, 29, 5]


def test_the_fall_change_and_several_days_and_a_reminder_the_day_before(session) -> None:  # noqa: ANN001
    meeting = create_meeting(session, days="0,3", time="00:30")  # Sun and Wed, half past midnight
    after = datetime(2027, 11, 1, 12, 0, tzinfo=UTC)  # Monday; clocks go back Sunday 7 November
    first = reminders.next_remind_at(meeting, 60, after)
    second = reminders.next_remind_at(meeting, 60, first)
    assert local(first, NEW_YORK) == "Tue 23:30" and first.hour == 3  # EDT
    assert local(second, NEW_YORK) == "Sat 23:30" and second.hour == 3  # EDT still, Saturday
    third = reminders.next_remind_at(meeting, 60, second)
    assert local(third, NEW_YORK) == "Tue 23:30" and third.hour == 4  # EST now


# --- subscribing by keyword ---------------------------------------------------------------------


def test_remind_n_and_remind_n_off_by_text(session, shipped, twilio_post) -> None:  # noqa: ANN001
    evening = create_meeting(session, name="Big Book Study", days="1,4", time="19:00")
    phone = create_meeting(session, name="Noon Phone Group", conference_phone="+16465588656")
    member = member_with_list(session, [evening, phone])

    answer = say(twilio_post, "REMIND 1", member.phone)
    assert "Done: a reminder comes 60 min before Big Book Study, Mon &amp; Thu 7pm E" in answer
    assert "Text REMIND OFF to stop." in answer
    first = subscription(session, member, evening)
    assert first.ended_at is None and first.minutes_before == 60
    assert local(first.next_remind_at, NEW_YORK)[-5:] == "18:00"

    answer = say(twilio_post, "remind 2 30", member.phone)  # 30 minutes before
    assert "a reminder comes 30 min before Noon Phone Group" in answer
    assert subscription(session, member, phone).minutes_before == 30

    answer = say(twilio_post, "REMIND 1 OFF", member.phone)
    assert "OK, no more reminders for Big Book Study" in answer
    ended = subscription(session, member, evening)
    assert ended.next_remind_at is None and ended.ended_at is not None
    assert subscription(session, member, phone).ended_at is None  # the other goes on

    answer = say(twilio_post, "REMIND 1", member.phone)  # again: the same row, restarted
    assert "Done: a reminder comes 60 min before Big Book Study" in answer
    fresh(session)
    assert session.scalar(select(func.count(MeetingSubscription.id))) == 2


def test_remind_in_spanish_and_wrong_numbers_and_off_without_a_number(
    session, shipped, twilio_post
) -> None:  # noqa: ANN001
    first = create_meeting(session, name="Grupo Esperanza", time="19:00")
    second = create_meeting(session, name="Grupo Nueva Vida", time="20:00")
    member = member_with_list(session, [first, second], language="es")

    assert "Listo: te avisamos 60 min antes de Grupo Esperanza, lun 7pm" in say(
        twilio_post, "RECORDAR 1", member.phone
    )
    assert "No veo el número 5 en tu última lista" in say(twilio_post, "recordar 5", member.phone)
    assert "de 5 a 180 minutos antes" in say(twilio_post, "recordar 2 500", member.phone)
    assert "Listo: te avisamos 60 min antes de Grupo Nueva Vida" in say(
        twilio_post, "Recordar 2", member.phone
    )
    # RECORDAR NO with two running: they are listed, numbered, and become the last list.
    answer = say(twilio_post, "RECORDAR NO", member.phone)
    assert "Tus recordatorios: 1. Grupo Esperanza, lun 7pm" in answer
    assert "2. Grupo Nueva Vida, lun 8pm" in answer
    assert "RECORDAR 1 NO" in answer
    assert "Listo, no más recordatorios de Grupo Nueva Vida" in say(
        twilio_post, "recordar 2 no", member.phone
    )
    # Now one runs: REMIND OFF ends it without asking.
    assert "Listo, no más recordatorios de Grupo Esperanza" in say(
        twilio_post, "RECORDAR NO", member.phone
    )
    assert "No tienes recordatorios" in say(twilio_post, "recordar no", member.phone)


def test_remind_with_no_list_or_a_retired_meeting_is_answered_kindly(
    session, shipped, twilio_post
) -> None:  # noqa: ANN001
    meeting = create_meeting(session, retired_at=START)
    stranger = member_with_list(session, [])
    assert "Text MEETINGS to find a meeting first" in say(twilio_post, "REMIND 1", stranger.phone)
    member = member_with_list(session, [meeting])
    assert "that meeting is no longer listed" in say(twilio_post, "REMIND 1", member.phone)
    fresh(session)
    assert session.scalar(select(func.count(MeetingSubscription.id))) == 0


def test_remind_does_not_end_the_flow_that_waits(session, shipped, twilio_post) -> None:  # noqa: ANN001
    meeting = create_meeting(session)
    member = member_with_list(session, [meeting])
    say(twilio_post, "SETTINGS", member.phone)
    assert "Done: a reminder comes" in say(twilio_post, "REMIND 1", member.phone)
    answer = say(twilio_post, "8", member.phone)  # the settings menu still waits: 8 reminders
    assert "Your meeting reminders: 1. Monday Morning Serenity, Mon 7am E" in answer
    assert "Reply 1 to turn off all meeting reminders" in answer


def test_the_settings_flow_turns_all_off_and_allows_early_ones(
    session, shipped, twilio_post
) -> None:  # noqa: ANN001
    first, second = create_meeting(session), create_meeting(session, name="Other", time="12:00")
    member = member_with_list(session, [first, second])
    say(twilio_post, "REMIND 1", member.phone)
    say(twilio_post, "REMIND 2", member.phone)
    say(twilio_post, "SETTINGS", member.phone)
    say(twilio_post, "8", member.phone)
    assert "meeting reminders may come from 6am" in say(twilio_post, "2", member.phone)
    fresh(session)
    assert session.get(Member, member.id).early_reminders is True
    say(twilio_post, "SETTINGS", member.phone)
    say(twilio_post, "8", member.phone)
    assert "Done: meeting reminders are off" in say(twilio_post, "1", member.phone)
    assert subscription(session, member, first).ended_at is not None
    assert subscription(session, member, second).ended_at is not None
    say(twilio_post, "SETTINGS", member.phone)
    answer = say(twilio_post, "8", member.phone)
    assert "You have no meeting reminders" in answer
    assert "only come between 9am and 8pm" in say(twilio_post, "3", member.phone)
    fresh(session)
    assert session.get(Member, member.id).early_reminders is False


# --- the clock ----------------------------------------------------------------------------------


@pytest.mark.parametrize("timezone", [NEW_YORK, LONDON])
def test_the_clock_reminds_every_week_at_seven_local_across_the_change(
    line, session, shipped, transport, timezone: str
) -> None:  # noqa: ANN001
    meeting = create_meeting(
        session,
        timezone=timezone,
        attendance="online",
        conference_phone="+16465588656,,5550002222#",
        conference_phone_notes="Meeting ID 555 000 2222, passcode 1234",
    )
    member = member_with_list(session, [meeting], timezone=timezone, early_reminders=True)
    reminders.subscribe(session, member, meeting, START)
    session.commit()
    due, sent_at = START, []
    for week in range(5):
        due = reminders.next_remind_at(meeting, 60, due)
        assert clock.sweep(line, due - timedelta(minutes=1)).get("reminders_sent", 0) == 0
        assert len(transport.sent) == week
        assert clock.sweep(line, due)["reminders_sent"] == 1
        assert len(transport.sent) == week + 1  # sent by this sweep, at `due`
        sent_at.append(due)
    assert {local(at, timezone) for at in sent_at} == {"Mon 06:00"}
    assert len({at.hour for at in sent_at}) == 2  # the UTC hour moved with the clocks
    body = transport.sent[-1].body
    zone = "EDT" if timezone == NEW_YORK else "BST"
    assert body == (
        f"Reminder: Monday Morning Serenity starts at 7am {zone}. Dial 646-558-8656, "
        "ID 5550002222#, code 1234. Reply REMIND OFF to stop these."
    )
    assert segments.count(body).segments == 1
    assert transport.sent[-1].to == member.phone


def test_running_the_clock_twice_or_two_clocks_at_once_sends_each_once(
    line, session, shipped, transport, monkeypatch
) -> None:  # noqa: ANN001
    monkeypatch.setattr(reminders, "CLAIM", 7)
    meeting = create_meeting(session, time="19:00")
    members = [member_with_list(session, [meeting]) for _ in range(30)]
    for member in members:
        reminders.subscribe(session, member, meeting, START)
    session.commit()
    due = reminders.next_remind_at(meeting, 60, START)
    barrier = threading.Barrier(2)
    results = []

    def clock_process() -> None:
        barrier.wait()
        results.append(clock.sweep(line, due))

    threads = [threading.Thread(target=clock_process) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    again = clock.sweep(line, due)  # the same minute once more
    assert sum(result.get("reminders_sent", 0) for result in [*results, again]) == 30
    assert len(reminder_rows(session)) == 30
    assert len(transport.sent) == 30 and len({message.to for message in transport.sent}) == 30
    assert clock.sweep(line, due + timedelta(minutes=1)).get("reminders_sent", 0) == 0
    fresh(session)
    nexts = set(session.scalars(select(MeetingSubscription.next_remind_at)))
    assert nexts == {due + timedelta(days=7)}


def test_a_lost_claim_is_taken_again_after_it_goes_stale(line, session, shipped) -> None:  # noqa: ANN001
    meeting = create_meeting(session, time="19:00")
    member = member_with_list(session, [meeting])
    reminders.subscribe(session, member, meeting, START)
    session.commit()
    due = reminders.next_remind_at(meeting, 60, START)
    assert reminders.claim(session, due) != []  # a clock claimed, then died before writing
    session.commit()
    assert clock.sweep(line, due + timedelta(minutes=1)).get("reminders_sent", 0) == 0
    later = due + reminders.CLAIM_STALE
    assert clock.sweep(line, later)["reminders_sent"] == 1
    assert len(reminder_rows(session)) == 1


def test_opted_out_members_get_nothing_and_no_row(line, session, shipped, transport) -> None:  # noqa: ANN001
    meeting = create_meeting(session, time="19:00")
    member = member_with_list(session, [meeting])
    reminders.subscribe(session, member, meeting, START)
    outbox.set_opt_out(session, member.phone_hash, True, "keyword")
    session.commit()
    due = reminders.next_remind_at(meeting, 60, START)
    assert clock.sweep(line, due)["reminders_opted_out"] == 1
    assert reminder_rows(session) == [] and transport.sent == []
    kept = subscription(session, member, meeting)  # they may come back with START
    assert kept.next_remind_at == due + timedelta(days=7) and kept.ended_at is None


def test_stop_is_an_opt_out_and_reminders_stop_with_it(
    line, session, shipped, transport, twilio_post
) -> None:  # noqa: ANN001
    meeting = create_meeting(session, time="19:00")
    member = member_with_list(session, [meeting])
    say(twilio_post, "REMIND 1", member.phone)
    say(twilio_post, "STOP", member.phone)
    transport.sent.clear()
    clock.sweep(line, reminders.next_remind_at(meeting, 60, START))
    assert reminder_rows(session) == [] and transport.sent == []


def test_quiet_hours_hold_a_reminder_that_can_still_be_on_time(
    line, session, shipped, transport
) -> None:  # noqa: ANN001
    meeting = create_meeting(session, time="09:30")  # reminded 8:30, texting from 9am
    member = member_with_list(session, [meeting])
    reminders.subscribe(session, member, meeting, START)
    session.commit()
    due = reminders.next_remind_at(meeting, 60, START)
    assert local(due, NEW_YORK) == "Mon 08:30"
    assert clock.sweep(line, due)["reminders_sent"] == 1
    assert transport.sent == []  # held
    [row] = reminder_rows(session)
    assert local(row.next_attempt_at, NEW_YORK) == "Mon 09:00"
    clock.sweep(line, due + timedelta(minutes=30))
    assert len(transport.sent) == 1 and "starts at 9:30am EST" in transport.sent[0].body


def test_quiet_hours_skip_a_reminder_that_would_come_late_unless_early_ones_are_allowed(
    line, session, shipped, transport
) -> None:  # noqa: ANN001
    meeting = create_meeting(session)  # 07:00, reminded at 06:00; the line texts from 9am
    sleeper = member_with_list(session, [meeting])
    early = member_with_list(session, [meeting], early_reminders=True)
    too_early = member_with_list(session, [meeting], early_reminders=True)
    for member in (sleeper, early):
        reminders.subscribe(session, member, meeting, START)
    reminders.subscribe(session, too_early, meeting, START, minutes_before=120)  # 5am: before 6
    session.commit()
    due = reminders.next_remind_at(meeting, 120, START)
    assert local(due, NEW_YORK) == "Mon 05:00"
    assert clock.sweep(line, due)["reminders_sent"] == 1  # written, held until 6am: on time
    assert transport.sent == []
    counts = clock.sweep(line, due + timedelta(hours=1))
    assert counts["reminders_sent"] == 1 and counts["reminders_quiet"] == 1
    assert sorted(message.to for message in transport.sent) == sorted(
        [early.phone, too_early.phone]
    )
    skipped = subscription(session, sleeper, meeting)
    assert local(skipped.next_remind_at, NEW_YORK) == "Mon 06:00"  # next week's, not late
    assert skipped.next_remind_at > due + timedelta(days=6)


def test_a_clock_that_was_down_past_the_start_sends_nothing_late(line, session, shipped) -> None:  # noqa: ANN001
    meeting = create_meeting(session, time="19:00")
    member = member_with_list(session, [meeting])
    reminders.subscribe(session, member, meeting, START)
    session.commit()
    due = reminders.next_remind_at(meeting, 60, START)
    assert clock.sweep(line, due + timedelta(hours=2))["reminders_late"] == 1
    assert reminder_rows(session) == []
    assert subscription(session, member, meeting).next_remind_at == due + timedelta(days=7)


def test_discreet_members_never_see_the_name_or_the_place(
    line, session, shipped, transport
) -> None:  # noqa: ANN001
    meeting = create_meeting(
        session,
        name="Alano Club AA Big Book",
        time="19:00",
        attendance="in_person",
        location="Alano Club",
        formatted_address="12 Elm St, Springfield, IL 62701",
    )
    member = member_with_list(session, [meeting], discreet=True)
    confirmation = reminders.subscribe(session, member, meeting, START)
    assert confirmation == (
        "Done: a reminder comes 60 min before your group, Mon 7pm EST. Text REMIND OFF to stop."
    )
    session.commit()
    clock.sweep(line, reminders.next_remind_at(meeting, 60, START))
    assert transport.sent[0].body == (
        "Reminder: your group starts at 7pm EST. At 12 Elm St. Reply REMIND OFF to stop these."
    )


def test_an_online_meeting_gives_its_link_and_spanish_fits_two_segments(session) -> None:  # noqa: ANN001
    meeting = create_meeting(
        session,
        name="Grupo Esperanza en Línea, Reunión de los Lunes",
        conference_url="https://zoom.us/j/5550001111?pwd=abcdefghijklmnop",
    )
    member = member_with_list(session, [meeting], language="es")
    starts = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    body = reminders.reminder_text(member, meeting, starts)
    assert body.startswith("Recordatorio: Grupo Esperanza")
    assert "Entra: https://zoom.us/j/5550001111?pwd=abcdefghijklmnop" in body
    assert segments.count(body).segments <= 2


# --- retired meetings ---------------------------------------------------------------------------


def test_a_retired_meetings_subscribers_are_told_once_and_reminded_no_more(
    line, session, shipped, transport
) -> None:  # noqa: ANN001
    meeting = create_meeting(session, time="19:00", slug="going")
    kept = create_meeting(session, time="19:00", slug="staying", name="Staying Group")
    members = [member_with_list(session, [meeting, kept]) for _ in range(2)]
    opted = member_with_list(session, [meeting])
    discreet = member_with_list(session, [meeting], discreet=True, language="es")
    for member in [*members, opted, discreet]:
        reminders.subscribe(session, member, meeting, START)
    reminders.subscribe(session, members[0], kept, START)
    ended = member_with_list(session, [meeting])
    reminders.subscribe(session, ended, meeting, START)
    reminders.unsubscribe(session, ended, meeting, START)
    outbox.set_opt_out(session, opted.phone_hash, True, "keyword")
    session.commit()

    source = session.get(MeetingSource, meeting.source_id)
    retire_at = START + timedelta(hours=1)
    assert importer.retired_meetings(session, source, {"staying"}, retire_at) == [meeting]
    session.commit()
    notices = reminder_rows(session, "notice")
    assert [row.member_id for row in notices] == [members[0].id, members[1].id, discreet.id]
    assert notices[0].body_enc == (
        "Monday Morning Serenity is no longer on the meeting list, so reminders for it have "
        "stopped. Text MEETINGS to find another."
    )
    assert notices[2].body_enc.startswith("Tu grupo de lun 7pm EST ya no está en nuestra lista")
    assert {row.queue for row in notices} == {"bulk"}

    # Retired again by a later import, or the clock at the old reminder time: nothing more.
    importer.retired_meetings(session, source, {"staying"}, retire_at + timedelta(hours=1))
    session.commit()
    clock.sweep(line, reminders.next_remind_at(meeting, 60, START))
    assert len(reminder_rows(session, "notice")) == 3
    assert [row.member_id for row in reminder_rows(session)] == [members[0].id]  # "staying"
    gone = subscription(session, members[1], meeting)
    assert gone.next_remind_at is None and gone.retired_notice_at == retire_at
    assert gone.ended_at == retire_at


def test_a_meeting_back_in_the_feed_keeps_its_subscriptions_ended(session, shipped) -> None:  # noqa: ANN001
    meeting = create_meeting(session, slug="back")
    member = member_with_list(session, [meeting])
    reminders.subscribe(session, member, meeting, START)
    session.commit()
    source = session.get(MeetingSource, meeting.source_id)
    importer.retired_meetings(session, source, set(), START)
    meeting.retired_at = None  # the next import lists it again
    session.commit()
    assert subscription(session, member, meeting).ended_at is not None
    fresh(session)
    member = session.get(Member, member.id)
    meeting = session.get(Meeting, meeting.id)
    assert "Done: a reminder comes" in reminders.subscribe(session, member, meeting, START)


def test_a_meeting_the_feed_moves_takes_its_reminders_along(session, shipped) -> None:  # noqa: ANN001
    meeting = create_meeting(session, slug="moving", time="19:00")
    member = member_with_list(session, [meeting])
    reminders.subscribe(session, member, meeting, START)
    session.commit()
    meeting.time = "18:00"
    reminders.rescheduled(session, meeting, START)
    session.commit()
    assert local(subscription(session, member, meeting).next_remind_at, NEW_YORK) == "Mon 17:00"
