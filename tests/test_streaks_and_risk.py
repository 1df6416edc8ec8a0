"""Streaks and risk over simulated days: milestones are cheered and a miss resets the streak without
a word; a hard day opens a follow-up for supporters and offers a peer, at most once a day."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from smsline import clock, flowstore
from smsline.models import AuditEntry
from tests.checkin_days import (
    CHICAGO,
    answer_a_day,
    day,
    enrol,
    followups,
    miss_a_day,
    reload,
    rows,
    say,
)
from tests.factories import create_line_number, create_supporter

GOOD_DAY = ("4", "1", "no", "skip")  # mood, craving, used, no note: the thanks comes at once
HARD_DAY = ("2", "8", "no", "skip")  # a low mood and a strong craving
OFFER = "Want a peer to text you today?"
CHEER = "check-ins in a row. Proud of you for showing up."


@pytest.fixture
def shipped(session, line):  # noqa: ANN001, ANN201
    flowstore.sync(session)
    create_line_number(session)
    session.commit()


@pytest.fixture
def coordinator(session):  # noqa: ANN001, ANN201
    return create_supporter(session, name="Robin", coordinator=True, timezone="America/Chicago")


def test_milestones_are_cheered(line, session, shipped, twilio_post, monkeypatch) -> None:  # noqa: ANN001
    member = enrol(session)
    replies = [
        answer_a_day(line, twilio_post, monkeypatch, member, number, *GOOD_DAY)
        for number in range(8)
    ]
    cheered = {number + 1 for number, reply in enumerate(replies) if CHEER in reply}
    assert cheered == {3, 7}
    assert "Thanks for checking in. That's 3 check-ins in a row." in replies[2]
    assert "That's 7 check-ins in a row." in replies[6]
    assert "Glad you're here today" in replies[3]
    back = reload(session, member)
    assert (back.checkin_streak, back.checkins_missed) == (8, 0)
    assert back.last_checkin_on == day(7).astimezone(CHICAGO).date()


def test_a_second_checkin_the_same_day_does_not_grow_the_streak(
    line, session, shipped, twilio_post, monkeypatch
) -> None:  # noqa: ANN001
    member = enrol(session)
    answer_a_day(line, twilio_post, monkeypatch, member, 0, *GOOD_DAY)
    say(twilio_post, monkeypatch, day(0, 15), "CHECKIN", member.phone)
    for index, text in enumerate(GOOD_DAY):
        say(twilio_post, monkeypatch, day(0, 15, 1 + index), text, member.phone)
    assert reload(session, member).checkin_streak == 1


def test_a_miss_resets_the_streak_without_a_word(
    line, session, shipped, twilio_post, monkeypatch, transport
) -> None:  # noqa: ANN001
    member = enrol(session)
    for number in range(2):
        answer_a_day(line, twilio_post, monkeypatch, member, number, *GOOD_DAY)
    assert reload(session, member).checkin_streak == 2
    sent_before = len(transport.sent)
    miss_a_day(line, 2)
    assert reload(session, member).checkin_streak == 0
    # The day's check-in and its nudge went out; nothing about the streak, nothing else.
    bodies = [message.body for message in transport.sent[sent_before:]]
    assert len(bodies) == 2 and not any("row" in body or "streak" in body for body in bodies)
    reply = answer_a_day(line, twilio_post, monkeypatch, member, 3, *GOOD_DAY)
    assert CHEER not in reply and "Glad you" in reply
    assert reload(session, member).checkin_streak == 1


def test_a_hard_day_opens_a_follow_up_and_offers_a_peer_once_a_day(
    line, session, shipped, coordinator, twilio_post, monkeypatch
) -> None:  # noqa: ANN001
    member = enrol(session)
    reply = answer_a_day(line, twilio_post, monkeypatch, member, 0, *HARD_DAY)
    assert OFFER in reply
    (followup,) = followups(session, "risk")
    assert followup.member_id == member.id
    (page,) = rows(session, "followup")
    assert page.supporter_id == coordinator.id
    assert page.body_enc == (
        f"Recovery Line: member Sam could use a check-in from a peer today. "
        f"Please check the follow-up queue (#{followup.id})."
    )
    assert reload(session, member).peer_offered_on == datetime(2027, 6, 9).date()

    # Later the same day the member checks in again, still having a hard time: no second offer,
    # no second follow-up, a warm word and PEER.
    say(twilio_post, monkeypatch, day(0, 19), "CHECKIN", member.phone)
    replies = [
        say(twilio_post, monkeypatch, day(0, 19, 1 + index), text, member.phone)
        for index, text in enumerate(("1", "9", "yes", "skip"))
    ]
    assert not any(OFFER in r or "Would it help to talk with a peer" in r for r in replies)
    assert "if you want someone to talk to, just text PEER" in replies[-1]
    assert len(followups(session, "risk")) == 1 and len(rows(session, "followup")) == 1

    # The next day is a new day: the offer comes again.
    reply = answer_a_day(line, twilio_post, monkeypatch, member, 1, *HARD_DAY)
    assert OFFER in reply
    assert len(followups(session, "risk")) == 2


def test_the_risk_page_waits_for_the_coordinators_morning(
    line, session, shipped, coordinator, twilio_post, monkeypatch, transport
) -> None:  # noqa: ANN001
    """A hard check-in at 22:00 (CHECKIN by text): the member is offered a peer at once (and
    declines); the coordinator's text waits until 09:00, their time."""
    member = enrol(session)
    say(twilio_post, monkeypatch, day(0, 22), "CHECKIN", member.phone)
    replies = [
        say(twilio_post, monkeypatch, day(0, 22, 1 + index), text, member.phone)
        for index, text in enumerate(HARD_DAY)
    ]
    assert OFFER in replies[-1]
    say(twilio_post, monkeypatch, day(0, 22, 6), "no", member.phone)
    (page,) = rows(session, "followup")
    assert page.status == "pending"
    assert page.next_attempt_at == datetime(2027, 6, 10, 9, 0, tzinfo=CHICAGO)
    assert transport.sent == []
    clock.sweep(line, day(1, 9, 1))
    assert [message.to for message in transport.sent] == [coordinator.phone]


