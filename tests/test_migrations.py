"""Migrations: `upgrade head` works on the test database (SQLite, or PostgreSQL in CI's second run)
and leaves no drift between the models and the migrations."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from smsline import migrate
from smsline.models import Base


def test_upgrade_head_creates_every_table(database_url: str) -> None:
    engine = create_engine(database_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_models_and_migrations_do_not_drift(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def test_migrations_are_numbered_in_a_single_line() -> None:
    files = sorted(p.name for p in (migrate.MIGRATIONS / "versions").glob("*.py"))
    assert files, "no migrations"
    for position, name in enumerate(files, 1):
        assert name.startswith(f"{position:04d}_"), name


def test_sqlite_upgrade_from_empty_uses_wal(tmp_path) -> None:  # noqa: ANN001
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate.upgrade(url)
    from smsline.db import make_engine

    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 15000
    engine.dispose()
    migrate.downgrade(url, "base")
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    engine.dispose()


def test_upgrade_keeps_existing_rows(tmp_path) -> None:  # noqa: ANN001
    """Each migration runs on a database that already holds data (new NOT NULL columns get defaults)."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url, "0001")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO members (id, phone_hash, phone_enc, language, timezone, status, "
                "media_notice_sent, created_at, updated_at) VALUES (1, 'h', x'00', 'en', 'UTC', 'new', 0, "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO conversations (id, member_id, flow_name, flow_version, state, status, "
                "started_at, updated_at) VALUES (1, 1, 'welcome', 1, 'hello', 'active', "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )
    engine.dispose()
    migrate.upgrade(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT discreet FROM members")).scalar() == 0
        assert connection.execute(
            text("SELECT checkin_streak, checkins_missed FROM members")
        ).one() == (0, 0)
        assert connection.execute(text("SELECT channel, tries FROM conversations")).one() == (
            "sms",
            0,
        )
    engine.dispose()
