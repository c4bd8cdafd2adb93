"""Encryption of secrets at rest (platform tokens, gift-card codes): MultiFernet.

LAUREL_SECRET_KEYS holds comma-separated Fernet keys. The first encrypts; every key
decrypts, so a key can be rotated in by putting the new one first and rotated out
once `rotate()` has re-encrypted what the old one wrote.
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
            self._fernet = MultiFernet([Fernet(key.strip().encode()) for key in keys])
        except ValueError as error:
            raise SecretsUnavailable(f"LAUREL_SECRET_KEYS: {error}") from None
        # A separate key for fingerprints, derived from the encrypting key.
        self._fingerprints = hashlib.sha256(b"laurel fingerprint:" + keys[0].strip().encode())

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

    def fingerprint(self, plain: str) -> str:
        """A keyed hash (HMAC-SHA256): equal secrets match without being readable. It
        follows the encrypting key, so it finds duplicates among secrets added since the
        last rotation."""
        return hmac.new(self._fingerprints.digest(), plain.encode(), hashlib.sha256).hexdigest()

    def rotate(self, sealed: str) -> str:
        """The same secret, encrypted with the first key."""
        return self._fernet.rotate(sealed.encode()).decode()
