"""Key changes (smsline/keys.py): data-key rotation and blind-index re-index while webhooks keep
coming, a STOP honoured across a re-index (a hash-only one too), and a database copy that, without
the keys, reveals no phone number, message body or check-in answer."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import LargeBinary, func, select, type_coerce

from smsline import crypto, keys, outbox
from smsline.cli import main
from smsline.models import (
    Base,
    CheckinRecord,
    Consent,
    Conversation,
    EncryptedText,
    InboundMessage,
    Member,
    OptOut,
    OutboundMessage,
    Pairing,
    utcnow,
)
from tests.conftest import LINE_NUMBER
from tests.factories import create_line_number, create_member, create_supporter, phone, sms_form

NEW_INDEX_KEY = "new-index-key-" + "y" * 40
BODY = "BODYMARKER feeling shaky tonight"
ANSWER = "ANSWERMARKER"


def text(twilio_post, body: str, sender: str) -> str:  # noqa: ANN001
    response = twilio_post("/twilio/sms", sms_form(body, sender))
    assert response.status_code == 200, response.data
    return response.get_data(as_text=True)


def fresh(session) -> None:  # noqa: ANN001
    session.rollback()
    session.expire_all()


def scenario(session, twilio_post) -> dict[str, str]:  # noqa: ANN001
    """Members, texts both ways, check-in answers and a relayed text; returns the numbers."""
    create_line_number(session)
    numbers = {"member": phone(), "paired": phone(), "supporter": phone(), "stranger": phone()}
    member = create_member(session, numbers["member"], nickname="Kim", status="active")
    paired = create_member(session, numbers["paired"], nickname="Lee", status="active")
    supporter = create_supporter(session, numbers["supporter"])
    session.add(Pairing(member_id=paired.id, supporter_id=supporter.id, tag="K1"))
    session.add(CheckinRecord(member_id=member.id, answers_enc=f'{{"mood": "{ANSWER}"}}'))
    session.add(
        Conversation(
            member_id=member.id, flow_name="checkin", state="mood", answers_enc=f'["{ANSWER}"]'
        )
    )
    session.commit()
    text(twilio_post, BODY, numbers["member"])
    text(twilio_post, BODY + " relayed", numbers["paired"])  # reaches the supporter
    text(twilio_post, BODY, numbers["stranger"])
    outbox.write(session, to=numbers["member"], body=BODY + " reply", kind="reply")
    session.commit()
    return numbers


def read_everything(session) -> int:  # noqa: ANN001
    """Decrypt every encrypted value of every table; the count of values read."""
    fresh(session)
    read = 0
    for columns in keys.encrypted_columns().values():
        for row in session.execute(select(*columns)):
            read += sum(value is not None for value in row)
    return read


def test_every_encrypted_and_hash_column_is_known() -> None:
    found = {
        (table.name, column.name)
        for table, cols in keys.encrypted_columns().items()
        for column in cols
    }
    assert {("members", "phone_enc"), ("inbound_messages", "body_enc")} <= found
    assert ("checkin_records", "answers_enc") in found
    assert keys.unclassified_hash_columns() == [], "add the new *_hash column to keys.py"
    for (table, column), enc in keys.PHONE_HASHES.items():
        assert column in Base.metadata.tables[table].c
        if enc is not None:
            assert isinstance(Base.metadata.tables[table].c[enc].type, EncryptedText)


def test_rotate_while_webhooks_run_then_drop_the_old_key(
    config,  # noqa: ANN001
    session,  # noqa: ANN001
    twilio_post,  # noqa: ANN001
) -> None:
    numbers = scenario(session, twilio_post)
    old_key, new_key = config.data_keys[0], Fernet.generate_key().decode()
    crypto.configure(crypto.Keyring((new_key, old_key), config.index_key))
    sent = []

    def webhook() -> None:  # the line keeps running between batches, on both keys
        if len(sent) < 5:  # (each text adds rows: not after every batch, or it never ends)
            sent.append(text(twilio_post, f"still here {len(sent)}", numbers["member"]))

    report = keys.rotate(session, batch=2, after_batch=webhook)
    assert sent and report["members"].changed == 3 and report["inbound_messages"].changed > 0
    assert sum(counts.unreadable for counts in report.values()) == 0
    again = keys.rotate(session, batch=2)
    assert sum(counts.changed for counts in again.values()) == 0  # idempotent

    crypto.configure(crypto.Keyring((new_key,), config.index_key))  # the old key is gone
    assert read_everything(session) > 20
    member = session.scalar(select(Member).where(Member.nickname == "Kim"))
    assert member.phone == numbers["member"]
    bodies = session.scalars(select(InboundMessage.body_enc)).all()
    assert BODY in bodies and "still here 0" in bodies
    assert "<Response" in text(twilio_post, "and now", numbers["member"])  # new key only


def test_keys_rotate_command(config, session, twilio_post) -> None:  # noqa: ANN001
    scenario(session, twilio_post)
    new_key = Fernet.generate_key().decode()
    result = run_cli(config, f"{new_key},{config.data_keys[0]}", "keys", "rotate", "--batch", "3")
    assert result.exit_code == 0, result.output
    assert "members: 3 rows, 3 rotated" in result.output and "may be removed" in result.output
    second = run_cli(config, f"{new_key},{config.data_keys[0]}", "keys", "rotate")
    assert (
        " 0 rotated" in second.output and "members: 3 rows, 0 rotated, 3 current" in second.output
    )
    crypto.configure(crypto.Keyring((new_key,), config.index_key))
    assert read_everything(session) > 20
    assert run_cli(config, config.data_keys[0], "keys").exit_code == 0  # still prints new keys


def run_cli(config, data_keys: str, *args: str, old_index: str | None = None):  # noqa: ANN001, ANN201
    env = {
        "DATABASE_URL": config.database_url,
        "SMSLINE_SECRET_KEY": config.secret_key,
        "SMSLINE_DATA_KEY": data_keys,
        "SMSLINE_INDEX_KEY": NEW_INDEX_KEY if old_index else config.index_key,
        "SMSLINE_ENV": "production",
        "SMSLINE_INDEX_KEY_OLD": old_index or "",
        "REDIS_URL": "",
        "TWILIO_ACCOUNT_SID": "",
        "TWILIO_AUTH_TOKEN": "",
    }
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_reindex_while_webhooks_run_keeps_every_stop(config, session, twilio_post) -> None:  # noqa: ANN001
    numbers = scenario(session, twilio_post)
    old_keyring = crypto.current()
    text(twilio_post, "STOP", numbers["stranger"])  # an opt-out whose number we hold
    erased = phone()  # an erased member's opt-out: only the hash is left anywhere
    session.add(OptOut(phone_hash=old_keyring.index(erased), opted_out=True, source="keyword"))
    session.add(
        Consent(
            phone_hash=old_keyring.index(erased),
            purpose="checkins",
            granted=False,
            wording="STOP",
            channel="sms",
            recorded_by="member",
            at=utcnow(),
        )
    )
    session.commit()
    members_before = session.scalar(select(func.count()).select_from(Member))
    crypto.configure(crypto.Keyring(config.data_keys, NEW_INDEX_KEY, (config.index_key,)))
    new = crypto.current()
    sent = []

    def webhook() -> None:  # texts keep coming, found by their new hash whatever is done yet
        if len(sent) < 5:
            sent.append(text(twilio_post, "checking in", numbers["member"]))

    report = keys.reindex(session, batch=2, after_batch=webhook)
    assert sent and report["members"].rows == 3
    assert report["opt_outs"].changed == 1 and report["opt_outs"].unreadable == 1
    assert report["consents"].unreadable == 1
    fresh(session)
    assert session.scalar(select(func.count()).select_from(Member)) == members_before
    kim = session.scalar(select(Member).where(Member.phone_hash == new.index(numbers["member"])))
    assert kim is not None and kim.nickname == "Kim"
    assert (
        session.scalar(
            select(func.count())
            .select_from(InboundMessage)
            .where(InboundMessage.from_hash == old_keyring.index(numbers["member"]))
        )
        == 0
    )

    again = keys.reindex(session, batch=2)
    assert sum(counts.changed for counts in again.values()) == 0  # idempotent

    # STOP honoured after the re-index: the known number at once, the hash-only one too.
    assert "<Message" not in text(twilio_post, "hello again", numbers["stranger"])
    fresh(session)
    row = outbox.write(session, to=erased, body="a check-in", kind="checkin")
    assert row.status == "suppressed"
    session.commit()
    fresh(session)
    assert session.get(OptOut, new.index(erased)).opted_out  # moved under the new key
    assert session.get(OptOut, old_keyring.index(erased)) is None
    assert "<Message" not in text(twilio_post, "hi", erased)


def test_reindex_needs_the_old_key_and_the_command_reports(config, session, twilio_post) -> None:  # noqa: ANN001
    scenario(session, twilio_post)
    with pytest.raises(keys.KeyChangeError, match="SMSLINE_INDEX_KEY_OLD"):
        keys.reindex(session)
    erased = phone()
    session.add(OptOut(phone_hash=crypto.current().index(erased), opted_out=True, source="keyword"))
    session.commit()
    result = run_cli(config, config.data_keys[0], "keys", "reindex", old_index=config.index_key)
    assert result.exit_code == 0, result.output
    assert "members: 3 rows, 3 re-indexed" in result.output
    assert "1 hash-only rows" in result.output and "keep SMSLINE_INDEX_KEY_OLD set" in result.output


def test_a_database_copy_without_the_keys_reveals_nothing(session, twilio_post) -> None:  # noqa: ANN001
    numbers = scenario(session, twilio_post)
    fresh(session)
    assert session.scalar(select(func.count()).select_from(OutboundMessage)) >= 4
    forbidden = [BODY.split()[0], ANSWER, "shaky"]
    for number in numbers.values():
        forbidden += [number, number[2:], number[1:]]  # E.164, national digits, with country code
    dumped = 0
    for table in Base.metadata.sorted_tables:
        raw = [
            type_coerce(column, LargeBinary) if isinstance(column.type, EncryptedText) else column
            for column in table.columns
        ]
        for row in session.execute(select(*raw)):
            for value in row:
                if value is None:
                    continue
                shown = (
                    bytes(value).decode("latin-1")
                    if isinstance(value, (bytes, memoryview))
                    else str(value)
                )
                dumped += 1
                for secret in forbidden:
                    assert secret not in shown, f"{table.name} holds {secret!r} in clear"
                people = set(re.findall(r"\+1\d{10}", shown)) - {LINE_NUMBER}  # ours is no secret
                assert not people, f"{table.name} holds a phone number in clear"
    assert dumped > 100
