"""`smsline admin create-user`: the password from standard input, checks, and the audit entry."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from smsline.cli import main
from smsline.models import AdminUser, AuditEntry
from smsline.web.admin.accounts import authenticate
from tests.conftest import DATA_KEY, INDEX_KEY


@pytest.fixture
def run(config, monkeypatch):  # noqa: ANN001, ANN201
    env = {
        "DATABASE_URL": config.database_url,
        "SMSLINE_SECRET_KEY": config.secret_key,
        "SMSLINE_DATA_KEY": DATA_KEY,
        "SMSLINE_INDEX_KEY": INDEX_KEY,
        "SMSLINE_ENV": "production",
    }
    for name in ("REDIS_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SMSLINE_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)

    def invoke(*args: str, input: str):  # noqa: ANN202, A002
        return CliRunner().invoke(main, list(args), env=env, input=input)

    return invoke


def test_create_user_reads_the_password_from_stdin(run, session) -> None:  # noqa: ANN001
    result = run(
        "admin",
        "create-user",
        "Ana@Example.org",
        "--role",
        "coordinator",
        input="a long passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created ana@example.org (coordinator)" in result.output
    user = session.scalar(select(AdminUser))
    assert user.email == "ana@example.org" and user.role == "coordinator" and user.active
    assert user.password_hash.startswith("$argon2id$") and "passphrase" not in user.password_hash
    assert authenticate(session, "ana@example.org", "a long passphrase") is not None
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "admin_user.create"))
    assert entry.actor == "cli" and entry.subject_id == user.id


def test_create_user_refuses_bad_input(run, session) -> None:  # noqa: ANN001
    assert (
        run(
            "admin", "create-user", "ana@example.org", "--role", "viewer", input="short\n"
        ).exit_code
        == 1
    )
    assert (
        run(
            "admin", "create-user", "not-an-email", "--role", "viewer", input="a long passphrase\n"
        ).exit_code
        == 1
    )
    assert (
        run(
            "admin", "create-user", "ana@example.org", "--role", "boss", input="a long passphrase\n"
        ).exit_code
        == 2
    )
    assert (
        run(
            "admin",
            "create-user",
            "ana@example.org",
            "--role",
            "viewer",
            input="a long passphrase\n",
        ).exit_code
        == 0
    )
    again = run(
        "admin", "create-user", "ANA@example.org", "--role", "admin", input="a long passphrase\n"
    )
    assert again.exit_code == 1 and "already has an account" in again.output
    assert len(session.scalars(select(AdminUser)).all()) == 1
