"""Moving a member's record to a new number (smsline/moves.py): MOVE by text with a code sent to
the old number, through signed webhooks; wrong codes, expiry, an opted-out old number; the staff
move by CLI and admin. History, pairings and the old number's opt-out stay where they belong."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from smsline import crypto, outbox, relay
from smsline.cli import main
from smsline.models import (
    AuditEntry,
    CheckinRecord,
    InboundMessage,
    Member,
    MemberMove,
    OptOut,
    OutboundMessage,
    Pairing,
    utcnow,
)
from tests.admin_support import logged_in
from tests.factories import (
    create_line_number,
    create_member,
    create_supporter,
    phone,
    sms_form,
)


def text(twilio_post, body: str, sender: str) -> str:  # noqa: ANN001
    response = twilio_post("/twilio/sms", sms_form(body, sender))
    assert response.status_code == 200, response.data
    return response.get_data(as_text=True)


def fresh(session) -> None:  # noqa: ANN001
    session.rollback()
    session.expire_all()


def code_sent_to(session, number: str) -> str | None:  # noqa: ANN001
    fresh(session)
    row = session.scalar(
        select(OutboundMessage)
        .where(
            OutboundMessage.to_hash == crypto.current().index(number),
            OutboundMessage.kind == "move",
        )
        .order_by(OutboundMessage.id.desc())
        .limit(1)
    )
    if row is None:
        return None
    return re.search(r"\b([0-9]{6})\b", row.body_enc).group(1)


def member_with_history(session, number: str | None = None) -> Member:  # noqa: ANN001
    member = create_member(session, number, nickname="Sam", status="active")
    session.add(CheckinRecord(member_id=member.id, answers_enc='{"mood": "ok"}'))
    session.commit()
    return member


@pytest.fixture
def line_number(session) -> None:  # noqa: ANN001
    create_line_number(session)


def test_move_by_code_end_to_end(twilio_post, session, line_number) -> None:  # noqa: ANN001
    old, new = phone(), phone()
    member = member_with_history(session, old)
    supporter = create_supporter(session)
    session.add(Pairing(member_id=member.id, supporter_id=supporter.id, tag="S1"))
    session.commit()
    text(twilio_post, "hi", new)  # the new phone texted first: a placeholder member
    assert "old number" in text(twilio_post, "MOVE", new)
    answer = text(twilio_post, "(201) 555-" + old[-4:], new)
    assert "If that number is with us, we've texted it a code" in answer
    code = code_sent_to(session, old)
    assert code is not None
    row = session.scalar(select(OutboundMessage).where(OutboundMessage.kind == "move"))
    assert row.next_attempt_at is None and row.status != "suppressed"  # not held for quiet hours
    assert "move" not in outbox.AUTOMATED
    assert code not in session.scalar(select(MemberMove.code_hash))  # only its keyed hash

    assert "Done" in text(twilio_post, code, new)
    fresh(session)
    moved = session.get(Member, member.id)
    assert moved.phone == new and moved.phone_hash == crypto.current().index(new)
    assert session.scalar(select(func.count()).select_from(Member)) == 1  # placeholder gone
    assert session.scalar(select(func.count()).select_from(CheckinRecord)) == 1
    texts_from_new = session.scalars(
        select(InboundMessage.member_id).where(
            InboundMessage.from_hash == crypto.current().index(new)
        )
    ).all()
    assert texts_from_new and set(texts_from_new) == {member.id}
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "member.move"))
    assert entry.subject_id == member.id and '"via": "code"' in entry.details_json
    move = session.scalar(select(MemberMove))
    assert move.done_at is not None and move.member_id == member.id

    # The pairing follows the member: their text from the new phone reaches the supporter, and
    # the supporter's reply goes to the new phone.
    assert text(twilio_post, "thanks for yesterday", new).count("<Message") == 0
    fresh(session)
    to_supporter = session.scalar(
        select(OutboundMessage)
        .where(OutboundMessage.to_hash == supporter.phone_hash)
        .order_by(OutboundMessage.id.desc())
        .limit(1)
    )
    assert to_supporter is not None and "thanks for yesterday" in to_supporter.body_enc
    pairing_row = session.scalar(select(Pairing))
    relay.from_supporter(session, supporter, pairing_row, "glad to hear", utcnow())
    session.commit()
    last = session.scalar(select(OutboundMessage).order_by(OutboundMessage.id.desc()).limit(1))
    assert last.to_enc == new and last.member_id == member.id


def test_an_unknown_old_number_gets_the_same_answer_and_no_code(
    twilio_post,  # noqa: ANN001
    session,  # noqa: ANN001
    line_number,  # noqa: ANN001
) -> None:
    new, stranger = phone(), phone()
    text(twilio_post, "MOVE", new)
    answer = text(twilio_post, stranger, new)
    assert "If that number is with us, we've texted it a code" in answer
    assert code_sent_to(session, stranger) is None
    assert "doesn't match" in text(twilio_post, "123456", new)


def test_three_wrong_codes_end_the_move(twilio_post, session, line_number) -> None:  # noqa: ANN001
    old, new = phone(), phone()
    member = member_with_history(session, old)
    text(twilio_post, "MOVE", new)
    text(twilio_post, old, new)
    code = code_sent_to(session, old)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert "2 left" in text(twilio_post, wrong, new)
    assert "1 left" in text(twilio_post, wrong, new)
    assert "text MOVE" in text(twilio_post, wrong, new)
    assert "expired" in text(twilio_post, code, new)  # even the right one, now
    fresh(session)
    assert session.get(Member, member.id).phone == old
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "member.move")) is None


def test_an_expired_code_is_refused_kindly(twilio_post, session, line_number) -> None:  # noqa: ANN001
    old, new = phone(), phone()
    member = member_with_history(session, old)
    text(twilio_post, "MUDAR", new)
    assert "le enviamos un código" in text(twilio_post, old, new)  # MUDAR: in Spanish
    code = code_sent_to(session, old)
    move = session.scalar(select(MemberMove))
    move.expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    assert "venció" in text(twilio_post, code, new)
    fresh(session)
    assert session.get(Member, member.id).phone == old


def test_no_code_goes_to_an_opted_out_old_number(twilio_post, session, line_number) -> None:  # noqa: ANN001
    old, new = phone(), phone()
    member_with_history(session, old)
    text(twilio_post, "STOP", old)
    text(twilio_post, "MOVE", new)
    answer = text(twilio_post, old, new)
    assert "If that number is with us" in answer and "coordinator" in answer  # no tell
    assert code_sent_to(session, old) is None
    assert (
        session.scalar(
            select(func.count()).select_from(OutboundMessage).where(OutboundMessage.kind == "move")
        )
        == 0
    )


def test_the_old_numbers_opt_out_stays_and_the_new_number_is_not_opted_out(
    twilio_post,  # noqa: ANN001
    session,  # noqa: ANN001
    line_number,  # noqa: ANN001
) -> None:
    old, new = phone(), phone()
    member = member_with_history(session, old)
    session.add(OptOut(phone_hash=crypto.current().index(old), opted_out=True, source="staff"))
    session.commit()
    result = run_cli("members", "move", "--from", old, "--to", new, "--yes")
    assert result.exit_code == 0, result.output
    fresh(session)
    assert outbox.is_opted_out(session, crypto.current().index(old))
    assert not outbox.is_opted_out(session, crypto.current().index(new))
    assert session.get(Member, member.id).phone == new


def test_an_active_member_texting_move_is_told_their_number_has_a_record(
    twilio_post,  # noqa: ANN001
    session,  # noqa: ANN001
    line_number,  # noqa: ANN001
) -> None:
    number = phone()
    member_with_history(session, number)
    assert "already has a record" in text(twilio_post, "move", number)


def run_cli(*args: str):  # noqa: ANN201
    env = {
        "SMSLINE_SECRET_KEY": "test-secret-key-0123456789",
        "SMSLINE_ENV": "production",
    }
    return CliRunner().invoke(main, list(args), env=env | _database_env, catch_exceptions=False)


_database_env: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _cli_database(config, monkeypatch) -> None:  # noqa: ANN001
    _database_env["DATABASE_URL"] = config.database_url  # and the app's keys
    _database_env["SMSLINE_DATA_KEY"] = ",".join(config.data_keys)
    _database_env["SMSLINE_INDEX_KEY"] = config.index_key
    for name in ("REDIS_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SMSLINE_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)


def test_staff_move_by_cli(session) -> None:  # noqa: ANN001
    old, new = phone(), phone()
    member = member_with_history(session, old)
    placeholder_id = create_member(session, new).id  # texted once, never joined
    result = run_cli("members", "move", "--from", old, "--to", new, "--yes")
    assert result.exit_code == 0, result.output
    assert new not in result.output and old not in result.output
    fresh(session)
    assert session.get(Member, member.id).phone == new
    assert session.get(Member, placeholder_id) is None
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "member.move"))
    assert entry.actor == "cli" and entry.reason == "checked in person"
    assert session.scalar(select(MemberMove)).via == "staff"


def test_staff_move_is_refused_onto_a_member_with_history(session) -> None:  # noqa: ANN001
    old, new = phone(), phone()
    member = member_with_history(session, old)
    member_with_history(session, new)
    result = run_cli("members", "move", "--from", old, "--to", new, "--yes")
    assert result.exit_code == 1 and "already belongs to another member" in result.output
    fresh(session)
    assert session.get(Member, member.id).phone == old
    missing = run_cli("members", "move", "--from", phone(), "--to", phone(), "--yes")
    assert missing.exit_code == 1 and "no member has the old number" in missing.output


def test_staff_move_in_the_admin(client, line, session) -> None:  # noqa: ANN001
    old, new = phone(), phone()
    member = member_with_history(session, old)
    token = logged_in(client, line, "coordinator")
    page = client.get(f"/admin/members/{member.id}").get_data(as_text=True)
    assert "Move the record" in page
    form = {"new_phone": new, "reason": "checked in person", "csrf_token": token}
    response = client.post(f"/admin/members/{member.id}/move", data=form)
    assert response.status_code == 302
    after = client.get(f"/admin/members/{member.id}").get_data(as_text=True)
    assert "Moved to the number ending" in after and new not in after
    fresh(session)
    assert session.get(Member, member.id).phone == new
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "member.move"))
    assert entry.actor == "admin:coordinator@example.org" and entry.reason == "checked in person"


def test_the_admin_move_needs_a_coordinator_and_a_reason(client, line, session) -> None:  # noqa: ANN001
    old, new = phone(), phone()
    member = member_with_history(session, old)
    token = logged_in(client, line, "viewer")
    form = {"new_phone": new, "reason": "checked in person", "csrf_token": token}
    assert client.post(f"/admin/members/{member.id}/move", data=form).status_code == 403
    assert "Move the record" not in client.get(f"/admin/members/{member.id}").get_data(as_text=True)
    fresh(session)
    assert session.get(Member, member.id).phone == old


def test_a_text_without_digits_never_looks_for_a_move(
    twilio_post, line, session, monkeypatch
) -> None:  # noqa: ANN001
    """The old number and the code both carry digits: other texts from a new number that has no
    conversation waiting cost no member_moves query (the webhook's hot path)."""
    from sqlalchemy import update

    from smsline.models import Conversation
    from tests.factories import create_line_number, phone, sms_form
    from tests.sql_trace import statements

    create_line_number(session)
    sender = phone()
    assert twilio_post("/twilio/sms", sms_form("hi", sender)).status_code == 200
    session.rollback()
    session.execute(update(Conversation).values(status="ended"))  # nothing waits for an answer
    session.commit()
    seen = statements(line, monkeypatch)
    assert twilio_post("/twilio/sms", sms_form("hi again", sender)).status_code == 200
    assert seen and not any("member_moves" in statement for statement in seen)
