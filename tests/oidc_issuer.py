"""A local OpenID Connect issuer for tests: its own key pairs, discovery and keys on 127.0.0.1.

Fully offline. `LocalIssuer` serves `/.well-known/openid-configuration` and
`/.well-known/jwks` from a thread, signs identity tokens shaped like GitHub's or
GitLab's, rotates keys, can go down (503), and counts the requests it answered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from lightkeeper.kit.clock import utcnow

OWNER_ID = "9919"
REPOSITORY_ID = "123456789"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class LocalIssuer:
    def __init__(self) -> None:
        self._keys: dict[str, Any] = {}  # kid -> private key
        self.published: list[str] = []
        self.down = False
        # GitHub Actions' token request endpoint (ACTIONS_ID_TOKEN_REQUEST_URL / _TOKEN).
        self.actions_bearer = "actions-request-" + uuid.uuid4().hex
        self.requests: Counter[str] = Counter()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.add_key("rsa-1")
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    # -- keys ----------------------------------------------------------------------

    def add_key(self, kid: str, kind: str = "RSA", *, publish: bool = True) -> None:
        if kind == "RSA":
            self._keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            self._keys[kid] = ec.generate_private_key(ec.SECP256R1())
        if publish:
            self.published.append(kid)

    def rotate(self, kid: str) -> None:
        """Publish only a new key from now on (the old ones are withdrawn)."""
        self.add_key(kid, publish=False)
        self.published = [kid]

    def public_pem(self, kid: str) -> bytes:
        return bytes(
            self._keys[kid]
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid in self.published:
            private = self._keys[kid]
            alg = "RS256" if isinstance(private, rsa.RSAPrivateKey) else "ES256"
            algorithm = jwt.get_algorithm_by_name(alg)
            jwk = json.loads(algorithm.to_jwk(private.public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": alg})
        return {"keys": keys}

    # -- tokens ----------------------------------------------------------------------

    def github_claims(
        self, audience: str = "http://localhost:8080", **overrides: Any
    ) -> dict[str, Any]:
        """A GitHub Actions job's token claims (ids as numbers, `ref` in full)."""
        return self._claims(
            audience,
            {
                "sub": "repo:octo-org/app:environment:production",
                "repository": "octo-org/app",
                "repository_id": REPOSITORY_ID,
                "repository_owner": "octo-org",
                "repository_owner_id": OWNER_ID,
                "ref": "refs/heads/main",
                "sha": "0123456789abcdef0123456789abcdef01234567",
                "workflow": "deploy",
                "workflow_ref": "octo-org/app/.github/workflows/deploy.yml@refs/heads/main",
                "job_workflow_ref": "octo-org/app/.github/workflows/deploy.yml@refs/heads/main",
                "environment": "production",
                "event_name": "push",
                "run_id": "4242",
                "run_attempt": "1",
                "runner_environment": "github-hosted",
            },
            overrides,
        )

    def gitlab_claims(
        self, audience: str = "http://localhost:8080", **overrides: Any
    ) -> dict[str, Any]:
        """A GitLab CI `id_tokens:` token's claims (ids arrive as strings, `ref` bare)."""
        return self._claims(
            audience,
            {
                "sub": "project_path:data-team/dbt:ref_type:branch:ref:main",
                "namespace_id": "12885807",
                "namespace_path": "data-team",
                "project_id": "42",
                "project_path": "data-team/dbt",
                "user_login": "ada",
                "pipeline_id": "777",
                "pipeline_source": "push",
                "job_id": "9001",
                "ref": "main",
                "ref_type": "branch",
                "ref_protected": "true",
                "runner_environment": "gitlab-hosted",
            },
            overrides,
        )

    def _claims(
        self, audience: str, platform: dict[str, Any], overrides: dict[str, Any]
    ) -> dict[str, Any]:
        """This issuer's registered claims (valid for five minutes), the platform's, then the
        overrides; an override of None leaves the claim out."""
        now = int(utcnow().timestamp())
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": audience,
            "jti": str(uuid.uuid4()),
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            **platform,
            **overrides,
        }
        return {k: v for k, v in claims.items() if v is not None}

    def sign(
        self, claims: dict[str, Any], *, kid: str = "rsa-1", headers: dict[str, Any] | None = None
    ) -> str:
        private = self._keys[kid]
        alg = "RS256" if isinstance(private, rsa.RSAPrivateKey) else "ES256"
        return jwt.encode(claims, private, algorithm=alg, headers={"kid": kid, **(headers or {})})

    def token(self, *, kid: str = "rsa-1", **overrides: Any) -> str:
        return self.sign(self.github_claims(**overrides), kid=kid)

    @staticmethod
    def forge(header: dict[str, Any], claims: dict[str, Any], hmac_key: bytes | None) -> str:
        """A token no library would sign: `alg: none`, or HMAC with a public key as the secret."""
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = (
            _b64(hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest())
            if hmac_key is not None
            else ""
        )
        return f"{signing_input}.{signature}"

    # -- serving ---------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.requests[self.path] += 1
                if issuer.down:
                    self._answer(503, {"message": "down"})
                elif self.path == "/.well-known/openid-configuration":
                    self._answer(
                        200, {"issuer": issuer.url, "jwks_uri": issuer.url + "/.well-known/jwks"}
                    )
                elif self.path == "/.well-known/jwks":
                    self._answer(200, issuer.jwks())
                elif self.path.startswith("/_actions/id-token"):
                    self._actions_token()
                else:
                    self._answer(404, {})

            def _actions_token(self) -> None:
                if self.headers.get("Authorization") != f"Bearer {issuer.actions_bearer}":
                    self._answer(401, {"message": "bad request token"})
                    return
                query = parse_qs(urlsplit(self.path).query)
                audience = query.get("audience", ["https://github.com/octo-org"])[0]
                self._answer(200, {"value": issuer.token(audience=audience)})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                pass

        return Handler

    @property
    def actions_request_url(self) -> str:
        """What GitHub puts in ACTIONS_ID_TOKEN_REQUEST_URL (the audience is appended)."""
        return self.url + "/_actions/id-token?api-version=2.0"

    @property
    def key_set_fetches(self) -> int:
        return self.requests["/.well-known/jwks"]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def local_issuer() -> Iterator[LocalIssuer]:
    issuer = LocalIssuer()
    try:
        yield issuer
    finally:
        issuer.close()
