"""Fixtures: a migrated database (SQLite by default; PostgreSQL with SMSLINE_TEST_DATABASE_URL),
the app on the local transport, a client that signs webhooks as Twilio does, and Redis when
SMSLINE_TEST_REDIS_URL is set. Every test starts from empty tables and an empty Redis."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from twilio.request_validator import RequestValidator

from smsline import create_app, flowstore, settings
from smsline.config import Config
from smsline.migrate import upgrade
from smsline.models import Base
from smsline.transport.local import LocalTransport
from tests.browser_support import chromium, live_server  # noqa: F401 - one per session

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC_URL = "https://line.example.org"
DATA_KEY = Fernet.generate_key().decode()
INDEX_KEY = "test-index-key-" + "x" * 32
LINE_NUMBER = "+15005550006"

TEST_DATABASE_URL = os.environ.get("SMSLINE_TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("SMSLINE_TEST_REDIS_URL")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database at the head migration: a fresh SQLite file, or the PostgreSQL test database
    emptied first (never point SMSLINE_TEST_DATABASE_URL at data you want to keep)."""
    if TEST_DATABASE_URL:
        from smsline.config import _normalise_database_url

        url = _normalise_database_url(TEST_DATABASE_URL)
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'smsline.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def database_engine(database_url: str):  # noqa: ANN201
    from smsline.db import make_engine

    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def config(database_url: str, database_engine, tmp_path: Path) -> Config:  # noqa: ANN001
    _empty_tables(database_engine)
    settings.forget()
    flowstore.forget()
    return Config(
        mode="production",
        database_url=database_url,
        redis_url=None,
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token=AUTH_TOKEN,
        public_url=PUBLIC_URL,
        secret_key="test-secret-key-0123456789",
        data_keys=(DATA_KEY,),
        index_key=INDEX_KEY,
        instance_path=tmp_path / "instance",
    )


@pytest.fixture
def transport() -> LocalTransport:
    return LocalTransport()


@pytest.fixture
def app(config: Config, transport: LocalTransport):  # noqa: ANN201
    app = create_app(config, transport=transport)
    app.config["TESTING"] = True
    yield app
    app.extensions["smsline"].close()


@pytest.fixture
def line(app):  # noqa: ANN001, ANN201
    return app.extensions["smsline"]


@pytest.fixture
def session(line):  # noqa: ANN001, ANN201
    """A session for the test itself; on SQLite it does not hold the write lock between calls."""
    from sqlalchemy.orm import Session

    with Session(line.engine.execution_options(sqlite_deferred=True), expire_on_commit=False) as s:
        yield s


@pytest.fixture
def client(app):  # noqa: ANN001, ANN201
    return app.test_client()


@pytest.fixture
def twilio_post(client):  # noqa: ANN001, ANN201
    """POST a form to a webhook path, signed as Twilio signs it for PUBLIC_URL."""

    def post(path: str, form: dict[str, str], *, signature: str | None = None, **kwargs):  # noqa: ANN202
        if signature is None:
            signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + path, form)
        headers = {"X-Twilio-Signature": signature, **kwargs.pop("headers", {})}
        return client.post(path, data=form, headers=headers, **kwargs)

    return post


@pytest.fixture
def redis_url() -> str:
    """A real Redis, flushed before the test; skips with the reason when none is configured."""
    if not TEST_REDIS_URL:
        pytest.skip("needs Redis: set SMSLINE_TEST_REDIS_URL (CI's second run does)")
    from redis import Redis

    connection = Redis.from_url(TEST_REDIS_URL)
    connection.flushdb()
    yield TEST_REDIS_URL
    connection.flushdb()
    connection.close()


def _empty_tables(engine) -> None:  # noqa: ANN001
    """DELETE every row; the append-only audit log (its triggers refuse DELETE) is emptied with
    TRUNCATE on PostgreSQL, and with its triggers lifted for the moment on SQLite."""
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name == "audit_log":
                _empty_audit_log(connection)
            else:
                connection.execute(table.delete())


def _empty_audit_log(connection) -> None:  # noqa: ANN001
    if connection.dialect.name == "postgresql":
        connection.execute(text("TRUNCATE audit_log"))
        return
    triggers = connection.execute(
        text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'"
        )
    ).all()
    for name, _ in triggers:
        connection.execute(text(f"DROP TRIGGER {name}"))
    connection.execute(text("DELETE FROM audit_log"))
    for _, sql in triggers:
        connection.execute(text(sql))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # noqa: ANN001, ANN201
    """With SMSLINE_TEST_REQUIRE_ALL=1 (CI's PostgreSQL + Redis run) a skipped test fails."""
    outcome = yield
    report = outcome.get_result()
    if (
        os.environ.get("SMSLINE_TEST_REQUIRE_ALL") == "1"
        and report.skipped
        and not hasattr(report, "wasxfail")
    ):
        report.outcome = "failed"
        report.longrepr = f"skipped where nothing may skip: {report.longrepr}"
