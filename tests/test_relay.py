"""The masked relay (smsline/relay.py): a relay number per member of a supporter, tags when the
pool runs out, DONE and the one-tap rating, NEW PEER, HANDOFF, BACKUP, BLOCK, quiet endings; and a
property: no relayed text carries the other side's number, and every one comes from a line number."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select

from smsline import pairing, relay, supporters
from smsline.models import (
    AuditEntry,
    Exclusion,
    FollowUp,
    LineNumber,
    Member,
    OutboundMessage,
    Pairing,
    Supporter,
)
from tests.factories import create_line_number, create_member, create_shift, create_supporter

CHICAGO = ZoneInfo("America/Chicago")
EVENING = datetime(2027, 6, 9, 19, 0, tzinfo=CHICAGO)
LINE = "+15005550006"
RELAYS = ["+15005550101", "+15005550102"]


def on_shift(session, supporter, tier: str = "primary") -> None:  # noqa: ANN001
    create_shift(session, supporter, tier)


def paired(session, supporter, nickname: str) -> Pairing:  # noqa: ANN001
    member = create_member(session, nickname=nickname, status="active")
    pairing.request(session, member, "keyword", EVENING)
    supporters.handle(session, supporter, "YES", EVENING)
    session.flush()
    return session.scalar(select(Pairing).where(Pairing.member_id == member.id))


def last_to(session, **who) -> OutboundMessage:  # noqa: ANN003
    session.flush()
    ((column, value),) = who.items()
    return session.scalar(
        select(OutboundMessage)
        .where(getattr(OutboundMessage, column) == value)
        .order_by(OutboundMessage.id.desc())
        .limit(1)
    )


def test_each_member_gets_a_relay_number_then_a_tag(session) -> None:  # noqa: ANN001
    create_line_number(session, LINE)
    for number in RELAYS:
        session.add(LineNumber(e164=number, purpose="relay"))
    ana = create_supporter(session, name="Ana", timezone="America/Chicago", max_active=4)
    on_shift(session, ana)
    first, second, third = (paired(session, ana, name) for name in ("Sam", "Luz", "Sam"))
    numbers = {row.id: row.e164 for row in session.scalars(select(LineNumber))}
    assert [numbers.get(p.relay_number_id) for p in (first, second)] == RELAYS
    assert (third.relay_number_id, third.tag) == (None, "Sam")
    sam = first.member_id
    relay.from_member(session, session.get(Member, sam), first, "rough day", EVENING)
    sent = last_to(session, supporter_id=ana.id)
    assert (sent.body_enc, sent.from_number) == ("rough day", RELAYS[0])
    third_member = session.get(Member, third.member_id)
    relay.from_member(session, third_member, third, "hello?", EVENING)
    sent = last_to(session, supporter_id=ana.id)
    assert (sent.body_enc, sent.from_number) == ("[Sam] hello?", LINE)
    # Ana answers: at a relay number it goes to that member; at the line, by tag.
    found, words = relay.for_supporter(session, ana, RELAYS[1], "how are you?")
    assert (found.id, words) == (second.id, "how are you?")
    found, words = relay.for_supporter(session, ana, LINE, "Sam: I'm here")
    assert (found.id, words) == (third.id, "I'm here")
    relay.from_supporter(session, ana, found, words, EVENING)
    sent = last_to(session, member_id=third.member_id)
    assert (sent.body_enc, sent.from_number) == ("I'm here", LINE)


def test_done_ends_it_for_both_and_one_digit_rates_it(session) -> None:  # noqa: ANN001
    create_line_number(session, LINE)
    ana = create_supporter(session, name="Ana", timezone="America/Chicago")
    on_shift(session, ana)
    chat = paired(session, ana, "Sam")
    sam = session.get(Member, chat.member_id)
    assert (
        relay.member_command("Done.") == "done" and relay.member_command("new  peer") == "new_peer"
    )
    relay.end(session, chat, "member", EVENING + timedelta(minutes=20))
    assert chat.status == "ended" and chat.ended_by == "member"
    assert last_to(session, member_id=sam.id).body_enc.startswith("Your chat with Ana has ended.")
    assert last_to(session, supporter_id=ana.id).body_enc == (
        "Your chat with Sam has ended. Thank you for being there."
    )
    assert relay.rate(session, sam, "hello", EVENING) is None
    assert relay.rate(session, sam, "4", EVENING + timedelta(minutes=21)) == (
        "Thank you for telling us. Take care."
    )
    assert chat.rating == 4
    assert relay.rate(session, sam, "5", EVENING + timedelta(minutes=22)) is None  # once


def test_new_peer_goes_to_someone_else(session) -> None:  # noqa: ANN001
    create_line_number(session, LINE)
    ana = create_supporter(session, name="Ana", timezone="America/Chicago")
    ben = create_supporter(session, name="Ben", timezone="America/Chicago")
    on_shift(session, ana)
    chat = paired(session, ana, "Sam")  # Ben was offered too, and told it was taken
    sam = session.get(Member, chat.member_id)
    (reply,) = relay.new_peer(session, sam, chat, EVENING + timedelta(minutes=5))
    assert chat.status == "ended" and chat.ended_by == "new_peer"
    assert last_to(session, supporter_id=ana.id).body_enc == (
        "Sam has moved on to another peer. Thank you for being there."
    )
    assert reply.startswith("Sorry, no peer is on call")  # Ana is not offered again
    on_shift(session, ben)
    pairing.escalate_due(session, EVENING + timedelta(minutes=6))
    assert "would like to talk" in last_to(session, supporter_id=ben.id).body_enc


def test_handoff_backup_and_block(session) -> None:  # noqa: ANN001
    create_line_number(session, LINE)
    ana = create_supporter(session, name="Ana", timezone="America/Chicago")
    cam = create_supporter(session, name="Cam", timezone="America/Chicago", coordinator=True)
    on_shift(session, ana)
    on_shift(session, cam, "coordinator")
    chat = paired(session, ana, "Sam")
    assert relay.backup(session, ana, chat, EVENING).startswith("The coordinators on call")
    assert chat.status == "active"
    assert (
        "asks for backup in their chat with Sam" in last_to(session, supporter_id=cam.id).body_enc
    )
    handed = relay.handoff(session, ana, chat, EVENING + timedelta(minutes=1))
    assert handed == "Thanks. A coordinator is taking over with Sam; your chat has ended."
    assert "would like to talk" in last_to(session, supporter_id=cam.id).body_enc
    sam = session.get(Member, chat.member_id)
    assert last_to(session, member_id=sam.id).body_enc.startswith("Ana has asked one of our")
    supporters.handle(session, cam, "yes", EVENING + timedelta(minutes=2))
    with_cam = session.scalar(
        select(Pairing).where(Pairing.supporter_id == cam.id, Pairing.status == "active")
    )
    assert with_cam.member_id == sam.id
    luz_chat = paired(session, ana, "Luz")
    assert relay.block(session, ana, luz_chat, EVENING + timedelta(minutes=3)).startswith("Done:")
    luz = session.get(Member, luz_chat.member_id)
    assert session.scalar(select(Exclusion).where(Exclusion.member_id == luz.id)).by == "supporter"
    assert last_to(session, member_id=luz.id).body_enc.startswith("This conversation has ended.")
    kinds = sorted(f.kind for f in session.scalars(select(FollowUp)))
    assert kinds == ["backup", "block"]
    assert [e.supporter.name for e in pairing.fitting(session, luz, EVENING)] == ["Cam"]


def test_quiet_pairings_end_gently(session) -> None:  # noqa: ANN001
    create_line_number(session, LINE)
    ana = create_supporter(session, name="Ana", timezone="America/Chicago")
    on_shift(session, ana)
    chat = paired(session, ana, "Sam")
    assert relay.end_quiet(session, EVENING + timedelta(minutes=119)) == 0
    assert relay.end_quiet(session, EVENING + timedelta(minutes=120)) == 1
    assert (chat.status, chat.ended_by) == ("ended", "quiet")


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    member_words=st.text(min_size=1, max_size=120),
    supporter_words=st.text(min_size=1, max_size=120),
)
def test_relayed_texts_never_carry_the_other_sides_number(
    session, member_words: str, supporter_words: str
) -> None:  # noqa: ANN001
    """Whatever either side writes, the relayed text is their words (and a tag), from one of the
    line's numbers, and never holds the digits of the other side's number."""
    if session.scalar(select(LineNumber).where(LineNumber.e164 == LINE)) is None:
        create_line_number(session, LINE)
        session.add(LineNumber(e164=RELAYS[0], purpose="relay"))
        ana = create_supporter(session, "+12025550123", name="Ana", timezone="America/Chicago")
        on_shift(session, ana)
        paired(session, ana, "Sam")
    chat = session.scalar(select(Pairing).where(Pairing.status == "active"))
    supporter = session.get(Supporter, chat.supporter_id)
    member = session.get(Member, chat.member_id)
    ours = set(session.scalars(select(LineNumber.e164)))
    relay.from_member(session, member, chat, member_words, EVENING)
    to_supporter = last_to(session, supporter_id=supporter.id)
    relay.from_supporter(session, supporter, chat, supporter_words, EVENING)
    to_member = last_to(session, member_id=member.id)
    assert to_supporter.from_number in ours and to_member.from_number in ours
    assert to_supporter.body_enc == member_words and to_member.body_enc == supporter_words
    member_digits = member.phone.lstrip("+")
    supporter_digits = supporter.phone.lstrip("+")
    assert member_digits not in to_supporter.body_enc or member_digits in member_words
    assert supporter_digits not in to_member.body_enc or supporter_digits in supporter_words
    assert to_supporter.to_hash == supporter.phone_hash and to_member.to_hash == member.phone_hash


def test_supporters_route_their_texts_by_number_tag_or_command(session) -> None:  # noqa: ANN001
    create_line_number(session, LINE)
    session.add(LineNumber(e164=RELAYS[0], purpose="relay"))
    ana = create_supporter(session, name="Ana", timezone="America/Chicago", max_active=3)
    on_shift(session, ana)
    first = paired(session, ana, "Sam")  # gets the relay number
    second = paired(session, ana, "Luz")  # the pool is used up: a tag
    assert supporters.route(session, ana, RELAYS[0], "on my way", EVENING) == []
    assert last_to(session, member_id=first.member_id).body_enc == "on my way"
    assert supporters.route(session, ana, LINE, "Luz: hi Luz", EVENING) == []
    assert last_to(session, member_id=second.member_id).body_enc == "hi Luz"
    assert supporters.route(session, ana, LINE, "hi there", EVENING) == []  # her only tagged one
    assert last_to(session, member_id=second.member_id).body_enc == "hi there"
    (status,) = supporters.route(session, ana, LINE, "status", EVENING)
    assert status.endswith("Talking with: Sam, Luz.")
    assert supporters.route(session, ana, RELAYS[0], "status", EVENING) == []  # words for Sam
    assert last_to(session, member_id=first.member_id).body_enc == "status"
    assert supporters.route(session, ana, RELAYS[0], "DONE", EVENING) == []
    assert first.status == "ended"
    assert supporters.route(session, ana, LINE, "Luz: done", EVENING) == []
    assert second.status == "ended"
    (helped,) = supporters.route(session, ana, LINE, "hello?", EVENING)
    assert helped.startswith("Supporter commands")


def test_members_route_while_paired_and_a_crisis_still_reaches_the_supporter(session) -> None:  # noqa: ANN001
    create_line_number(session, LINE)
    ana = create_supporter(session, name="Ana", timezone="America/Chicago")
    on_shift(session, ana)
    chat = paired(session, ana, "Sam")
    sam = session.get(Member, chat.member_id)
    assert relay.member_route(session, sam, "thanks for this", EVENING) == []
    assert last_to(session, supporter_id=ana.id).body_enc == "[Sam] thanks for this"
    relay.crisis(session, sam, "i want to die", "en", EVENING)
    session.flush()
    to_ana = session.scalars(
        select(OutboundMessage.body_enc)
        .where(OutboundMessage.supporter_id == ana.id)
        .order_by(OutboundMessage.id.desc())
        .limit(2)
    ).all()
    assert to_ana[1] == "[Sam] i want to die"
    assert to_ana[0].startswith("Your member may be in crisis; they were sent this:")
    assert "988" in to_ana[0]
    assert relay.member_route(session, sam, "done", EVENING) == []
    assert chat.status == "ended"
    assert relay.member_route(session, sam, "5", EVENING) == [
        "Thank you for telling us. Take care."
    ]
    assert relay.member_route(session, sam, "hello", EVENING) is None  # not the relay's


def test_done_from_a_supporter_with_a_long_id_ends_the_pairing(session) -> None:  # noqa: ANN001
    """`ended_by` keeps the kind; the audit keeps who ("supporter:12345" would not fit)."""
    create_line_number(session, LINE)
    session.add(LineNumber(e164=RELAYS[0], purpose="relay"))
    ana = create_supporter(session, name="Ana", timezone="America/Chicago", id=12345)
    on_shift(session, ana)
    chat = paired(session, ana, "Sam")
    assert supporters.route(session, ana, RELAYS[0], "DONE", EVENING) == []
    session.commit()
    assert chat.status == "ended" and chat.ended_by == "supporter"
    actors = session.scalars(select(AuditEntry.actor).where(AuditEntry.action == "peer.ended"))
    assert list(actors) == ["supporter:12345"]
