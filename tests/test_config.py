"""Configuration from the environment: production refuses missing or malformed secrets, naming the
variable; development fills them in and keeps them."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from smsline.config import Config, ConfigError

GOOD = {
    "SMSLINE_SECRET_KEY": "s" * 32,
    "SMSLINE_DATA_KEY": Fernet.generate_key().decode(),
    "SMSLINE_INDEX_KEY": "i" * 32,
    "DATABASE_URL": "postgres://u@db.example.org/line",
}


def test_production_reads_everything() -> None:
    second = Fernet.generate_key().decode()
    config = Config.from_env(
        {
            **GOOD,
            "SMSLINE_DATA_KEY": GOOD["SMSLINE_DATA_KEY"] + "," + second,
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
            "TWILIO_AUTH_TOKEN": "t" * 32,
            "SMSLINE_PUBLIC_URL": "https://line.example.org/",
        }
    )
    assert config.mode == "production" and not config.development
    assert config.database_url == "postgresql+psycopg://u@db.example.org/line"
    assert config.data_keys[1] == second
    assert config.public_url == "https://line.example.org"
    assert config.uses_twilio


@pytest.mark.parametrize(
    "change,variable",
    [
        ({"SMSLINE_SECRET_KEY": ""}, "SMSLINE_SECRET_KEY"),
        ({"SMSLINE_DATA_KEY": ""}, "SMSLINE_DATA_KEY"),
        ({"SMSLINE_DATA_KEY": "not-a-fernet-key"}, "SMSLINE_DATA_KEY"),
        ({"SMSLINE_INDEX_KEY": ""}, "SMSLINE_INDEX_KEY"),
        ({"SMSLINE_INDEX_KEY": "short"}, "SMSLINE_INDEX_KEY"),
        ({"DATABASE_URL": "::nonsense::"}, "DATABASE_URL"),
        ({"TWILIO_ACCOUNT_SID": "AC" + "1" * 32}, "TWILIO_AUTH_TOKEN"),
        ({"TWILIO_AUTH_TOKEN": "t" * 32}, "TWILIO_ACCOUNT_SID"),
        ({"SMSLINE_PUBLIC_URL": "line.example.org"}, "SMSLINE_PUBLIC_URL"),
        ({"SMSLINE_TWILIO_API_URL": "ftp://x"}, "SMSLINE_TWILIO_API_URL"),
        ({"REDIS_URL": "http://redis"}, "REDIS_URL"),
        ({"TWILIO_MESSAGING_SERVICE_SID": "XX1"}, "TWILIO_MESSAGING_SERVICE_SID"),
    ],
)
def test_production_names_the_bad_variable(change, variable) -> None:  # noqa: ANN001
    with pytest.raises(ConfigError, match=variable):
        Config.from_env({**GOOD, **change})


def test_create_app_fails_at_start_in_production(monkeypatch) -> None:  # noqa: ANN001
    from smsline import create_app

    for name in GOOD:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SMSLINE_ENV", raising=False)
    with pytest.raises(ConfigError, match="SMSLINE_SECRET_KEY"):
        create_app()


def test_development_generates_and_keeps_secrets(tmp_path) -> None:  # noqa: ANN001
    env = {"SMSLINE_ENV": "development", "SMSLINE_INSTANCE_PATH": str(tmp_path)}
    first = Config.from_env(env)
    again = Config.from_env(env)
    assert first.development
    assert first.data_keys == again.data_keys and first.index_key == again.index_key
    assert first.database_url == f"sqlite:///{tmp_path / 'smsline.db'}"
    assert (tmp_path / "dev-secrets.json").stat().st_mode & 0o077 == 0
