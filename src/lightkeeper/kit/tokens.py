"""The token kit: one implementation for every kind of bearer secret.

Format (published so secret scanners can find leaks): ``<prefix>_`` + 32
characters drawn uniformly from base62 (``0-9A-Za-z``) + a 6-character base62
CRC32 of those 32 characters, most significant digit first, left-padded with
``0``; scanners match ``ldsvc_[0-9A-Za-z]{38}`` and ``ldpat_[0-9A-Za-z]{38}``.

A legacy shape is also accepted: the prefix followed by 32 to 128 characters
of ``[A-Za-z0-9_-]`` (Lightdash's ``ldsvc_`` + 32 hex, setup tokens). A token
in our exact shape whose checksum fails is refused, as is anything else: both
before any database work.

Storage is a keyed hash: HMAC-SHA256 under a key derived from the server
secret, with the key's id stored beside it so the secret can rotate
(LIGHTKEEPER_PREVIOUS_SECRETS keep verifying; rows are re-hashed on use).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import zlib
from dataclasses import dataclass
from enum import StrEnum

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BODY_LENGTH = 32
CHECKSUM_LENGTH = 6


class TokenKind(StrEnum):
    SERVICE_ACCOUNT = "ldsvc"
    PERSONAL = "ldpat"


_LEGACY_BODY = re.compile(r"[A-Za-z0-9_-]{32,128}")
_OUR_BODY = re.compile(rf"[0-9A-Za-z]{{{BODY_LENGTH + CHECKSUM_LENGTH}}}")


class MalformedTokenError(ValueError):
    """The string cannot be a token of that kind: refuse it without a query."""


def base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, remainder = divmod(number, 62)
        digits.append(BASE62[remainder])
    return "".join(reversed(digits)).rjust(width, "0")


def checksum(body: str) -> str:
    return base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def generate(kind: TokenKind) -> str:
    body = "".join(secrets.choice(BASE62) for _ in range(BODY_LENGTH))
    return f"{kind.value}_{body}{checksum(body)}"


_KINDS = {kind.value: kind for kind in TokenKind}


def kind_of(raw: str) -> TokenKind | None:
    """The kind a credential claims by its prefix (the prefix decides, not the scheme)."""
    prefix, underscore, _rest = raw.partition("_")
    return _KINDS.get(prefix) if underscore else None


def check_shape(raw: str, kind: TokenKind) -> None:
    """Raise MalformedTokenError unless `raw` is a plausible token of `kind`."""
    prefix = kind.value + "_"
    if not raw.startswith(prefix):
        raise MalformedTokenError("wrong prefix")
    rest = raw[len(prefix) :]
    if _OUR_BODY.fullmatch(rest):
        body, given = rest[:BODY_LENGTH], rest[BODY_LENGTH:]
        if not hmac.compare_digest(checksum(body), given):
            raise MalformedTokenError("bad checksum")
        return
    if not _LEGACY_BODY.fullmatch(rest):
        raise MalformedTokenError("bad shape")


def hint(raw: str) -> str:
    """`ldsvc_…9Hf2`: tells tokens apart without revealing them."""
    prefix, _, rest = raw.partition("_")
    return f"{prefix}_\u2026{rest[-4:]}"


@dataclass(frozen=True)
class HashKey:
    key_id: str
    key: bytes

    @classmethod
    def from_secret(cls, secret: str) -> HashKey:
        # A dedicated key so the token hash never equals any other use of the secret.
        key = hmac.new(secret.encode(), b"lightkeeper/token-hash/v1", hashlib.sha256).digest()
        return cls(key_id=hashlib.sha256(key).hexdigest()[:12], key=key)

    def digest(self, raw: str) -> str:
        keyed = self._keyed.copy()  # the key's pads, computed once (every request hashes a token)
        keyed.update(raw.encode())
        return keyed.hexdigest()

    @functools.cached_property
    def _keyed(self) -> hmac.HMAC:
        return hmac.new(self.key, digestmod=hashlib.sha256)


class Keyring:
    """The current hashing key and the previous ones that still verify."""

    def __init__(self, secret: str, previous_secrets: list[str] | None = None) -> None:
        self.current = HashKey.from_secret(secret)
        self.previous = [HashKey.from_secret(s) for s in previous_secrets or []]

    def hash(self, raw: str) -> tuple[str, str]:
        """(key_id, digest) under the current key: what to store."""
        return self.current.key_id, self.current.digest(raw)

    def candidates(self, raw: str) -> list[tuple[str, str]]:
        """Every (key_id, digest) a stored row for `raw` may have, current key first."""
        return [(k.key_id, k.digest(raw)) for k in (self.current, *self.previous)]
