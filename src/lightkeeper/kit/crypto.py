"""Encryption of stored credentials (warehouse connection secrets) and password hashing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken, MultiFernet


def _fernet(secret: str) -> Fernet:
    key = hmac.new(secret.encode(), b"lightkeeper/encryption/v1", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


class SecretBox:
    """Encrypts JSON documents under the server secret; older secrets still decrypt."""

    def __init__(self, secret: str, previous_secrets: list[str] | None = None) -> None:
        self._box = MultiFernet([_fernet(s) for s in (secret, *(previous_secrets or []))])

    def seal(self, document: dict[str, Any]) -> str:
        return self._box.encrypt(json.dumps(document).encode()).decode()

    def open(self, sealed: str) -> dict[str, Any]:
        try:
            value: dict[str, Any] = json.loads(self._box.decrypt(sealed.encode()))
        except InvalidToken as error:
            raise ValueError("stored credentials cannot be decrypted with this secret") from error
        return value


class Passwords:
    """argon2id; tests use cheap parameters, production the library's RFC 9106 defaults."""

    MIN_LENGTH = 8

    def __init__(self, cheap: bool = False) -> None:
        self._hasher = (
            PasswordHasher(time_cost=1, memory_cost=8, parallelism=1) if cheap else PasswordHasher()
        )
        # Verifying an unknown email costs the same as a wrong password.
        self._dummy = self._hasher.hash("lightkeeper-dummy-password")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)
