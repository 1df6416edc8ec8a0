"""Key changes while the line keeps running: data-key rotation and blind-index re-index.

**Rotation** (`rotate`): with the new Fernet key first in SMSLINE_DATA_KEY and the old ones after
it, every EncryptedText column of every table (found from the metadata, so a new one cannot be
forgotten) is re-encrypted under the first key, in batches of ids with a commit per batch. Both
ciphertexts stay readable meanwhile (MultiFernet). A value is written back only if it is still the
ciphertext that was read (`WHERE id = ? AND col = old`), so a row a webhook changed meanwhile is
left alone (it was written under the first key anyway) and counted. Tokens already under the first
key are skipped: a second run rotates nothing. Then the old key can leave SMSLINE_DATA_KEY.

**Re-index** (`reindex`): SMSLINE_INDEX_KEY is the new blind-index key and SMSLINE_INDEX_KEY_OLD
the one(s) it replaces (never on a command line). Every phone hash is recomputed from the number
where the row holds it (`PHONE_HASHES`); hash-only rows (an opt-out or a consent of a number we no
longer hold, after an erasure) get the new hash when some other row holds the number. The rest
cannot be recomputed (an HMAC is one-way): they stay under the old key, counted, and the old key
stays configured as long as they exist. While it is configured, `adopt` moves a number's rows
from an old hash to the new one the moment the number texts us or is texted (inbound and outbox
call it), and the opt-out check before a send reads the number itself: a STOP stays honoured
across a re-index, during it and after it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import Column, LargeBinary, Table, delete, literal, select, type_coerce, update
from sqlalchemy.orm import Session

from smsline import crypto
from smsline.models import Base, EncryptedText, OptOut

log = logging.getLogger(__name__)

DEFAULT_BATCH = 500

# Every keyed-hash column of a phone number: (table, hash column) -> the column holding the
# number encrypted, or None for hash-only rows (found through the numbers other rows hold).
PHONE_HASHES: dict[tuple[str, str], str | None] = {
    ("members", "phone_hash"): "phone_enc",
    ("supporters", "phone_hash"): "phone_enc",
    ("inbound_messages", "from_hash"): "from_enc",
    ("outbound_messages", "to_hash"): "to_enc",
    ("outbound_calls", "to_hash"): "to_enc",
    ("member_moves", "new_phone_hash"): "new_phone_enc",
    ("opt_outs", "phone_hash"): None,
    ("consents", "phone_hash"): None,
}
# *_hash columns that are not the index of a phone number, and why re-index leaves them.
OTHER_HASHES: dict[tuple[str, str], str] = {
    # A secret token's keyed hash: checked under the old keys too while they are configured
    # (calendar_feed); supporters get a new link once SMSLINE_INDEX_KEY_OLD is dropped.
    ("supporters", "calendar_token_hash"): "calendar token",
    # A MOVE code, valid 30 minutes, checked under the old keys too (moves.py).
    ("member_moves", "code_hash"): "move code",
    ("flow_versions", "source_hash"): "plain SHA-256 of a flow file, no key",
    ("admin_users", "password_hash"): "argon2 hash of a password, no key",
}
# Where a number is looked up on every text: `adopt` moves these to the new hash at once.
LOOKUPS = (
    ("members", "phone_hash"),
    ("supporters", "phone_hash"),
    ("consents", "phone_hash"),
    ("member_moves", "new_phone_hash"),
)


class KeyChangeError(Exception):
    """A key change that cannot run as configured; the message says what to set."""


def encrypted_columns() -> dict[Table, list[Column]]:
    """Every EncryptedText column, by table, from the models' metadata."""
    found: dict[Table, list[Column]] = {}
    for table in Base.metadata.sorted_tables:
        columns = [column for column in table.columns if isinstance(column.type, EncryptedText)]
        if columns:
            found[table] = columns
    return found


def hash_columns() -> list[tuple[str, str]]:
    """Every column named *_hash in the metadata."""
    return [
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if column.name.endswith("_hash")
    ]


