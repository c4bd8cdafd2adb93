"""Encryption of secrets at rest (platform tokens, gift-card codes): MultiFernet.

LAUREL_SECRET_KEYS holds comma-separated Fernet keys. The first encrypts; every key
decrypts, so a new key is rotated in by putting it first and keeping the old ones after
it; `rotate()` re-encrypts a secret with the first key, which is how an old key can be
retired once everything it sealed has been rotated (`laurel secrets rotate` does it for
every stored secret, adapters/persistence/rekey.py).
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretsUnavailable(Exception):
    """No keys configured, or none of them opens this secret."""


class SecretBox:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise SecretsUnavailable("LAUREL_SECRET_KEYS is not set")
        try:
            self._keys = [Fernet(key.strip().encode()) for key in keys]
        except ValueError as error:
            raise SecretsUnavailable(f"LAUREL_SECRET_KEYS: {error}") from None
        self._fernet = MultiFernet(self._keys)
        # Keys for fingerprints, derived from each Fernet key (the first one's is current).
        self._fingerprint_keys = [
            hashlib.sha256(b"laurel fingerprint:" + key.strip().encode()).digest() for key in keys
        ]

    @classmethod
    def from_setting(cls, value: str | None) -> SecretBox:
        return cls([k for k in (value or "").split(",") if k.strip()])

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SecretsUnavailable("no key in LAUREL_SECRET_KEYS opens this secret") from None

    def seal_bytes(self, plain: bytes) -> bytes:
        """A file's bytes (an export waiting to be delivered), sealed as they are."""
        return self._fernet.encrypt(plain)

    def open_bytes(self, sealed: bytes) -> bytes:
        try:
            return self._fernet.decrypt(sealed)
        except InvalidToken:
            raise SecretsUnavailable("no key in LAUREL_SECRET_KEYS opens this file") from None

    def fingerprint(self, plain: str) -> str:
        """A keyed hash (HMAC-SHA256) with the current key: equal secrets match without
        being readable."""
        return self.fingerprints(plain)[0]

    def fingerprints(self, plain: str) -> list[str]:
        """The secret's fingerprint under every configured key: after a rotation, a secret
        stored under the old key is still recognised."""
        return [
            hmac.new(k, plain.encode(), hashlib.sha256).hexdigest() for k in self._fingerprint_keys
        ]

    def rotate(self, sealed: str) -> str:
        """The same secret, encrypted with the first key."""
        return self._fernet.rotate(sealed.encode()).decode()

    def rotate_bytes(self, sealed: bytes) -> bytes:
        return self._fernet.rotate(sealed)

    @property
    def key_count(self) -> int:
        return len(self._keys)

    def key_of(self, sealed: str | bytes) -> int | None:
        """Which key opens the secret: 0 is the first (current) one, None is none of them."""
        token = sealed.encode() if isinstance(sealed, str) else sealed
        for index, key in enumerate(self._keys):
            try:
                key.decrypt(token)
            except InvalidToken:
                continue
            return index
        return None
