"""What the app sends to the database, for tests that count statements: SQLAlchemy's statements and
`smsline.direct`'s alike (the latter never pass through SQLAlchemy's events)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import event

from smsline.line import Line


def statements(line: Line, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement the app runs from now on, whitespace folded; BEGIN and COMMIT are left out
    (`commands` has them)."""
    seen: list[str] = []

    def record(sql: str, inside: bool) -> None:
        if sql != "BEGIN":  # smsline's lazy BEGIN (db.needs_begin)
            seen.append(sql)

    _trace(line, monkeypatch, record)
    return seen


def commands(line: Line, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """On PostgreSQL, every command sent from now on, BEGIN and COMMIT included (psycopg's own and
    smsline's lazy BEGIN), each with whether it was sent inside a transaction (see `kinds`)."""
    seen: list[tuple[str, bool]] = []
    _trace(line, monkeypatch, lambda sql, inside: seen.append((sql, inside)), commands=True)
    return seen


def kinds(trace: list[tuple[str, bool]]) -> list[str]:
    """Each command's first word, marked "+" when it was sent inside a transaction."""
    return [sql.split()[0].upper() + ("+" if inside else "") for sql, inside in trace]


def _trace(
    line: Line,
    monkeypatch: pytest.MonkeyPatch,
    record: Callable[[str, bool], object],
    commands: bool = False,
) -> None:
    """Call `record(statement, sent inside a transaction)` for everything sent from now on;
    psycopg's own BEGIN and COMMIT too with `commands`."""
    if line.engine.dialect.name != "postgresql":

        @event.listens_for(line.engine, "before_cursor_execute")
        def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ANN202
            record(" ".join(statement.split()), False)

        return
    import psycopg
    from psycopg import _connection_base

    execute = psycopg.Cursor.execute
    exec_command = _connection_base.BaseConnection._exec_command

    def traced_execute(self, query, params=None, **kwargs):  # noqa: ANN001, ANN003, ANN202
        record(" ".join(str(query).split()), self.connection.info.transaction_status != 0)
        return execute(self, query, params, **kwargs)

    def traced_command(self, command, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        text = bytes(command).decode() if not isinstance(command, str) else command
        record(" ".join(text.split()), self.info.transaction_status != 0)
        return exec_command(self, command, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", traced_execute)
    if commands:
        monkeypatch.setattr(_connection_base.BaseConnection, "_exec_command", traced_command)