def unclassified_hash_columns() -> list[str]:
    """*_hash columns neither in PHONE_HASHES nor in OTHER_HASHES: re-index refuses to run."""
    known = PHONE_HASHES.keys() | OTHER_HASHES.keys()
    return [f"{table}.{column}" for table, column in hash_columns() if (table, column) not in known]


def _primary_key(table: Table) -> Column:
    (column,) = table.primary_key.columns
    return column


def _batches(
    session: Session, table: Table, columns: list[Column], size: int
) -> Iterator[list[tuple]]:
    """The rows of `table` in id order, `size` at a time: (id, raw value of each column)."""
    key = _primary_key(table)
    last = None
    while True:
        raw = [
            type_coerce(column, LargeBinary) if isinstance(column.type, EncryptedText) else column
            for column in columns
        ]
        query = select(key, *raw)
        if last is not None:
            query = query.where(key > last)
        rows = session.execute(query.order_by(key).limit(size)).all()
        if not rows:
            return
        yield [tuple(row) for row in rows]
        last = rows[-1][0]


@dataclass
class Counts:
    """What a run did to one table."""

    rows: int = 0
    changed: int = 0  # values rotated, or hashes recomputed
    current: int = 0  # already under the new key
    skipped: int = 0  # changed by the line meanwhile: left alone (run again to be sure)
    unreadable: int = 0  # no configured key opens it (rotation) / no number held (re-index)
    extra: dict[str, int] = field(default_factory=dict)


def rotate(
    session: Session, batch: int = DEFAULT_BATCH, after_batch: Callable[[], None] | None = None
) -> dict[str, Counts]:
    """Re-encrypt every encrypted value not yet under the first data key, a batch of rows at a
    time with a commit after each; `after_batch` runs between batches (tests use it)."""
    keyring = crypto.current()
    report: dict[str, Counts] = {}
    for table, columns in encrypted_columns().items():
        counts = report.setdefault(table.name, Counts())
        key = _primary_key(table)
        for rows in _batches(session, table, columns, batch):
            for row_id, *values in rows:
                counts.rows += 1
                old: dict[Column, bytes] = {}
                new: dict[str, object] = {}
                for column, value in zip(columns, values, strict=True):
                    if value is None:
                        continue
                    if keyring.is_current(value):
                        counts.current += 1
                        continue
                    try:
                        rotated = keyring.rotate(value)
                    except crypto.InvalidToken:
                        counts.unreadable += 1
                        continue
                    old[column] = bytes(value)
                    new[column.name] = literal(rotated, LargeBinary)
                if not new:
                    continue
                conditions = [
                    type_coerce(column, LargeBinary) == value for column, value in old.items()
                ]
                result = session.execute(
                    update(table).where(key == row_id, *conditions).values(new)
                )
                if result.rowcount:
                    counts.changed += len(new)
                else:
                    counts.skipped += len(new)
            session.commit()
            if after_batch is not None:
                after_batch()
    return report


def reindex(
    session: Session, batch: int = DEFAULT_BATCH, after_batch: Callable[[], None] | None = None
) -> dict[str, Counts]:
    """Recompute every phone hash under the current index key: from the number where the row
    holds it, else (hash-only rows) through the numbers other rows hold. Needs the old key(s)
    (SMSLINE_INDEX_KEY_OLD) to match hash-only rows."""
    keyring = crypto.current()
    if not keyring.has_previous_index_keys:
        raise KeyChangeError("set SMSLINE_INDEX_KEY_OLD to the index key being replaced")
    unknown = unclassified_hash_columns()
    if unknown:
        raise KeyChangeError(
            f"unclassified hash columns (add them to keys.py): {', '.join(unknown)}"
        )
    tables = Base.metadata.tables
    renamed: dict[str, str] = {}  # an old hash -> the new one, for every number a row holds
    report: dict[str, Counts] = {}
    for (table_name, hash_name), enc_name in PHONE_HASHES.items():
        if enc_name is None:
            continue
        table = tables[table_name]
        counts = report.setdefault(table_name, Counts())
        hash_column, enc_column = table.c[hash_name], table.c[enc_name]
        key = _primary_key(table)
        for rows in _batches(session, table, [hash_column, enc_column], batch):
            for row_id, stored, token in rows:
                counts.rows += 1
                if token is None:
                    counts.unreadable += 1
                    continue
                number = keyring.decrypt(token)
                fresh = keyring.index(number)
                for previous in keyring.previous_indexes(number):
                    renamed[previous] = fresh
                if stored == fresh:
                    counts.current += 1
                    continue
                result = session.execute(
                    update(table)
                    .where(key == row_id, hash_column == stored)
                    .values({hash_name: fresh})
                )
                counts.changed += result.rowcount
                counts.skipped += 1 - result.rowcount
            session.commit()
            if after_batch is not None:
                after_batch()
    current = set(renamed.values())
    report["opt_outs"] = _reindex_opt_outs(session, renamed, current, batch, after_batch)
    report["consents"] = _reindex_hash_only(
        session, tables["consents"], "phone_hash", renamed, current, batch, after_batch
    )
    return report


