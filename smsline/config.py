"""Configuration from the environment (secrets and connections only).

The line's operating settings (quiet hours, crisis phrases...) live in the database: see settings.py.
Development mode (`smsline dev`, or SMSLINE_ENV=development) generates missing secrets and keeps them in
`instance/`; production mode refuses to start without them, naming the variable at fault.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEVELOPMENT = "development"
PRODUCTION = "production"
MIN_INDEX_KEY_LENGTH = 32


class ConfigError(Exception):
    """A missing or malformed environment variable; the message names it."""


@dataclass(frozen=True)
class Config:
    mode: str = PRODUCTION
    database_url: str = ""
    redis_url: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_messaging_service_sid: str | None = None
    public_url: str | None = None
    twilio_api_url: str | None = None
    secret_key: str = ""
    data_keys: tuple[str, ...] = ()
    index_key: str = ""
    # SMSLINE_INDEX_KEY_OLD: the index keys SMSLINE_INDEX_KEY replaced (comma-separated), during
    # and after `smsline keys reindex` while hash-only rows remain under them (keys.py).
    previous_index_keys: tuple[str, ...] = ()
    instance_path: Path = field(default_factory=lambda: Path.cwd() / "instance")
    proxy_fix: int = 0  # number of trusted proxies setting X-Forwarded-* (werkzeug ProxyFix)
    metrics_token: str | None = None  # SMSLINE_METRICS_TOKEN: GET /metrics wants it as a bearer

    @property
    def development(self) -> bool:
        return self.mode == DEVELOPMENT

    @property
    def uses_twilio(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    def with_(self, **changes: object) -> Config:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Read and check the environment; in development fill in what is missing."""
        env = dict(os.environ if environ is None else environ)
        mode = (
            DEVELOPMENT
            if env.get("SMSLINE_ENV", "").lower() in ("dev", DEVELOPMENT)
            else PRODUCTION
        )
        instance = Path(env.get("SMSLINE_INSTANCE_PATH") or Path.cwd() / "instance")

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        if mode == DEVELOPMENT:
            dev = _dev_secrets(instance)
            env.setdefault("SMSLINE_SECRET_KEY", dev["secret_key"])
            env.setdefault("SMSLINE_DATA_KEY", dev["data_key"])
            env.setdefault("SMSLINE_INDEX_KEY", dev["index_key"])
        database_url = get("DATABASE_URL") or f"sqlite:///{instance / 'smsline.db'}"
        config = cls(
            mode=mode,
            database_url=_normalise_database_url(database_url),
            redis_url=get("REDIS_URL"),
            twilio_account_sid=get("TWILIO_ACCOUNT_SID"),
            twilio_auth_token=get("TWILIO_AUTH_TOKEN"),
            twilio_messaging_service_sid=get("TWILIO_MESSAGING_SERVICE_SID"),
            public_url=(get("SMSLINE_PUBLIC_URL") or "").rstrip("/") or None,
            twilio_api_url=(get("SMSLINE_TWILIO_API_URL") or "").rstrip("/") or None,
            secret_key=get("SMSLINE_SECRET_KEY") or "",
            data_keys=tuple(
                k.strip() for k in (get("SMSLINE_DATA_KEY") or "").split(",") if k.strip()
            ),
            index_key=get("SMSLINE_INDEX_KEY") or "",
            previous_index_keys=tuple(
                k.strip() for k in (get("SMSLINE_INDEX_KEY_OLD") or "").split(",") if k.strip()
            ),
            instance_path=instance,
            proxy_fix=int(get("SMSLINE_PROXY_FIX") or 0),
            metrics_token=get("SMSLINE_METRICS_TOKEN") or None,
        )
        config.check()
        return config

    def check(self) -> None:
        """Raise ConfigError naming the first variable that is missing or malformed."""
        if not self.secret_key:
            raise ConfigError("SMSLINE_SECRET_KEY is not set (a long random string for sessions)")
        if len(self.secret_key) < 16:
            raise ConfigError("SMSLINE_SECRET_KEY is too short (at least 16 characters)")
        if not self.data_keys:
            raise ConfigError("SMSLINE_DATA_KEY is not set (comma-separated Fernet keys)")
        for position, key in enumerate(self.data_keys, 1):
            if not _is_fernet_key(key):
                raise ConfigError(
                    f"SMSLINE_DATA_KEY key {position} is not a Fernet key "
                    "(32 url-safe base64-encoded bytes; make one with `smsline keys`)"
                )
        if len(self.index_key) < MIN_INDEX_KEY_LENGTH:
            raise ConfigError(
                f"SMSLINE_INDEX_KEY must be at least {MIN_INDEX_KEY_LENGTH} characters"
                if self.index_key
                else "SMSLINE_INDEX_KEY is not set"
            )
        for key in self.previous_index_keys:
            if len(key) < MIN_INDEX_KEY_LENGTH or key == self.index_key:
                raise ConfigError(
                    f"SMSLINE_INDEX_KEY_OLD keys must be at least {MIN_INDEX_KEY_LENGTH} "
                    "characters and differ from SMSLINE_INDEX_KEY"
                )
        try:
            make_url(self.database_url)
        except ArgumentError as error:
            raise ConfigError(f"DATABASE_URL is not a database URL: {error}") from None
        if self.twilio_account_sid and not self.twilio_auth_token:
            raise ConfigError("TWILIO_AUTH_TOKEN is not set but TWILIO_ACCOUNT_SID is")
        if self.twilio_auth_token and not self.twilio_account_sid:
            raise ConfigError("TWILIO_ACCOUNT_SID is not set but TWILIO_AUTH_TOKEN is")
        if self.twilio_account_sid and not self.twilio_account_sid.startswith("AC"):
            raise ConfigError("TWILIO_ACCOUNT_SID must start with AC")
        if self.twilio_messaging_service_sid and not self.twilio_messaging_service_sid.startswith(
            "MG"
        ):
            raise ConfigError("TWILIO_MESSAGING_SERVICE_SID must start with MG")
        for name, url in (
            ("SMSLINE_PUBLIC_URL", self.public_url),
            ("SMSLINE_TWILIO_API_URL", self.twilio_api_url),
            ("REDIS_URL", self.redis_url),
        ):
            if url is None:
                continue
            parts = urlsplit(url)
            schemes = ("redis", "rediss", "unix") if name == "REDIS_URL" else ("http", "https")
            if parts.scheme not in schemes or not (parts.netloc or parts.path):
                raise ConfigError(f"{name} is not a {'/'.join(schemes)} URL")


def _is_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32
    except (binascii.Error, ValueError):
        return False


def _normalise_database_url(url: str) -> str:
    """Use psycopg 3 for plain postgres URLs (Heroku-style `postgres://` included)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _dev_secrets(instance: Path) -> dict[str, str]:
    """Secrets for development, generated once and kept in instance/ so data stays readable."""
    path = instance / "dev-secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    instance.mkdir(parents=True, exist_ok=True)
    values = {
        "secret_key": secrets.token_urlsafe(32),
        "data_key": Fernet.generate_key().decode(),
        "index_key": secrets.token_urlsafe(48),
    }
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values
