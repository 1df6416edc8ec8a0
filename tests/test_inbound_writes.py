"""How an inbound text is written: the inbound row and its replies' outbox rows in Core INSERTs
(one statement on PostgreSQL for a single reply, with the conversation's new position), the
sender found in one query, and everything personal still encrypted at rest."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from smsline import flowstore, inbound, outbox
from smsline.models import Conversation, InboundMessage, Member, OutboundMessage
from tests.factories import create_line_number, create_member, phone, sms_form
from tests.sql_trace import commands, kinds, statements


@pytest.fixture(autouse=True)
def flows(session) -> None:  # noqa: ANN001
    """The shipped flows, published as `release` does: every text runs `welcome` first."""
    flowstore.sync(session)
    session.commit()


def _cached(statement: str) -> bool:
    """A read of what each process caches for 5 seconds (settings, the latest flow versions,
    the circles' numbers): it comes whenever the cache runs out, whatever the text."""
    return any(
        f"FROM {table}" in statement for table in ("settings", "flow_versions", "line_numbers")
    )


def test_reply_columns_are_the_keys_of_a_reply_row() -> None:
    record = InboundMessage(from_hash="h", from_enc="+12015550000", to_number="+15005550006")
    row = outbox.reply_row(inbound=record, reply_index=0, body="hi", kind="reply", opted_out=False)
    assert tuple(row) == inbound.REPLY_COLUMNS
    assert row["status"] == "replied"
    held = outbox.reply_row(inbound=record, reply_index=0, body="hi", kind="reply", opted_out=True)
    assert held["status"] == "suppressed" and held["sent_at"] is None


def test_a_returning_members_text_takes_few_statements(
    twilio_post, line, session, monkeypatch
) -> None:  # noqa: ANN001
    create_line_number(session)
    sender = phone()
    assert twilio_post("/twilio/sms", sms_form("hi", sender)).status_code == 200
    seen = statements(line, monkeypatch)
    assert twilio_post("/twilio/sms", sms_form("hi, checking in", sender)).status_code == 200
    kinds = [
        statement.split(" ")[0]
        for statement in seen
        if not statement.startswith("BEGIN") and not _cached(statement)
    ]
    if line.engine.dialect.name == "postgresql":
        assert kinds == ["SELECT", "WITH"]  # who; inbound, the conversation's move and the reply
        assert "moved AS (UPDATE conversations SET" in seen[-1]
    else:
        assert kinds == ["SELECT", "UPDATE", "INSERT", "INSERT"]
    session.rollback()
    rows = session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()
    assert [(row.status, row.reply_index, row.kind) for row in rows] == [
        ("replied", 0, "reply")
    ] * 2
    assert all(row.inbound_id is not None and row.member_id is not None for row in rows)


def test_two_replies_are_written_with_their_inbound_row(twilio_post, session) -> None:  # noqa: ANN001
    form = sms_form("hello", phone(), NumMedia="1", MediaUrl0="https://api.twilio.com/x.jpg")
    response = twilio_post("/twilio/sms", form)
    assert response.status_code == 200 and response.data.count(b"<Message") == 2
    session.rollback()
    record = session.scalar(select(InboundMessage))
    rows = session.scalars(select(OutboundMessage).order_by(OutboundMessage.reply_index)).all()
    assert [row.reply_index for row in rows] == [0, 1]
    assert {row.inbound_id for row in rows} == {record.id}
    assert b"r=" + form["MessageSid"].encode() + b".1" in response.data


def test_phones_and_bodies_stay_encrypted_at_rest(twilio_post, session) -> None:  # noqa: ANN001
    sender = phone()
    twilio_post("/twilio/sms", sms_form("a secret worth keeping", sender))
    twilio_post("/twilio/sms", sms_form("another secret", sender))
    session.rollback()
    raw = (
        session.execute(text("SELECT from_enc, body_enc, reply_enc FROM inbound_messages")).all()
        + session.execute(text("SELECT to_enc, body_enc, to_enc FROM outbound_messages")).all()
    )
    assert len(raw) == 4
    for row in raw:
        for value in row:
            stored = bytes(value)
            assert b"secret" not in stored and sender.encode() not in stored
            assert stored.startswith(b"gAAAAA")  # a Fernet token
    answers = session.execute(text("SELECT answers_enc FROM conversations")).scalar()
    assert bytes(answers).startswith(b"gAAAAA")


def test_the_position_update_keeps_the_loaded_conversation_in_step(twilio_post, session) -> None:  # noqa: ANN001
    sender = phone()
    twilio_post("/twilio/sms", sms_form("hi", sender))
    twilio_post("/twilio/sms", sms_form("what is this", sender))  # not an answer: asked again
    session.rollback()
    conversation = session.scalar(select(Conversation))
    assert (conversation.flow_name, conversation.state, conversation.tries) == (
        "welcome",
        "consent",
        1,
    )
    assert conversation.expires_at is not None and conversation.status == "active"


def test_a_new_senders_member_and_conversation_are_the_rows_a_flush_writes(
    twilio_post,
    line,
    session,
    monkeypatch,  # noqa: ANN001
) -> None:
    """The first text writes its member and conversation by Core INSERTs: every column as the ORM
    would have written it (defaults included), the phone encrypted at rest."""
    from smsline import crypto
    from smsline.models import Member

    sender = phone()
    seen = statements(line, monkeypatch)
    assert twilio_post("/twilio/sms", sms_form("hi", sender)).status_code == 200
    assert sum(statement.startswith("INSERT INTO members") for statement in seen) == 1
    assert sum("INSERT INTO conversations" in statement for statement in seen) == 1
    kinds = [statement.split(" ")[0] for statement in seen if not _cached(statement)]
    if line.engine.dialect.name == "postgresql":  # who, the member, conversation + inbound + reply
        assert kinds == ["SELECT", "INSERT", "WITH"], seen
    session.rollback()
    member = session.scalar(select(Member))
    by_orm = Member(status="new")
    by_orm.phone = phone()
    session.add(by_orm)
    session.flush()
    skip = {"id", "phone_hash", "phone_enc", "created_at", "updated_at"}
    columns = [column.key for column in Member.__table__.c if column.key not in skip]
    assert {key: getattr(member, key) for key in columns} == {
        key: getattr(by_orm, key) for key in columns
    }
    assert member.created_at is not None and member.updated_at is not None
    assert member.phone == sender and member.phone_hash == crypto.current().index(sender)
    stored = session.execute(
        text("SELECT phone_enc FROM members WHERE id = :id"), {"id": member.id}
    )
    assert sender.encode() not in bytes(stored.scalar_one())
    conversation = session.scalar(select(Conversation))
    assert (conversation.member_id, conversation.flow_name, conversation.status) == (
        member.id,
        "welcome",
        "active",
    )
    assert (conversation.channel, conversation.tries, conversation.timed_out) == ("sms", 0, False)
    assert conversation.started_at is not None and conversation.expires_at is not None
    session.rollback()
    assert twilio_post("/twilio/sms", sms_form("yes", sender)).status_code == 200
    session.rollback()
    session.refresh(conversation)
    assert conversation.state != "start" or conversation.status == "ended"  # moved on by its id
    session.rollback()


def test_a_waiting_move_is_written_before_any_other_statement_and_dropped_by_rollback(
    session,  # noqa: ANN001
) -> None:
    """conversations._move defers its UPDATE; nothing may read the row before it is written."""
    from smsline import conversations
    from tests.factories import create_member

    member = create_member(session)
    conversation = Conversation(member_id=member.id, flow_name="menu", state="start")
    session.add(conversation)
    session.commit()
    position = dict.fromkeys(conversations.POSITION) | {
        "state": "text",
        "tries": 2,
        "status": "active",
    }
    position |= {"answers_enc": "{}", "timed_out": False, "updated_at": conversation.started_at}
    conversations._move(session, conversation, **position)
    assert session.info["moves"]
    # A Core read in the same transaction sees the new position: the move went first.
    state = session.execute(
        select(Conversation.__table__.c.state).where(Conversation.id == conversation.id)
    ).scalar_one()
    assert state == "text" and "moves" not in session.info
    session.commit()

    conversations._move(session, conversation, **(position | {"state": "later"}))
    session.rollback()
    assert "moves" not in session.info
    session.expire_all()
    assert session.get(Conversation, conversation.id).state == "text"


def test_a_returning_members_text_needs_no_begin_or_commit(
    twilio_post, line, session, monkeypatch
) -> None:  # noqa: ANN001
    """On PostgreSQL the webhook's one write is one statement: no BEGIN, no COMMIT round trips."""
    if line.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (SMSLINE_TEST_DATABASE_URL): BEGIN and COMMIT are psycopg's")
    create_line_number(session)
    sender = phone()
    assert twilio_post("/twilio/sms", sms_form("hi", sender)).status_code == 200
    sent = commands(line, monkeypatch)
    assert twilio_post("/twilio/sms", sms_form("hi, checking in", sender)).status_code == 200
    assert kinds(sent) == ["SELECT", "WITH"]  # who; then the one write, outside any transaction
    session.rollback()
    assert session.scalar(select(func.count()).select_from(InboundMessage)) == 2
    conversation = session.scalar(select(Conversation).order_by(Conversation.id.desc()))
    assert conversation.tries >= 1  # the re-prompt moved the conversation on, in that statement


def test_a_new_senders_writes_are_one_transaction(twilio_post, line, session, monkeypatch) -> None:  # noqa: ANN001
    """Several writes: BEGIN before the first, COMMIT at the end; a failure leaves nothing."""
    if line.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (SMSLINE_TEST_DATABASE_URL): BEGIN and COMMIT are psycopg's")
    create_line_number(session)
    sent = commands(line, monkeypatch)
    assert twilio_post("/twilio/sms", sms_form("hello", phone())).status_code == 200
    sent = kinds(sent)
    writes = [kind for kind in sent if not kind.startswith("SELECT")]
    assert writes[0] == "BEGIN" and writes[-1] == "COMMIT+", sent
    assert all(kind.endswith("+") for kind in writes[1:]), sent
    assert sent[0] == "SELECT"  # who is texting: read before the transaction begins

    # The write statement fails after the member was inserted: the member goes too.
    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("disk full")

    monkeypatch.setattr(inbound, "_write", broken)
    members_before = session.scalar(select(func.count()).select_from(Member))
    with pytest.raises(RuntimeError):
        twilio_post("/twilio/sms", sms_form("hello", phone()))
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Member)) == members_before


