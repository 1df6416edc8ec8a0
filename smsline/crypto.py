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

    def __init__(
        self, data_keys: Sequence[str], index_key: str, previous_index_keys: Sequence[str] = ()
    ) -> None:
        fernets = [Fernet(key.encode()) for key in data_keys]
        self._first = fernets[0]
        self._fernet = MultiFernet(fernets)
        self._index_key = index_key.encode()
        # Index keys replaced by `index_key` (SMSLINE_INDEX_KEY_OLD), kept while rows whose
        # number we no longer hold (an erased member's opt-out) are still under one: see keys.py.
        self._previous_index_keys = tuple(key.encode() for key in previous_index_keys)

    # The empty text is stored as empty bytes, not as a token: it says nothing, and a purged
    # body or answer (retention.py, erasure.py) is written as "" in columns that cannot be NULL.
    def encrypt(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode()) if text else b""

    def decrypt(self, token: bytes) -> str:
        return self._fernet.decrypt(bytes(token)).decode() if token else ""

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt under the first (newest) data key (the empty value stays empty)."""
        return self._fernet.rotate(bytes(token)) if token else b""

    def is_current(self, token: bytes) -> bool:
        """Whether the first (newest) data key encrypted this token."""
        try:
            self._first.decrypt(bytes(token))
        except InvalidToken:
            return False
        return True

    def index(self, value: str) -> str:
        """The blind index of a normalised value (hex HMAC-SHA256)."""
        return hmac.new(self._index_key, value.encode(), hashlib.sha256).hexdigest()

    def previous_indexes(self, value: str) -> list[str]:
        """The blind indexes of a value under the replaced index keys (none outside a re-index)."""
        return [
            hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
            for key in self._previous_index_keys
        ]

    @property
    def has_previous_index_keys(self) -> bool:
        return bool(self._previous_index_keys)


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