def test_the_risk_follow_up_is_audited_without_answers(
    line, session, shipped, coordinator, twilio_post, monkeypatch
) -> None:  # noqa: ANN001
    member = enrol(session)
    answer_a_day(line, twilio_post, monkeypatch, member, 0, "1", "10", "yes", "it was bad")
    session.rollback()
    (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "risk.page"))
    assert entry.details_json == '{"coordinators_paged": 1}'
    (page,) = rows(session, "followup")
    assert "bad" not in page.body_enc and "10" not in page.body_enc


def test_a_member_who_said_no_to_peer_offers_gets_none_after_a_hard_day(
    line, session, shipped, coordinator, twilio_post, monkeypatch
) -> None:  # noqa: ANN001
    """Withdrawing peer offers (settings, choices, 5) stops only those: the check-in goes on,
    the member hears PEER still works, and no offer or risk follow-up comes."""
    member = enrol(session)
    say(twilio_post, monkeypatch, day(0, 8), "SETTINGS", member.phone)
    say(twilio_post, monkeypatch, day(0, 8, 1), "9", member.phone)
    asked = say(twilio_post, monkeypatch, day(0, 8, 2), "5", member.phone)
    assert "Peer offers: YES" in asked
    done = say(twilio_post, monkeypatch, day(0, 8, 3), "no", member.phone)
    assert "no peer offers after check-ins" in done
    reply = answer_a_day(line, twilio_post, monkeypatch, member, 0, *HARD_DAY)
    assert OFFER not in reply and "Would it help to talk with a peer" not in reply
    assert "just text PEER" in reply
    assert followups(session, "risk") == []
    # Saying yes again brings the offers back.
    say(twilio_post, monkeypatch, day(1, 8), "SETTINGS", member.phone)
    say(twilio_post, monkeypatch, day(1, 8, 1), "9", member.phone)
    say(twilio_post, monkeypatch, day(1, 8, 2), "5", member.phone)
    say(twilio_post, monkeypatch, day(1, 8, 3), "yes", member.phone)
    assert OFFER in answer_a_day(line, twilio_post, monkeypatch, member, 1, *HARD_DAY)
