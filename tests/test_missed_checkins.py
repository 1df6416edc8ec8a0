"""Missed check-ins over simulated days: nothing after one or two, one kind text after three, the
coordinators told after five, nothing more after that, and an answer starts over; LATER and a
partial answer are not misses; opted-out members get nothing; discreet members get discreet words."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import select

from smsline import clock, flowstore, outbox, segments, settings
from smsline.models import AuditEntry
from smsline.texts import TEXTS
from tests.checkin_days import (
    CHICAGO,
    answer_a_day,
    day,
    enrol,
    followups,
    last_conversation,
    miss_a_day,
    reload,
    rows,
    say,
)
from tests.factories import create_line_number, create_supporter

SENSITIVE = re.compile(
    r"recover|recupera|drink|drug|droga|alcohol|crav|sober|sobri|relaps|reca[ií]da|slip|"
    r"\bused\b|consum|addict|adicci|mood|ánimo",
    re.IGNORECASE,
)


@pytest.fixture
def shipped(session, line):  # noqa: ANN001, ANN201
    flowstore.sync(session)
    create_line_number(session)
    session.commit()


@pytest.fixture
def coordinator(session):  # noqa: ANN001, ANN201
    return create_supporter(session, name="Robin", coordinator=True, timezone="America/Chicago")


def test_misses_reach_out_once_then_tell_the_coordinators_once(
    line, session, shipped, coordinator, transport
) -> None:  # noqa: ANN001
    member = enrol(session)
    for number in (0, 1):
        miss_a_day(line, number)
    assert reload(session, member).checkins_missed == 2
    assert rows(session, "outreach") == [] and followups(session, "outreach") == []

    miss_a_day(line, 2)  # the third in a row: one kind text, held until the morning
    (outreach,) = rows(session, "outreach")
    assert outreach.body_enc == (
        "Hi Sam, just thinking of you. No pressure to check in; we're here when you want us. "
        "Text PEER any time."
    )
    assert outreach.queue == "bulk" and outreach.member_id == member.id
    assert outreach.next_attempt_at == datetime(2027, 6, 12, 9, 0, tzinfo=CHICAGO)
    assert followups(session, "outreach") == []

    miss_a_day(line, 3)
    assert rows(session, "outreach")[0].status == "sent"  # went out with day 3's sweep
    assert len(rows(session, "outreach")) == 1 and followups(session, "outreach") == []

    miss_a_day(line, 4)  # the fifth: the coordinators are told, in their morning
    (followup,) = followups(session, "outreach")
    assert followup.member_id == member.id
    (page,) = rows(session, "followup")
    assert page.supporter_id == coordinator.id
    assert "Sam hasn't checked in for a while; maybe reach out" in page.body_enc
    assert page.next_attempt_at == datetime(2027, 6, 14, 9, 0, tzinfo=CHICAGO)

    for number in (5, 6):
        miss_a_day(line, number)
    assert len(rows(session, "outreach")) == 1
    assert len(followups(session, "outreach")) == 1 and len(rows(session, "followup")) == 1
    quiet = reload(session, member)
    assert (quiet.checkins_missed, quiet.checkin_streak) == (7, 0)
    assert quiet.status == "active" and quiet.next_checkin_at == day(7)


def test_an_answer_starts_the_count_over(
    line, session, shipped, coordinator, twilio_post, monkeypatch
) -> None:  # noqa: ANN001
    member = enrol(session)
    for number in (0, 1):
        miss_a_day(line, number)
    answer_a_day(line, twilio_post, monkeypatch, member, 2, "4")
    back = reload(session, member)
    assert (back.checkins_missed, back.checkin_streak) == (0, 1)
    for number in (3, 4):
        miss_a_day(line, number)
    assert rows(session, "outreach") == []  # two misses since the answer, not four
    miss_a_day(line, 5)
    assert len(rows(session, "outreach")) == 1  # a new run of three
    answer_a_day(line, twilio_post, monkeypatch, member, 6, "3")
    for number in range(7, 10):
        miss_a_day(line, number)
    assert len(rows(session, "outreach")) == 2  # and once more after the next answer
    assert followups(session, "outreach") == []


def test_the_thresholds_are_settings(line, session, shipped, coordinator) -> None:  # noqa: ANN001
    settings.set_value(session, "missed_checkins_before_outreach", "2", actor="test")
    settings.set_value(session, "missed_checkins_before_coordinator", "2", actor="test")
    session.commit()
    member = enrol(session)
    miss_a_day(line, 0)
    assert rows(session, "outreach") == []
    miss_a_day(line, 1)
    assert len(rows(session, "outreach")) == 1
    assert [f.member_id for f in followups(session, "outreach")] == [member.id]


def test_later_is_not_a_miss(line, session, shipped, twilio_post, monkeypatch) -> None:  # noqa: ANN001
    member = enrol(session)
    for number in range(4):
        assert clock.sweep(line, day(number))["checkins"] == 1
        assert "about an hour" in say(
            twilio_post, monkeypatch, day(number, 10, 5), "LATER", member.phone
        )
        assert clock.sweep(line, day(number, 11, 5))["checkins"] == 1  # asked again
        assert "about an hour" in say(
            twilio_post, monkeypatch, day(number, 11, 10), "later", member.phone
        )
        clock.sweep(line, day(number + 1, 2))
    assert reload(session, member).checkins_missed == 0
    assert rows(session, "outreach") == []


def test_a_partial_answer_is_not_a_miss(line, session, shipped, twilio_post, monkeypatch) -> None:  # noqa: ANN001
    """A mood alone, then silence: the check-in is saved and counts as answered."""
    member = enrol(session)
    miss_a_day(line, 0)
    assert reload(session, member).checkins_missed == 1
    assert clock.sweep(line, day(1))["checkins"] == 1
    say(twilio_post, monkeypatch, day(1, 10, 1), "4", member.phone)
    clock.sweep(line, day(1, 12, 1))  # the craving question times out: saved
    assert last_conversation(session, member).ended_reason == "done"
    again = reload(session, member)
    assert (again.checkins_missed, again.checkin_streak) == (0, 1)


def test_a_partial_answer_that_expires_unsaved_is_not_a_miss(
    line, session, shipped, twilio_post, monkeypatch
) -> None:  # noqa: ANN001
    """A clock down past the expiry: the check-in expires before its timeout saved it, but the
    member did answer."""
    member = enrol(session)
    miss_a_day(line, 0)
    assert clock.sweep(line, day(1))["checkins"] == 1
    say(twilio_post, monkeypatch, day(1, 10, 1), "4", member.phone)
    clock.sweep(line, day(2, 2, 1))
    assert last_conversation(session, member).ended_reason == "expired"
    again = reload(session, member)
    assert (again.checkins_missed, again.checkin_streak) == (0, 1)


def test_an_interrupted_checkin_is_not_a_miss(
    line, session, shipped, twilio_post, monkeypatch
) -> None:  # noqa: ANN001
    """A member who texts MEETINGS (or anything that starts another flow) talked to us."""
    member = enrol(session)
    assert clock.sweep(line, day(0))["checkins"] == 1
    say(twilio_post, monkeypatch, day(0, 10, 5), "MENU", member.phone)
    clock.sweep(line, day(1, 2, 1))
    assert reload(session, member).checkins_missed == 0


def test_opted_out_members_get_no_outreach(line, session, shipped, coordinator, transport) -> None:  # noqa: ANN001
    """Opted out after two misses: the third check-in, already sent, expires with no outreach, no
    count and no coordinator; later check-ins are not sent at all."""
    member = enrol(session)
    for number in (0, 1):
        miss_a_day(line, number)
    assert clock.sweep(line, day(2))["checkins"] == 1
    outbox.set_opt_out(session, member.phone_hash, True, "keyword")
    session.commit()
    clock.sweep(line, day(3, 2, 1))
    for number in range(3, 8):
        clock.sweep(line, day(number))
        clock.sweep(line, day(number + 1, 2, 1))
    assert rows(session, "outreach") == [] and followups(session, "outreach") == []
    assert reload(session, member).checkins_missed == 2
    assert not any("thinking of you" in sent.body for sent in transport.sent)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            "Hi Sam, just thinking of you. No pressure at all; we're here whenever you want to "
            "talk. Text PEER any time.",
        ),
        (
            "es",
            "Hola Sam, pensamos en ti. Sin presión; aquí estamos cuando quieras hablar. "
            "Escribe HABLAR cuando sea.",
        ),
    ],
)
def test_discreet_members_get_discreet_words(line, session, shipped, language, expected) -> None:  # noqa: ANN001
    enrol(session, discreet=True, language=language)
    for number in range(3):
        miss_a_day(line, number)
    (outreach,) = rows(session, "outreach")
    assert outreach.body_enc == expected
    assert not SENSITIVE.search(outreach.body_enc)


def test_a_member_without_a_nickname_is_greeted_warmly(line, session, shipped) -> None:  # noqa: ANN001
    enrol(session, nickname=None, language="es")
    for number in range(3):
        miss_a_day(line, number)
    (outreach,) = rows(session, "outreach")
    assert outreach.body_enc.startswith("Hola de nuevo, pensamos en ti.")


@pytest.mark.parametrize("key", ["outreach", "outreach_discreet", "outreach_page", "risk_page"])
def test_the_texts_fit_and_say_nothing_of_health(key: str) -> None:
    """One segment in English, two (UCS-2) in Spanish, with a 12-letter name; no health words."""
    limits = {"en": 1, "es": 2}
    for language, template in TEXTS[key].items():
        body = template.format(
            name="Alexandrina", who="Alexandrina", program="Recovery Line", followup=12345
        )
        assert segments.count(body).segments <= limits[language], (language, body)
        assert not SENSITIVE.search(body.replace("Recovery Line", "")), body


def test_the_outreach_is_audited_without_details(line, session, shipped) -> None:  # noqa: ANN001
    member = enrol(session)
    for number in range(3):
        miss_a_day(line, number)
    session.rollback()
    (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "checkin.outreach"))
    assert (entry.subject_type, entry.subject_id) == ("member", member.id)
    assert entry.details_json == '{"missed_in_a_row": 3}'
