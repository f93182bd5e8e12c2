"""Keys, a fake identity provider and token builders for the JWT authorizer's unit tests (no network:
the JWKS fetcher is a plain callable)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from loyalty.core.tokens import KeySet, KeySetUnavailable, TokenVerifier

ISSUER = "https://idp.bank.example/"
AUDIENCE = "loyalty-api"
JWKS_URL = "https://idp.bank.example/.well-known/jwks.json"
METHOD_ARN = "arn:aws:execute-api:ap-southeast-1:123456789012:abc123/prod/GET/v1/customers/c-001/points"

# Key generation is slow-ish: once per test session, at import.
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def rsa_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    return {**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "use": "sig", "alg": "RS256"}


def ec_jwk(key: ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    return {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "use": "sig", "alg": "ES256"}


@dataclass
class FakeIdp:
    """The issuer's JWKS endpoint: serves `keys`, counts fetches, can be down."""

    keys: list[dict[str, Any]] = field(default_factory=lambda: [rsa_jwk(RSA_KEY, "k1")])
    fetches: int = 0
    down: bool = False

    def __call__(self, url: str) -> Mapping[str, Any]:
        assert url == JWKS_URL
        self.fetches += 1
        if self.down:
            raise KeySetUnavailable("fetching the JWKS failed: URLError")
        return {"keys": self.keys}


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {"sub": "c-001", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def rs256(payload: dict[str, Any], key: rsa.RSAPrivateKey = RSA_KEY, kid: str = "k1") -> str:
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def forged_hs256(payload: dict[str, Any], secret: bytes, kid: str = "k1") -> str:
    """An HS256 token whose HMAC key is the issuer's *public* key: the classic confusion attack.
    Built by hand, because PyJWT itself refuses to sign HS256 with a PEM key."""
    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT', 'kid': kid}).encode())}.{b64(json.dumps(payload).encode())}"
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def verifier(idp: FakeIdp, clock: FakeClock | None = None, groups_claim: str | None = None,
             group_map: dict[str, str] | None = None) -> TokenVerifier:
    return TokenVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        keys=KeySet(JWKS_URL, idp, clock=clock or FakeClock()),
        groups_claim=groups_claim,
        group_map=group_map,
    )
