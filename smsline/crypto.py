"""Encryption at rest and the blind index for phone numbers.

Phone numbers and message bodies are stored encrypted with MultiFernet (the first SMSLINE_DATA_KEY
encrypts, all decrypt, so keys can be rotated) and looked up through an HMAC-SHA256 of the normalised
number under SMSLINE_INDEX_KEY, a separate key so rotating data keys never breaks lookups.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class Keyring:
    """The data keys and the index key of one deployment."""

    def __init__(self, data_keys: Sequence[str], index_key: str) -> None:
        self._fernet = MultiFernet([Fernet(key.encode()) for key in data_keys])
        self._index_key = index_key.encode()

    def encrypt(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode())

    def decrypt(self, token: bytes) -> str:
        return self._fernet.decrypt(bytes(token)).decode()

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt under the first (newest) data key."""
        return self._fernet.rotate(bytes(token))

    def index(self, value: str) -> str:
        """The blind index of a normalised value (hex HMAC-SHA256)."""
        return hmac.new(self._index_key, value.encode(), hashlib.sha256).hexdigest()


_current: Keyring | None = None


def configure(keyring: Keyring) -> None:
    """Install the keyring the encrypted column types use (done by create_app and the CLI)."""
    global _current
    _current = keyring


def current() -> Keyring:
    if _current is None:
        raise RuntimeError("no keyring configured: build the app with create_app() first")
    return _current


__all__ = ["InvalidToken", "Keyring", "configure", "current"]
