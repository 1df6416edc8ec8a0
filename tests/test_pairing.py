"""Pairing (smsline/pairing.py) and supporters' commands (smsline/supporters.py): offers to the
on-call supporters who fit, the first YES wins (also under real concurrency), escalation by tier
on the clock, the member told honestly and promised, the promise kept."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from smsline import pairing, settings, supporters
from smsline.models import Exclusion, Offer, OutboundMessage, Pairing, PeerRequest
from tests.factories import create_member, create_shift, create_supporter

CHICAGO = ZoneInfo("America/Chicago")
EVENING = datetime(2027, 6, 9, 19, 0, tzinfo=CHICAGO)


def on_shift(session, supporter, tier: str = "primary") -> None:  # noqa: ANN001
    create_shift(session, supporter, tier)


def texts_to(session, person) -> list[str]:  # noqa: ANN001
    session.flush()
    column = (
        OutboundMessage.member_id
        if person.__class__.__name__ == "Member"
        else OutboundMessage.supporter_id
    )
    rows = session.scalars(
        select(OutboundMessage).where(column == person.id).order_by(OutboundMessage.id)
    )
    return [row.body_enc for row in rows]


def the_request(session, member) -> PeerRequest:  # noqa: ANN001
    return session.scalar(select(PeerRequest).where(PeerRequest.member_id == member.id))


def test_offers_go_to_everyone_fitting_and_the_first_yes_wins(session) -> None:  # noqa: ANN001
    ana = create_supporter(session, name="Ana", timezone="America/Chicago")
    ben = create_supporter(session, name="Ben", timezone="America/Chicago")
    on_shift(session, ana)
    on_shift(session, ben)
    sam = create_member(session, nickname="Sam", status="active")
    (reply,) = pairing.request(session, sam, "keyword", EVENING)
    assert "finding a peer" in reply
    for supporter in (ana, ben):
        assert texts_to(session, supporter) == [
            "Recovery Line: a member would like to talk (English). Reply YES to take it or PASS."
        ]
    (won,) = supporters.handle(session, ben, "Yes!", EVENING + timedelta(minutes=1))
    assert "You're connected with Sam" in won
    (late,) = supporters.handle(session, ana, "yes", EVENING + timedelta(minutes=2))
    assert late == "Thanks, Ana! Someone else already took that one."
    assert texts_to(session, ana)[-1] == late  # told when Ben took it, too
    (pair,) = session.scalars(select(Pairing)).all()
    assert (pair.member_id, pair.supporter_id, pair.status) == (sam.id, ben.id, "active")
    assert the_request(session, sam).status == "paired"
    assert texts_to(session, sam) == [
        "Ben, a peer from Recovery Line, is here for you. Just text here. Text DONE when "
        "you're finished."
    ]
    assert pairing.request(session, sam, "keyword", EVENING)[0].startswith(
        "You're already talking with Ben."
    )


def test_nobody_on_call_is_said_at_once_and_the_promise_is_kept(session) -> None:  # noqa: ANN001
    ana = create_supporter(session, name="Ana", timezone="America/Chicago")
    sam = create_member(session, nickname="Sam", status="active")
    (reply,) = pairing.request(session, sam, "keyword", EVENING)
    assert reply.startswith("Sorry, no peer is on call right now.") and "988" in reply
    assert (the_request(session, sam).status, the_request(session, sam).promised) == (
        "unmet",
        True,
    )
    assert pairing.escalate_due(session, EVENING + timedelta(minutes=1)) == 0
    assert texts_to(session, ana) == []
    assert "haven't forgotten" in pairing.request(session, sam, "keyword", EVENING)[0]
    supporters.handle(session, ana, "ON", EVENING + timedelta(minutes=30))
    assert pairing.escalate_due(session, EVENING + timedelta(minutes=31)) == 1
    assert "would like to talk" in texts_to(session, ana)[-1]
    supporters.handle(session, ana, "YES", EVENING + timedelta(minutes=32))
    assert texts_to(session, sam)[-1].startswith("Ana, a peer from Recovery Line, is here")


def test_no_answer_escalates_tier_by_tier_then_the_member_is_promised(session) -> None:  # noqa: ANN001
    ana = create_supporter(session, name="Ana", timezone="America/Chicago")
    ben = create_supporter(session, name="Ben", timezone="America/Chicago")
    cam = create_supporter(session, name="Cam", timezone="America/Chicago", coordinator=True)
    on_shift(session, ana)
    on_shift(session, ben, "backup")
    on_shift(session, cam, "coordinator")
    sam = create_member(session, nickname="Sam", status="active")
    pairing.request(session, sam, "checkin", EVENING)
    assert [len(texts_to(session, s)) for s in (ana, ben, cam)] == [1, 0, 0]
    assert pairing.escalate_due(session, EVENING + timedelta(minutes=4)) == 0  # not yet
    assert pairing.escalate_due(session, EVENING + timedelta(minutes=5)) == 1
    assert [len(texts_to(session, s)) for s in (ana, ben, cam)] == [1, 1, 0]
    pairing.escalate_due(session, EVENING + timedelta(minutes=10))
    assert [len(texts_to(session, s)) for s in (ana, ben, cam)] == [1, 1, 1]
    assert texts_to(session, sam) == []  # still within the wait: no news is no noise
    pairing.escalate_due(session, EVENING + timedelta(minutes=15))  # peer_wait_minutes
    (promise,) = texts_to(session, sam)
    assert promise.startswith("No peer is free yet")
    assert the_request(session, sam).status == "unmet"
    pairing.escalate_due(session, EVENING + timedelta(minutes=20))
    assert len(texts_to(session, sam)) == 1  # told once
    supporters.handle(session, ana, "1", EVENING + timedelta(minutes=25))  # a late YES still wins
    assert the_request(session, sam).status == "paired"
    assert texts_to(session, sam)[-1].startswith("Ana, a peer")


def test_coordinators_are_offered_again_a_bounded_number_of_times(session) -> None:  # noqa: ANN001
    cam = create_supporter(session, name="Cam", timezone="America/Chicago", coordinator=True)
    on_shift(session, cam, "coordinator")
    settings.set_value(session, "peer_wait_minutes", "60", actor="test")
    settings.set_value(session, "peer_offer_rounds", "2", actor="test")
    session.commit()
    sam = create_member(session, nickname="Sam", status="active")
    pairing.request(session, sam, "keyword", EVENING)
    for minutes in range(5, 60, 5):
        pairing.escalate_due(session, EVENING + timedelta(minutes=minutes))
    assert len(texts_to(session, cam)) == 3  # the offer and two repeats
    assert texts_to(session, sam)[-1].startswith("No peer is free yet")


def test_who_fits_language_capacity_preference_and_exclusions(session) -> None:  # noqa: ANN001
    ana = create_supporter(session, name="Ana", languages="es,en", gender="woman")
    ben = create_supporter(session, name="Ben", languages="en", gender="man")
    eva = create_supporter(session, name="Eva", languages="es", gender="woman", max_active=1)
    for supporter in (ana, ben, eva):
        supporter.timezone = "America/Chicago"
        on_shift(session, supporter)
    luz = create_member(session, nickname="Luz", status="active", language="es")
    names = [entry.supporter.name for entry in pairing.fitting(session, luz, EVENING)]
    assert names == ["Ana", "Eva"]  # Spanish speakers first, when any is on call
    session.add(Pairing(member_id=create_member(session).id, supporter_id=eva.id))
    session.add(Exclusion(member_id=luz.id, supporter_id=ana.id, by="member"))
    session.commit()
    # Eva is at capacity and Luz excluded Ana: nobody speaking Spanish is free, so Ben, someone
    # rather than no one.
    assert [entry.supporter.name for entry in pairing.fitting(session, luz, EVENING)] == ["Ben"]
    kim = create_member(session, nickname="Kim", status="active", peer_preference="woman")
    assert [e.supporter.name for e in pairing.fitting(session, kim, EVENING)] == ["Ana"]


def test_the_previous_supporter_is_offered_first(session) -> None:  # noqa: ANN001
    ana = create_supporter(session, name="Ana", timezone="America/Chicago")
    ben = create_supporter(session, name="Ben", timezone="America/Chicago")
    on_shift(session, ana)
    on_shift(session, ben)
    sam = create_member(session, nickname="Sam", status="active")
    session.add(Pairing(member_id=sam.id, supporter_id=ben.id, status="ended"))
    session.commit()
    pairing.request(session, sam, "keyword", EVENING)
    assert (len(texts_to(session, ana)), len(texts_to(session, ben))) == (0, 1)
    supporters.handle(session, ben, "pass", EVENING + timedelta(minutes=1))  # everyone passed:
    assert pairing.escalate_due(session, EVENING + timedelta(minutes=1)) == 1  # on at once
    assert len(texts_to(session, ana)) == 1


def test_supporters_on_off_and_status(session) -> None:  # noqa: ANN001
    ana = create_supporter(session, name="Ana", timezone="America/Chicago")
    noon = datetime(2027, 6, 9, 12, 0, tzinfo=CHICAGO)
    assert supporters.handle(session, ana, "status", noon) == [
        "Ana: you're off call. Talking with: nobody. Text ON to go on call."
    ]
    assert supporters.handle(session, ana, " on ", noon) == [
        "You're on call until 8:00 PM. Text OFF to stop. Thank you!"
    ]
    sam = create_member(session, nickname="Sam", status="active")
    session.add(Pairing(member_id=sam.id, supporter_id=ana.id))
    session.commit()
    assert supporters.handle(session, ana, "STATUS", noon) == [
        "Ana: you're on call until 8:00 PM. Talking with: Sam."
    ]
    assert supporters.handle(session, ana, "off", noon) == [
        "You're off call now. Thank you for being there."
    ]
    assert supporters.handle(session, ana, "what now?", noon) == [
        "Supporter commands: ON, OFF, STATUS, YES to take an offer, PASS to decline."
    ]
    assert supporters.handle(session, ana, "yes", noon) == [
        "Thanks, Ana. There's no offer waiting for you right now."
    ]


def test_first_yes_wins_under_real_concurrency(line, session) -> None:  # noqa: ANN001
    """Twelve supporters answer YES at the same instant, each in its own transaction and thread
    (PostgreSQL: row locks; SQLite: one writer at a time): exactly one pairing."""
    team = [
        create_supporter(session, name=f"S{index}", timezone="America/Chicago")
        for index in range(12)
    ]
    for supporter in team:
        on_shift(session, supporter)
    sam = create_member(session, nickname="Sam", status="active")
    pairing.request(session, sam, "keyword", EVENING)
    session.commit()
    barrier = threading.Barrier(len(team))
    answers: list[str] = []

    def answer(supporter_id: int) -> None:
        barrier.wait()
        with line.sessions() as own:
            supporter = own.get(type(team[0]), supporter_id)
            (reply,) = supporters.handle(own, supporter, "YES", EVENING + timedelta(minutes=1))
            own.commit()
            answers.append(reply)

    threads = [threading.Thread(target=answer, args=(s.id,)) for s in team]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    session.rollback()
    session.expire_all()
    assert sum("You're connected" in reply for reply in answers) == 1
    assert sum("already took" in reply for reply in answers) == len(team) - 1
    assert session.scalar(select(func.count()).select_from(Pairing)) == 1
    statuses = sorted(offer.status for offer in session.scalars(select(Offer)))
    assert statuses == ["taken"] * (len(team) - 1) + ["won"]


def test_a_crisis_pages_everyone_on_call_and_the_roster_names_the_coordinators(session) -> None:  # noqa: ANN001
    from smsline import coordinators

    ana = create_supporter(session, name="Ana", timezone="America/Chicago")
    ben = create_supporter(session, name="Ben", timezone="America/Chicago")
    cam = create_supporter(session, name="Cam", timezone="America/Chicago", coordinator=True)
    dee = create_supporter(session, name="Dee", timezone="America/Chicago", coordinator=True)
    on_shift(session, ana)
    on_shift(session, ben, "backup")
    sam = create_member(session, nickname="Sam", status="active")
    # No coordinator on the roster: every active coordinator is told (a page never goes to nobody).
    assert coordinators.on_call(session, EVENING) == [cam, dee]
    coordinators.tell(session, kind="crisis", text_key="crisis_page", member=sam, now=EVENING)
    paged = {row.supporter_id for row in session.scalars(select(OutboundMessage))}
    assert paged == {ana.id, ben.id, cam.id, dee.id}  # all tiers at once, for a crisis
    assert {row.kind for row in session.scalars(select(OutboundMessage))} == {"page"}
    on_shift(session, dee, "coordinator")
    assert coordinators.on_call(session, EVENING) == [dee]
    session.execute(OutboundMessage.__table__.delete())
    coordinators.tell(session, kind="outreach", text_key="outreach_page", member=sam, now=EVENING)
    paged = {row.supporter_id for row in session.scalars(select(OutboundMessage))}
    assert paged == {dee.id}  # anything else: the coordinators on call only


def test_a_warmline_is_offered_to_members_left_waiting_when_the_line_has_one(session) -> None:  # noqa: ANN001
    sam = create_member(session, nickname="Sam", status="active")
    (plain,) = pairing.request(session, sam, "keyword", EVENING)
    assert "warmline" not in plain
    settings.set_value(session, "warmline", "1-855-555-0100", actor="test")
    session.commit()
    luz = create_member(session, nickname="Luz", status="active", language="es")
    (with_warmline,) = pairing.request(session, luz, "keyword", EVENING)
    assert with_warmline.endswith("O llama al 1-855-555-0100.")
    from smsline import segments

    assert segments.count(with_warmline).segments <= 2
