"""smsline.direct: the webhook's statements on the driver's cursor read and write what SQLAlchemy
would, raise SQLAlchemy's errors, and keep the lazy transaction's rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import bindparam, insert, inspect, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from smsline import db, direct, inbound
from smsline.models import Conversation, InboundMessage, Member, OptOut, utcnow
from tests.factories import create_member, create_supporter, phone

_inbound = InboundMessage.__table__
INSERT_INBOUND = insert(_inbound).values(
    {
        name: bindparam(name, type_=_inbound.c[name].type)
        for name in (
            "message_sid",
            "from_hash",
            "from_enc",
            "to_number",
            "body_enc",
            "num_media",
            "received_at",
        )
    }
)


def _columns(row: object, skip: tuple[str, ...] = ()) -> dict[str, object]:
    return {
        column.key: getattr(row, column.key)
        for column in type(row).__table__.c
        if column.key not in skip
    }


def test_who_reads_the_member_and_conversation_as_the_orm_would(line, session) -> None:  # noqa: ANN001
    member = create_member(session, status="active", nickname="Sam", checkin_time="08:30")
    now = utcnow()
    conversation = Conversation(
        member_id=member.id,
        flow_name="checkin",
        state="ask",
        answers_enc='{"mood": "ok"}',
        wait_timeout_at=now + timedelta(hours=1),
        expires_at=now + timedelta(days=1),
    )
    session.add(conversation)
    session.commit()
    session.add(OptOut(phone_hash=member.phone_hash, opted_out=True, source="keyword"))
    session.commit()

    with line.sessions() as orm:
        expected_member = _columns(orm.get(Member, member.id), skip=("phone_enc",))
        expected_conversation = _columns(orm.get(Conversation, conversation.id))
    with line.sessions() as fresh:
        found, supporter, opted_out, waiting = inbound._who(fresh, member.phone_hash)
        assert supporter is None and opted_out is True
        assert _columns(found, skip=("phone_enc",)) == expected_member
        assert _columns(waiting) == expected_conversation
        assert waiting.answers_enc == '{"mood": "ok"}'  # decrypted
        assert waiting.expires_at.tzinfo is not None  # UTC, as UTCDateTime reads it
        # Loaded, not new: in the session, nothing to write, and the number still readable.
        assert inspect(found).persistent and inspect(waiting).persistent
        assert not fresh.new and not fresh.dirty
        assert found.phone == member.phone  # not in the query: read when first used


def test_who_finds_a_supporter_and_nobody(line, session) -> None:  # noqa: ANN001
    supporter = create_supporter(session)
    with line.sessions() as fresh:
        member, found, opted_out, waiting = inbound._who(fresh, supporter.phone_hash)
        assert (member, found.id, opted_out, waiting) == (None, supporter.id, False, None)
        assert inbound._who(fresh, "no-such-hash") == (None, None, False, None)


def test_a_loaded_object_is_the_sessions_own_and_its_changes_are_written(line, session) -> None:  # noqa: ANN001
    member = create_member(session, status="active")
    with line.sessions() as fresh:
        already = fresh.get(Member, member.id)
        found, *_ = inbound._who(fresh, member.phone_hash)
        assert found is already  # one object per row, as a query gives
    with line.sessions() as fresh:
        found, *_ = inbound._who(fresh, member.phone_hash)
        found.nickname = "Robin"
        fresh.commit()
    session.expire_all()
    assert session.get(Member, member.id).nickname == "Robin"
    assert session.scalar(select(text("count(*)")).select_from(Member.__table__)) == 1


def _inbound_values(message_sid: str) -> dict[str, object]:
    return {
        "message_sid": message_sid,
        "from_hash": "h" * 64,
        "from_enc": phone(),
        "to_number": "+15005550006",
        "body_enc": "a body",
        "num_media": 0,
        "received_at": utcnow(),
    }


def test_a_duplicate_raises_sqlalchemys_integrity_error(line) -> None:  # noqa: ANN001
    with line.sessions() as fresh:
        direct.run(fresh, INSERT_INBOUND, _inbound_values("SMdirect1"))
        fresh.commit()
        with pytest.raises(IntegrityError):
            direct.run(fresh, INSERT_INBOUND, _inbound_values("SMdirect1"))
        fresh.rollback()
        direct.run(fresh, INSERT_INBOUND, _inbound_values("SMdirect2"))  # usable again
        fresh.commit()
        bodies = fresh.scalars(select(InboundMessage.body_enc)).all()
        assert bodies == ["a body", "a body"]  # encrypted on the way in, read back by the ORM


def test_the_lazy_transaction_begins_before_a_write_unless_it_is_the_only_one(line) -> None:  # noqa: ANN001
    if line.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (SMSLINE_TEST_DATABASE_URL): the lazy BEGIN is PostgreSQL's")
    for only_write, opened in ((False, True), (True, False)):
        with line.sessions() as fresh:
            connection = fresh.connection(execution_options=db.LAZY_TRANSACTION)
            raw = connection.connection.driver_connection
            direct.run(fresh, inbound.WHO[True], {"phone_hash": "nobody"})
            assert raw.info.transaction_status == 0  # a read opens nothing
            values = _inbound_values(f"SMlazy{only_write}")
            direct.run(fresh, INSERT_INBOUND, values, only_write=only_write)
            assert (raw.info.transaction_status != 0) is opened
            fresh.rollback()
    with line.sessions() as fresh:
        sids = fresh.scalars(select(InboundMessage.message_sid)).all()
        assert sids == ["SMlazyTrue"]  # the only write committed alone; the other rolled back


def test_a_lost_connection_is_invalidated_and_said_so(line) -> None:  # noqa: ANN001
    if line.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (SMSLINE_TEST_DATABASE_URL): a server to drop the connection")
    with line.sessions() as fresh:
        pid = fresh.scalar(text("SELECT pg_backend_pid()"))
        with line.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError) as raised:
            direct.run(fresh, inbound.WHO[True], {"phone_hash": "nobody"})
        assert raised.value.connection_invalidated
        fresh.rollback()
        assert direct.run(fresh, inbound.WHO[True], {"phone_hash": "nobody"})[0] is None


def test_a_statement_that_needs_python_defaults_is_refused(line) -> None:  # noqa: ANN001
    """SQLAlchemy makes a column's Python default while it executes; run here it would be NULL."""
    partial = insert(_inbound).values(message_sid=bindparam("message_sid"))
    with pytest.raises(ValueError, match="num_media"):
        direct._compile(partial, line.engine.dialect)
