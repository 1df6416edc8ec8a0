"""Alembic environment: batch mode on SQLite (it cannot ALTER most things), plain elsewhere."""

from __future__ import annotations

from alembic import context
from sqlalchemy import types

from smsline.db import make_engine
from smsline.models import Base

config = context.config
target_metadata = Base.metadata


def render_item(type_, obj, autogen_context):  # noqa: ANN001, ANN201
    """Write our TypeDecorators as their plain storage types, so migrations never import app code."""
    if type_ == "type" and isinstance(obj, types.TypeDecorator):
        return (
            repr(obj.impl)
            .replace("LargeBinary(", "sa.LargeBinary(")
            .replace("DateTime(", "sa.DateTime(")
        )
    return False


def run_migrations_online() -> None:
    url = config.attributes.get("database_url")
    if url is None:
        from smsline.config import Config

        url = Config.from_env().database_url
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable, url)
        return
    engine = make_engine(url)
    with engine.connect() as connection:
        _run(connection, url)
    engine.dispose()


def _run(connection, url: str) -> None:  # noqa: ANN001
    sqlite = url.startswith("sqlite")
    if sqlite:
        # Batch mode rebuilds a table (copy, drop, rename): foreign keys must be off meanwhile, and
        # the pragma only works outside a transaction, so it goes straight to the driver.
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        _migrate(connection, url)
    finally:
        if sqlite:
            connection.commit()
            problems = connection.connection.driver_connection.execute(
                "PRAGMA foreign_key_check"
            ).fetchall()
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
            if problems:
                raise RuntimeError(f"foreign keys broken by a migration: {problems[:5]}")


def _migrate(connection, url: str) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=url.startswith("sqlite"),
        render_item=render_item,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
