"""Routing of inbound texts: crisis first, then compliance (STOP/START/HELP), then the rest."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from smsline import outbox
from smsline.models import AuditEntry, FollowUp, InboundMessage, OptOut, OutboundMessage
from smsline.rules.crisis import NOT_CRISIS_EXAMPLES
from tests.factories import create_member, create_supporter, phone, sms_form

STOP_FORMS = [
    "STOP",
    "stop",
    " Stop. ",
    "STOPALL",
    "unsubscribe",
    "Cancel!",
    "END",
    "quit",
    "REVOKE",
    "optout",
    "PARAR",
    "parar!!",
    "please stop texting me",
    "No more texts",
    "no me manden mas mensajes",
    "No me manden más mensajes.",
]
NOT_OPT_OUTS = [
    "I can't stop using",
    "I want to stop drinking",
    "how do I stop cravings",
    "I stopped using 30 days ago",
    "don't stop texting me",
    "the end of my rope",
]


def text(twilio_post, body: str, sender: str, **extra: str) -> bytes:  # noqa: ANN001
    response = twilio_post("/twilio/sms", sms_form(body, sender, **extra))
    assert response.status_code == 200, response.data
    return response.data


def opted_out(session, number: str) -> bool:  # noqa: ANN001
    from smsline import crypto

    session.rollback()  # a fresh snapshot (SQLite WAL keeps the old one inside a transaction)
    session.expire_all()
    return outbox.is_opted_out(session, crypto.current().index(number))


@pytest.mark.parametrize("word", STOP_FORMS)
def test_every_stop_form_opts_out_with_one_confirmation(twilio_post, session, word) -> None:  # noqa: ANN001
    sender = phone()
    first = text(twilio_post, word, sender)
    assert b"START" in first
    assert opted_out(session, sender)
    again = text(twilio_post, word, sender)
    assert b"<Message" not in again  # already out: no second confirmation


def test_spanish_stop_is_confirmed_in_spanish(twilio_post) -> None:  # noqa: ANN001
    assert "no recibirás".encode() in text(twilio_post, "PARAR", phone())


@pytest.mark.parametrize("words", NOT_OPT_OUTS)
def test_recovery_talk_is_not_an_opt_out(twilio_post, session, words) -> None:  # noqa: ANN001
    sender = phone()
    text(twilio_post, words, sender)
    assert not opted_out(session, sender)


@pytest.mark.parametrize("word", ["START", "unstop", "Start!", "YES", "si"])
def test_start_forms_opt_back_in_with_one_confirmation(twilio_post, session, word) -> None:  # noqa: ANN001
    sender = phone()
    text(twilio_post, "STOP", sender)
    answer = text(twilio_post, word, sender)
    assert b"Welcome back" in answer or b"Bienvenido" in answer
    assert not opted_out(session, sender)


def test_yes_is_not_an_opt_in_when_not_opted_out(twilio_post, session) -> None:  # noqa: ANN001
    assert b"Welcome back" not in text(twilio_post, "YES", phone())


@pytest.mark.parametrize(
    "word,expected",
    [
        ("HELP", b"Msg &amp; data rates may apply"),
        ("info", b"Reply STOP to opt out"),
        ("Ayuda", b"tarifas"),
        ("help?", b"988"),
    ],
)
def test_help_forms_answer_the_compliance_text(twilio_post, word, expected) -> None:  # noqa: ANN001
    answer = text(twilio_post, word, phone())
    assert expected in answer
    assert b"Recovery Line" in answer


def test_opted_out_number_gets_no_reply_but_the_text_is_kept(twilio_post, session) -> None:  # noqa: ANN001
    sender = phone()
    text(twilio_post, "STOP", sender)
    assert b"<Message" not in text(twilio_post, "hello again", sender)
    bodies = [
        m.body_enc for m in session.scalars(select(InboundMessage).order_by(InboundMessage.id))
    ]
    assert bodies == ["STOP", "hello again"]


def test_twilio_advanced_opt_out_is_recorded_and_nothing_more_sent(twilio_post, session) -> None:  # noqa: ANN001
    sender = phone()
    answer = text(twilio_post, "STOP", sender, OptOutType="STOP")
    assert b"<Message" not in answer
    assert opted_out(session, sender)
    assert b"<Message" not in text(twilio_post, "START", sender, OptOutType="START")
    assert not opted_out(session, sender)
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["consent.stop", "consent.start"]


def test_no_automated_text_reaches_an_opted_out_number(line, session, transport) -> None:  # noqa: ANN001
    member = create_member(session)
    outbox.set_opt_out(session, member.phone_hash, True, "keyword")
    session.commit()
    for kind in ("checkin", "reminder", "notice", "reply", "page"):
        outbox.write(
            session, to=member.phone, body="Time to check in?", kind=kind, member_id=member.id
        )
    line.commit(session)
    assert transport.sent == []
    statuses = session.scalars(select(OutboundMessage.status)).all()
    assert statuses == ["suppressed"] * 5


def test_opt_out_after_writing_is_honoured_at_send_time(line, session, transport) -> None:  # noqa: ANN001
    member = create_member(session)
    row = outbox.write(session, to=member.phone, body="Checking in", kind="checkin")
    session.commit()  # written but not handed over yet
    outbox.set_opt_out(session, member.phone_hash, True, "keyword")
    session.commit()
    assert outbox.send(line, row.id) == "suppressed"
    assert transport.sent == []


# Crisis ------------------------------------------------------------------------------------------


def test_crisis_text_gets_resources_and_pages_every_active_coordinator(
    twilio_post, session, transport
) -> None:  # noqa: ANN001, E501
    coordinators = [create_supporter(session, coordinator=True, name=n) for n in ("Ana", "Bo")]
    create_supporter(session, coordinator=True, name="Gone", active=False)
    create_supporter(session, name="Peer")
    answer = text(twilio_post, "i just want to die tonight", phone())
    assert b"988" in answer and b"911" in answer
    assert sorted(m.to for m in transport.sent) == sorted(c.phone for c in coordinators)
    page = transport.sent[0].body
    assert "crisis" in page and "die" not in page  # no words of the member's text
    assert session.scalar(select(FollowUp.kind)) == "crisis"
    audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "crisis.page"))
    assert audit is not None and '"coordinators_paged": 2' in audit.details_json


def test_overdose_reply_leads_with_911_and_naloxone(twilio_post) -> None:  # noqa: ANN001
    answer = text(twilio_post, "my friend is od'ing", phone()).decode()
    assert answer.index("911") < answer.index("988")
    assert "naloxone" in answer


def test_spanish_crisis_gets_a_spanish_reply(twilio_post) -> None:  # noqa: ANN001
    assert b"Llama o escribe al 988" in text(twilio_post, "me quiero matar", phone())


def test_crisis_is_never_read_as_stop(twilio_post, session) -> None:  # noqa: ANN001
    sender = phone()
    answer = text(twilio_post, "stop. i want to kill myself", sender)
    assert b"988" in answer
    assert not opted_out(session, sender)


def test_crisis_reaches_an_opted_out_number_and_pages_at_night(
    twilio_post, session, transport
) -> None:  # noqa: ANN001, E501
    coordinator = create_supporter(session, coordinator=True)
    sender = phone()
    text(twilio_post, "STOP", sender)
    answer = text(twilio_post, "kms", sender)
    assert b"988" in answer
    assert [m.to for m in transport.sent] == [coordinator.phone]


def test_coordinators_can_extend_the_crisis_phrases(twilio_post, session, line) -> None:  # noqa: ANN001
    from smsline import settings

    assert b"988 now" not in text(twilio_post, "going to walk into the lake", phone())
    settings.set_value(
        session, "crisis_phrases", "walk into the lake, overdose: fent", actor="test"
    )
    session.commit()
    assert b"988 now" in text(twilio_post, "going to walk into the lake", phone())
    assert b"naloxone" in text(twilio_post, "think i took bad fent", phone())


@pytest.mark.parametrize("words", NOT_CRISIS_EXAMPLES)
def test_false_positives_get_no_crisis_reply_and_no_page(
    twilio_post, session, transport, words
) -> None:  # noqa: ANN001, E501
    create_supporter(session, coordinator=True)
    answer = text(twilio_post, words, phone())
    assert b"988 now" not in answer and b"911" not in answer
    assert transport.sent == []
    assert session.scalar(select(FollowUp.id)) is None


def test_crisis_from_a_supporter_pages_the_other_coordinators(
    twilio_post, session, transport
) -> None:  # noqa: ANN001, E501
    me = create_supporter(session, coordinator=True, name="Me")
    other = create_supporter(session, coordinator=True, name="Other")
    assert b"988" in text(twilio_post, "i want to die", me.phone)
    assert [m.to for m in transport.sent] == [other.phone]


def test_no_opt_out_row_is_written_for_a_repeat_start(twilio_post, session) -> None:  # noqa: ANN001
    sender = phone()
    text(twilio_post, "START", sender)
    assert session.scalar(select(OptOut)) is None