def _reindex_hash_only(
    session: Session,
    table: Table,
    hash_name: str,
    renamed: dict[str, str],
    current: set[str],
    batch: int,
    after_batch: Callable[[], None] | None,
) -> Counts:
    counts = Counts()
    hash_column, key = table.c[hash_name], _primary_key(table)
    for rows in _batches(session, table, [hash_column], batch):
        for row_id, stored in rows:
            counts.rows += 1
            if stored in current:
                counts.current += 1
            elif stored in renamed:
                result = session.execute(
                    update(table)
                    .where(key == row_id, hash_column == stored)
                    .values({hash_name: renamed[stored]})
                )
                counts.changed += result.rowcount
            else:
                counts.unreadable += 1  # no number held: stays under its key
        session.commit()
        if after_batch is not None:
            after_batch()
    return counts


def _reindex_opt_outs(
    session: Session,
    renamed: dict[str, str],
    current: set[str],
    batch: int,
    after_batch: Callable[[], None] | None,
) -> Counts:
    """Opt-outs are keyed by the hash itself: one moved onto a hash that already has a row (the
    number texted STOP or START under the new key meanwhile) gives way to that newer row."""
    counts = Counts()
    table = OptOut.__table__
    for rows in _batches(session, table, [], batch):
        for (stored,) in rows:
            counts.rows += 1
            if stored in current:
                counts.current += 1
            elif stored in renamed:
                _move_opt_out(session, stored, renamed[stored])
                counts.changed += 1
            else:
                counts.unreadable += 1
        session.commit()
        if after_batch is not None:
            after_batch()
    return counts


def _move_opt_out(session: Session, old: str, new: str) -> None:
    if session.get(OptOut, new) is not None:
        session.execute(delete(OptOut).where(OptOut.phone_hash == old))
    else:
        session.execute(update(OptOut).where(OptOut.phone_hash == old).values(phone_hash=new))
    session.expire_all()


def adopt(session: Session, phone: str) -> str:
    """The number's current blind index, after moving its lookup rows (member, supporter, opt-out,
    consents, a pending move) from an old index key to it. Nothing to do, and no query, unless an
    old index key is configured (SMSLINE_INDEX_KEY_OLD): the inbound path and the outbox call it
    on every number they touch."""
    keyring = crypto.current()
    fresh = keyring.index(phone)
    if not keyring.has_previous_index_keys:
        return fresh
    previous = keyring.previous_indexes(phone)
    tables = Base.metadata.tables
    for table_name, hash_name in LOOKUPS:
        column = tables[table_name].c[hash_name]
        session.execute(
            update(tables[table_name]).where(column.in_(previous)).values({hash_name: fresh}),
            execution_options={"synchronize_session": False},
        )
    for old in session.scalars(select(OptOut.phone_hash).where(OptOut.phone_hash.in_(previous))):
        _move_opt_out(session, old, fresh)
    return fresh


def is_opted_out(session: Session, phone_hash: str, phone: str) -> bool:
    """The opt-out check before a send: by the number itself while an old index key is
    configured (the row's stored hash may be under either key)."""
    keyring = crypto.current()
    if keyring.has_previous_index_keys:
        phone_hash = adopt(session, phone)
    row = session.get(OptOut, phone_hash)
    return bool(row and row.opted_out)
