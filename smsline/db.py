"""Database engine and sessions: one session per request or job, opened and closed outside the code
that touches data. SQLite runs in WAL mode with a busy timeout so the web, the sweep thread and jobs can
share the file."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import current_app, g
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 15_000


class _NoRows(logging.Filter):
    """SQLAlchemy's engine logs result rows at DEBUG after they are read, so decrypted phone numbers
    and bodies: such records are dropped, whatever the logging setup (statements still log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith("Row "))


NO_ROWS = _NoRows()


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and foreign keys on every connection.
    SQL parameters never appear in errors or logs (they may hold hashes and ciphertexts), nor do
    result rows (`_NoRows`)."""
    logging.getLogger("sqlalchemy.engine.Engine").addFilter(NO_ROWS)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, hide_parameters=True
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # noqa: ANN001
            # Let SQLAlchemy issue BEGIN itself so BEGIN IMMEDIATE can be used for claims.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):  # noqa: ANN001
            # IMMEDIATE takes the write lock up front: two writers queue on the busy timeout instead
            # of failing with "database is locked" when a read transaction tries to upgrade. A
            # reader that must not hold the lock (tests, reports) asks for `sqlite_deferred`.
            deferred = connection.get_execution_options().get("sqlite_deferred")
            connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")

        return engine
    # No pre-ping (a round trip on every checkout): a connection that died with a database restart
    # is invalidated on its first error and the webhook runs again on a fresh one (inbound.receive).
    engine = create_engine(
        url, pool_size=5, max_overflow=10, pool_recycle=1800, hide_parameters=True
    )
    event.listen(engine, "before_cursor_execute", _begin_before_first_write)
    return engine


# A transaction that begins at its first write (PostgreSQL). psycopg sends BEGIN as a round trip of
# its own before a transaction's first statement, and COMMIT is another; a webhook whose one write
# is a single statement (a returning member's text: the inbound row, the conversation's move and
# the reply, inbound._write) needs neither. Its session asks for LAZY_TRANSACTION: the connection
# runs in autocommit, reads go as they come (under READ COMMITTED a read before a transaction's
# first write sees what it would see inside it), and BEGIN is sent before the first statement that
# writes or locks, unless the statement says it is the transaction's only write (ONLY_WRITE).
# COMMIT and ROLLBACK then go only when a transaction is open (psycopg skips them when idle).
LAZY_TRANSACTION = {"isolation_level": "AUTOCOMMIT", "smsline_lazy_begin": True}
ONLY_WRITE = {"smsline_only_write": True}
_LOCKS = (" FOR UPDATE", " FOR NO KEY UPDATE", " FOR SHARE", " FOR KEY SHARE", "advisory_xact_lock")


def _begin_before_first_write(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ANN202, PLR0913
    only_write = context is not None and context.execution_options.get("smsline_only_write")
    if needs_begin(conn, cursor, statement, bool(only_write)):
        cursor.execute("BEGIN")


def needs_begin(connection: Connection, cursor: Any, statement: str, only_write: bool) -> bool:
    """Whether a lazy transaction (LAZY_TRANSACTION) must send BEGIN before `statement`: it writes
    or locks, no transaction is open yet, and it is not the transaction's only write."""
    if only_write or not connection.get_execution_options().get("smsline_lazy_begin"):
        return False
    if cursor.connection.info.transaction_status != 0:  # psycopg's IDLE: no transaction yet
        return False
    reads = statement.lstrip()[:6].upper() == "SELECT"
    return not reads or any(lock in statement for lock in _LOCKS)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def get_session() -> Session:
    """The request's session, opened on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["smsline"].sessions()
    return g.db_session


def close_session(_error: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


@contextmanager
def session_scope(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session for a job or command: committed by the caller, always closed."""
    session = sessions()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def skip_locked(statement, session: Session):  # noqa: ANN001, ANN201
    """A claim's SELECT: on PostgreSQL it locks the rows it returns and skips rows another
    transaction holds; SQLite needs nothing (its write transactions begin IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        return statement.with_for_update(skip_locked=True)
    return statement


def try_lock(session: Session, name: str) -> bool:
    """Take a lock named `name` until this transaction ends, if no other transaction holds it
    (two clocks at once: one does the work, the other skips it). On PostgreSQL an advisory lock;
    SQLite needs nothing (its write transactions begin IMMEDIATE)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}))
