"""The token format, checksum and keyed hashing (pure: no database)."""

from __future__ import annotations

import hashlib
import hmac
import re
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lightkeeper.kit.tokens import (
    BASE62,
    HashKey,
    Keyring,
    MalformedTokenError,
    TokenKind,
    check_shape,
    checksum,
    generate,
    hint,
    kind_of,
)

SCANNER_PATTERN = re.compile(r"^ldsvc_[0-9A-Za-z]{38}$")

# Known-answer vectors: body -> checksum (zlib.crc32 of the ASCII body, base62, 6 digits).
VECTORS = [
    ("00000000000000000000000000000000", 2700251856, "2wjyrI"),
    ("abcdefghijklmnopqrstuvwxyzABCDEF", 1632948778, "1mVgZW"),
    ("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", 4139362634, "4W8LJS"),
    ("8VXdZJ51zbSxDF3Pr1R44bbI3Y6Ap2Vy", 2747209616, "2zv0iW"),
]


@pytest.mark.parametrize(("body", "crc", "expected"), VECTORS)
def test_checksum_known_answers(body: str, crc: int, expected: str) -> None:
    assert zlib.crc32(body.encode()) == crc
    assert checksum(body) == expected
    check_shape(f"ldsvc_{body}{expected}", TokenKind.SERVICE_ACCOUNT)


def test_generated_tokens_have_the_published_shape() -> None:
    for kind in TokenKind:
        token = generate(kind)
        assert len(token) == 44
        assert re.fullmatch(rf"{kind.value}_[0-9A-Za-z]{{38}}", token)
        check_shape(token, kind)
    assert SCANNER_PATTERN.match(generate(TokenKind.SERVICE_ACCOUNT))


def test_generated_bodies_use_the_whole_alphabet() -> None:
    seen = set("".join(generate(TokenKind.SERVICE_ACCOUNT)[6:38] for _ in range(400)))
    assert seen == set(BASE62)


@settings(max_examples=300, deadline=None)
@given(position=st.integers(min_value=6, max_value=43), replacement=st.sampled_from(BASE62))
def test_any_single_changed_character_is_refused(position: int, replacement: str) -> None:
    token = "ldsvc_" + VECTORS[3][0] + VECTORS[3][2]
    if token[position] == replacement:
        return
    changed = token[:position] + replacement + token[position + 1 :]
    with pytest.raises(MalformedTokenError):
        check_shape(changed, TokenKind.SERVICE_ACCOUNT)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_garbage_is_refused_or_has_an_accepted_shape(text: str) -> None:
    raw = "ldsvc_" + text
    try:
        check_shape(raw, TokenKind.SERVICE_ACCOUNT)
    except MalformedTokenError:
        return
    # Whatever passes is base62-with-checksum or the legacy [A-Za-z0-9_-]{32,128} shape.
    assert re.fullmatch(r"[A-Za-z0-9_-]{32,128}", text)


@pytest.mark.parametrize(
    "raw",
    [
        "ldsvc_" + "a1b2c3d4" * 4,  # Lightdash's own: 32 hex characters, no checksum
        "ldsvc_" + "A-b_" * 8,  # setup tokens as Lightdash's docs suggest
        "ldsvc_" + "x" * 128,
    ],
)
def test_legacy_shapes_are_accepted(raw: str) -> None:
    check_shape(raw, TokenKind.SERVICE_ACCOUNT)


@pytest.mark.parametrize(
    "raw",
    [
        "ldsvc_short",
        "ldsvc_" + "x" * 129,
        "ldsvc_" + "a" * 31,
        "ldsvc_" + "a" * 40 + "!",
        "ldpat_" + "a" * 40,  # the other kind's prefix
        "ldsvc_" + VECTORS[0][0] + "2wjyrJ",  # our shape, wrong checksum
    ],
)
def test_malformed_tokens_are_refused(raw: str) -> None:
    with pytest.raises(MalformedTokenError):
        check_shape(raw, TokenKind.SERVICE_ACCOUNT)


def test_hint_shows_prefix_and_last_four() -> None:
    assert hint("ldsvc_" + VECTORS[3][0] + VECTORS[3][2]) == "ldsvc_\u20260iW"[:-3] + "v0iW"


def test_keyring_hashes_are_keyed_and_rotate() -> None:
    token = generate(TokenKind.SERVICE_ACCOUNT)
    old = Keyring("old-secret")
    new = Keyring("new-secret", ["old-secret"])
    assert old.hash(token) != new.hash(token)
    assert old.hash(token)[0] != new.hash(token)[0]  # the key id tells them apart
    # The rotated keyring still finds rows hashed under the previous secret.
    assert old.hash(token) in new.candidates(token)
    assert new.candidates(token)[0] == new.hash(token)
    assert token not in "".join(new.hash(token))


@settings(max_examples=300)
@given(st.text(alphabet="ldsvcpat_x", max_size=12))
def test_the_kind_is_the_prefix_before_the_first_underscore(raw: str) -> None:
    claimed = [kind for kind in TokenKind if raw.startswith(kind.value + "_")]
    assert kind_of(raw) == (claimed[0] if claimed else None)


def test_a_keyed_hash_is_hmac_sha256_under_the_key() -> None:
    key = HashKey.from_secret("a secret of the server")
    token = generate(TokenKind.SERVICE_ACCOUNT)
    expected = hmac.new(key.key, token.encode(), hashlib.sha256).hexdigest()
    assert key.digest(token) == key.digest(token) == expected
    assert key.digest(token + "x") != expected
