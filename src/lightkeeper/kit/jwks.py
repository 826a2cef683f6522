"""The public keys of OpenID Connect issuers, fetched and cached per process.

The key set of an issuer is found through its discovery document
(`{issuer}/.well-known/openid-configuration` → `jwks_uri`) and cached by `kid`.
Rules (the pitfalls of reference/workload-identity.md §2.2, 9):

- times come from the one clock (kit/clock.py), so tests move past a cooldown;
- a known `kid` is answered from the cache, without any request (so an issuer
  that is down does not stop tokens signed with a key we already hold);
- an unknown `kid`, or a key set older than `max_age`, causes at most one fetch
  per issuer per `cooldown` seconds, whatever the number of requests or `kid`s
  an attacker sends;
- a failed fetch keeps the last good key set; an empty key set is never cached;
- the discovery document must name the same issuer, exactly; only `https`
  URLs unless `allow_http` (tests only); short timeouts, bounded bodies, no
  redirects;
- only asymmetric signing keys (RSA, EC, OKP) are kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import structlog

from lightkeeper.kit.clock import utcnow

log = structlog.get_logger()

MAX_BODY = 256 * 1024
ASYMMETRIC_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})


class KeySetUnavailable(Exception):
    """No key set of this issuer is held and none could be fetched now (try again later)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("the issuer's keys could not be fetched")
        self.retry_after = retry_after


class UnknownKey(Exception):
    """The issuer does not publish a key with this `kid` (after at most one refetch)."""


class FetchError(Exception):
    """Discovery or key set could not be fetched or read."""


def is_allowed_url(url: str, *, allow_http: bool) -> bool:
    """Whether an issuer or key-set URL may be fetched: https (http only when allowed), a host."""
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_http else ("https",)
    return parts.scheme in schemes and bool(parts.hostname) and not parts.fragment


def _now() -> float:
    return utcnow().timestamp()


@dataclass
class _Held:
    keys: dict[str, jwt.PyJWK]
    fetched_at: float


class KeySets:
    """Issuer → {kid → key}, with one refetch per issuer per cooldown."""

    def __init__(
        self,
        *,
        allow_http: bool = False,
        cooldown: float = 60.0,
        max_age: float = 3600.0,
        timeout: float = 5.0,
        fetch: Callable[[str], dict[str, jwt.PyJWK]] | None = None,
    ) -> None:
        self.allow_http = allow_http
        self.cooldown = cooldown
        self.max_age = max_age
        self.timeout = timeout
        self._fetch = fetch or self._fetch_over_http
        self._held: dict[str, _Held] = {}
        self._attempted: dict[str, float] = {}
        self._lock = threading.Lock()
        self._issuer_locks: dict[str, threading.Lock] = {}
        self.fetches = 0  # how many fetches this process made (for tests and logs)

    def key(self, issuer: str, kid: str) -> jwt.PyJWK:
        """The issuer's key `kid`: from the cache, else after at most one fetch per cooldown."""
        held = self._held.get(issuer)
        if held is not None and kid in held.keys and not self._stale(held):
            return held.keys[kid]
        with self._lock:
            issuer_lock = self._issuer_locks.setdefault(issuer, threading.Lock())
        with issuer_lock:
            held = self._held.get(issuer)
            if held is not None and kid in held.keys and not self._stale(held):
                return held.keys[kid]
            now = _now()
            last = self._attempted.get(issuer)
            if last is None or now - last >= self.cooldown:
                self._attempted[issuer] = now
                self.fetches += 1
                try:
                    keys = self._fetch(issuer)
                except FetchError as error:
                    log.warning("oidc.keys_unavailable", issuer=issuer, error=str(error))
                else:
                    if keys:
                        held = self._held[issuer] = _Held(keys, now)
                        log.info("oidc.keys_fetched", issuer=issuer, kids=sorted(keys))
            if held is None:
                wait = self.cooldown - (_now() - self._attempted[issuer])
                raise KeySetUnavailable(max(1, int(wait) + 1))
            if kid in held.keys:
                return held.keys[kid]
            raise UnknownKey(kid)

    def _stale(self, held: _Held) -> bool:
        return _now() - held.fetched_at >= self.max_age

    # -- fetching ------------------------------------------------------------------

    def _get_json(self, client: httpx.Client, url: str) -> dict[str, Any]:
        if not is_allowed_url(url, allow_http=self.allow_http):
            raise FetchError(f"refused URL {url!r}: https only")
        try:
            with client.stream("GET", url, headers={"Accept": "application/json"}) as response:
                if response.status_code != 200:
                    raise FetchError(f"{url} answered {response.status_code}")
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY:
                        raise FetchError(f"{url} answered more than {MAX_BODY} bytes")
        except httpx.HTTPError as error:
            raise FetchError(f"{url}: {type(error).__name__}") from None
        try:
            document = httpx.Response(200, content=body).json()
        except ValueError:
            raise FetchError(f"{url} did not answer JSON") from None
        if not isinstance(document, dict):
            raise FetchError(f"{url} did not answer a JSON object")
        return document

    def _fetch_over_http(self, issuer: str) -> dict[str, jwt.PyJWK]:
        with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
            discovery = self._get_json(
                client, issuer.rstrip("/") + "/.well-known/openid-configuration"
            )
            if discovery.get("issuer") != issuer:
                raise FetchError("the discovery document names another issuer")
            jwks_uri = discovery.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise FetchError("the discovery document has no jwks_uri")
            return signing_keys(self._get_json(client, jwks_uri))


def signing_keys(key_set: dict[str, Any]) -> dict[str, jwt.PyJWK]:
    """The usable asymmetric signing keys of a JWKS document, by `kid` (others are skipped)."""
    keys: dict[str, jwt.PyJWK] = {}
    entries = key_set.get("keys")
    if not isinstance(entries, list):
        raise FetchError("the key set has no keys list")
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or entry.get("kty") not in ASYMMETRIC_KEY_TYPES:
            continue
        if entry.get("use", "sig") != "sig":
            continue
        try:
            keys[kid] = jwt.PyJWK(entry)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            continue
    return keys
