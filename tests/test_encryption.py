"""Phone numbers and message bodies are encrypted at rest; lookups use the blind index."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from smsline import crypto
from smsline.models import InboundMessage, Member
from tests.conftest import DATA_KEY, INDEX_KEY
from tests.factories import create_supporter, phone, sms_form

SECRET_WORDS = "i relapsed last night and feel ashamed"


def test_no_phone_number_or_body_in_plain_text_in_the_database(twilio_post, session, line) -> None:  # noqa: ANN001
    member_phone = phone()
    coordinator = create_supporter(session, coordinator=True)
    twilio_post("/twilio/sms", sms_form(SECRET_WORDS, member_phone))
    twilio_post("/twilio/sms", sms_form("i want to die", member_phone))
    digits = [member_phone, member_phone[2:], coordinator.phone, coordinator.phone[2:]]
    dump = _dump(line)
    for secret in digits + [SECRET_WORDS, "want to die", "ashamed"]:
        assert secret.encode() not in dump, secret
    # ...yet the line reads them back and finds the member by number
    session.rollback()
    member = session.scalar(
        select(Member).where(Member.phone_hash == crypto.current().index(member_phone))
    )
    assert member is not None and member.phone == member_phone
    assert SECRET_WORDS in session.scalars(select(InboundMessage.body_enc)).all()


def _dump(line) -> bytes:  # noqa: ANN001
    """Every value of every table, as the database hands it out, plus the SQLite file itself."""
    chunks = []
    with line.engine.connect() as connection:
        if line.engine.dialect.name == "sqlite":
            path = Path(line.engine.url.database)
            for file in (path, path.with_name(path.name + "-wal")):
                chunks.append(file.read_bytes() if file.exists() else b"")
        from smsline.models import Base

        for table in Base.metadata.sorted_tables:
            for row in connection.execute(text(f"SELECT * FROM {table.name}")):  # raw, undecrypted
                chunks.extend(v if isinstance(v, bytes) else str(v).encode() for v in row)
    return b"\n".join(chunks)


def test_rotation_new_key_encrypts_old_keys_still_decrypt() -> None:
    old = crypto.Keyring([DATA_KEY], INDEX_KEY)
    token = old.encrypt("+12015550100")
    new_key = Fernet.generate_key().decode()
    rotated = crypto.Keyring([new_key, DATA_KEY], INDEX_KEY)
    assert rotated.decrypt(token) == "+12015550100"
    fresh = rotated.rotate(token)
    assert crypto.Keyring([new_key], INDEX_KEY).decrypt(fresh) == "+12015550100"
    with pytest.raises(crypto.InvalidToken):
        crypto.Keyring([Fernet.generate_key().decode()], INDEX_KEY).decrypt(token)


def test_blind_index_depends_on_the_index_key_only() -> None:
    one = crypto.Keyring([DATA_KEY], INDEX_KEY)
    other_data_key = crypto.Keyring([Fernet.generate_key().decode()], INDEX_KEY)
    other_index = crypto.Keyring([DATA_KEY], "another-index-key-" + "y" * 32)
    assert one.index("+12015550100") == other_data_key.index("+12015550100")
    assert one.index("+12015550100") != other_index.index("+12015550100")
    assert "2015550100" not in one.index("+12015550100")
