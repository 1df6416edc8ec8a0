"""The webhook's own statements, run straight on the driver's cursor on PostgreSQL.

A text's path is two statements (who is texting; the one write), and SQLAlchemy's work around each
execution (its execution context, the cursor's column descriptions, the result's metadata, the
ORM's loading) cost this path more CPU than the statements themselves (benchmarks/README.md). Here
a statement is still built with SQLAlchemy Core, once, and compiled once per dialect; each run
applies the columns' own bind and result processors (encryption, UTC timestamps) as SQLAlchemy
would, sends the SQL on the session's connection, and turns driver errors into SQLAlchemy's (an
`IntegrityError`, or a `DBAPIError` whose connection is invalidated when the database went away),
so callers handle them as before. SQLite, the embedded default, runs the same statements through
the session."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Dialect, Executable
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.util import identity_key

from smsline import db

Model = TypeVar("Model")


@dataclass(frozen=True)
class _Compiled:
    statement: Executable  # held, so that its id (the cache's key) is never another's
    sql: str
    defaults: dict[str, Any]  # every parameter the SQL names, with its compiled value
    binds: dict[str, Callable[[Any], Any]]  # the parameters whose type processes them
    results: tuple[Callable[[Any], Any] | None, ...]  # each result column's processor, or None


_compiled: dict[tuple[int, str], _Compiled] = {}


def _compile(statement: Executable, dialect: Dialect) -> _Compiled:
    key = (id(statement), dialect.name)
    found = _compiled.get(key)
    if found is None:
        compiled = statement.compile(dialect=dialect)
        if compiled.insert_prefetch or compiled.update_prefetch:  # defaults made in Python
            columns = [column.key for column in compiled.insert_prefetch + compiled.update_prefetch]
            raise ValueError(f"direct.run cannot make Python defaults; give {columns} a value")
        binds = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for name, bind in compiled.binds.items()
        }
        columns = getattr(statement, "selected_columns", None)
        if columns is None:  # an INSERT or UPDATE, maybe RETURNING (its primary key, unasked)
            columns = compiled.effective_returning or ()
        found = _compiled[key] = _Compiled(
            statement=statement,
            sql=compiled.string,
            defaults=dict(compiled.params),
            binds={name: process for name, process in binds.items() if process is not None},
            results=tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in columns
            ),
        )
    return found


def run(
    session: Session,
    statement: Executable,
    params: Mapping[str, Any],
    *,
    only_write: bool = False,
) -> list[Any] | None:
    """Run `statement` (built once, at import, its parameters named with `bindparam`) with
    `params` in the session's transaction and return its first row, its values as the ORM would
    read them; None when it returns no rows.
    `only_write`: the statement is all this transaction writes (db.ONLY_WRITE), so a webhook's
    lazy transaction needs no BEGIN for it."""
    if session.get_bind().dialect.name != "postgresql":
        options = db.ONLY_WRITE if only_write else {}
        result = session.execute(statement, params, execution_options=options)
        row = result.first() if result.returns_rows else None
        return None if row is None else list(row)
    connection = session.connection()
    compiled = _compile(statement, connection.dialect)
    values = compiled.defaults | dict(params)
    for name, process in compiled.binds.items():
        values[name] = process(values[name])
    dbapi_connection = connection.connection.dbapi_connection
    cursor = dbapi_connection.cursor()
    try:
        if db.needs_begin(connection, cursor, compiled.sql, only_write):
            cursor.execute("BEGIN")
        cursor.execute(compiled.sql, values, prepare=True)
        row = cursor.fetchone() if compiled.results else None  # description costs a column each
    except connection.dialect.loaded_dbapi.Error as error:
        gone = connection.dialect.is_disconnect(error, dbapi_connection, cursor)
        if gone:
            connection.invalidate(error)
        raise DBAPIError.instance(
            compiled.sql,
            None,
            error,
            connection.dialect.loaded_dbapi.Error,
            hide_parameters=True,
            connection_invalidated=gone,
            dialect=connection.dialect,
        ) from error
    finally:
        cursor.close()
    if row is None:
        return None
    return [
        value if process is None else process(value)
        for process, value in zip(compiled.results, row, strict=True)
    ]


def as_loaded(session: Session, model: type[Model], values: Mapping[str, Any]) -> Model:
    """The `model` object with these column values (its `id` among them), in the session as if a
    query had loaded it; the one the session already holds, if it does (as a query would). Columns
    not given are read from the database when first used."""
    existing = session.identity_map.get(identity_key(model, values["id"]))
    if existing is not None:
        return existing
    loaded = model()
    keep_as_loaded(session, loaded, values)
    return loaded


def keep_as_loaded(session: Session, row: Any, values: Mapping[str, Any]) -> None:
    """Give `row` (a new object, or one waiting for a flush) these column values, its `id` among
    them, as its loaded state, and keep it in the session as a loaded row: nothing to write."""
    if row in session:
        session.expunge(row)
    instance_state(row).dict.update(values)  # as a query's loading does; no history to keep
    make_transient_to_detached(row)  # the values become the loaded state
    session.add(row)