def test_a_locking_read_begins_the_transaction(line) -> None:  # noqa: ANN001
    """SELECT ... FOR UPDATE under LAZY_TRANSACTION opens the transaction, so its lock is held."""
    if line.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (SMSLINE_TEST_DATABASE_URL): the lazy BEGIN is PostgreSQL's")
    from smsline import db

    with line.sessions() as session:
        connection = session.connection(execution_options=db.LAZY_TRANSACTION)
        raw = connection.connection.driver_connection
        session.execute(text("SELECT 1"))
        assert raw.info.transaction_status == 0  # idle: a plain read opens nothing
        session.execute(text("SELECT id FROM members FOR UPDATE"))
        assert raw.info.transaction_status != 0  # in a transaction until the commit
        session.commit()
        assert raw.info.transaction_status == 0


def test_ending_or_leaving_a_conversation_is_written_in_the_one_statement(
    twilio_post, line, session, monkeypatch
) -> None:  # noqa: ANN001
    """A text that ends the member's conversation (the welcome given up after three tries) writes
    the ending in the same statement as the text and its reply: no UPDATE of its own, no BEGIN.
    One that leaves it for another flow (MENU) ends it as interrupted."""
    if line.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (SMSLINE_TEST_DATABASE_URL): BEGIN and COMMIT are psycopg's")
    create_line_number(session)
    sender = phone()
    for body in ("hi", "hi again", "still here"):
        assert twilio_post("/twilio/sms", sms_form(body, sender)).status_code == 200
    sent = commands(line, monkeypatch)
    assert twilio_post("/twilio/sms", sms_form("and again", sender)).status_code == 200
    assert kinds(sent) == ["SELECT", "WITH"], sent
    session.rollback()
    (given_up,) = session.scalars(select(Conversation)).all()
    assert (given_up.status, given_up.ended_reason, given_up.expires_at) == (
        "ended",
        "tries",
        None,
    )

    member = create_member(session, status="active", texting_from="00:00", texting_until="00:00")
    assert twilio_post("/twilio/sms", sms_form("CHECKIN", member.phone)).status_code == 200
    assert twilio_post("/twilio/sms", sms_form("MENU", member.phone)).status_code == 200
    session.rollback()
    left, menu = session.scalars(
        select(Conversation).where(Conversation.member_id == member.id).order_by(Conversation.id)
    ).all()
    assert (left.flow_name, left.status, left.ended_reason) == ("checkin", "ended", "interrupted")
    assert (menu.flow_name, menu.status) == ("menu", "active")
