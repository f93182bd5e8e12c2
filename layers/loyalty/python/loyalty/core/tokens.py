"""Verify a bank identity provider's JWTs: the domain code of the Lambda TOKEN authorizer.

Used when the API trusts the bank's own OpenID Connect provider instead of the Cognito user pool
(CDK context `identityProvider`; docs/authentication.md). A token is accepted only if:
- its header names RS256 or ES256 (never `none`, never an HMAC algorithm: a public key is not a
  secret) and a `kid` found in the issuer's JWKS, whose key is of that algorithm and for signing;
- its signature verifies against that key;
- `iss` equals the configured issuer, `aud` holds the configured audience, `exp` is in the future
  and `nbf`/`iat` are not (with `LEEWAY_S` of clock skew), and `sub` is a non-empty string.

The JWKS is fetched on first use and kept for the container's life, refreshed when it is older than
`max_age_s` or when a token names an unknown `kid` (key rotation), at most once per
`refetch_cooldown_s` so random `kid`s cannot make us hammer the provider. While the provider is
down, the keys already held keep serving; with none held, verification fails with
`KeySetUnavailable` (a 5xx, not a 401). Fetching is a plain callable (`JwksFetcher`), so tests hand
in a JWKS without a network.

Nothing here logs or returns the token: failures carry a short reason code only.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from loyalty.core.auth import CONTEXT_GROUPS, CONTEXT_ORG_UNIT, CONTEXT_SUBJECT, KNOWN_GROUPS, org_unit_of
from loyalty.core.config import Settings

ALLOWED_ALGORITHMS = frozenset({"RS256", "ES256"})
LEEWAY_S = 30  # clock skew tolerated on exp, nbf and iat
MAX_TOKEN_CHARS = 8192
MIN_RSA_BITS = 2048
DEFAULT_GROUPS_CLAIMS = ("groups", "cognito:groups")  # the first one present is read
DEFAULT_ORG_UNIT_CLAIMS = ("orgUnit", "custom:orgUnit")  # the same for the operator's org unit
MAX_JWKS_BYTES = 256 * 1024
_BEARER = re.compile(r"^\s*(?:bearer\s+)?([\w-]+\.[\w-]+\.[\w-]*)\s*$", re.IGNORECASE | re.ASCII)
# A group name survives the trip through API Gateway's comma-joined context only if it has no
# separator `loyalty.core.auth` splits on: "x,operators" must never become "operators".
_GROUP_NAME = re.compile(r"^[^\s,\[\]]{1,256}$")

JwksFetcher = Callable[[str], Mapping[str, Any]]  # JWKS URL -> the JWKS document ({"keys": [...]})
Clock = Callable[[], float]


# Why a token was refused, for the authorizer's log (never the token itself).
_REFUSALS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.ImmatureSignatureError, "not_yet_valid"),
    (jwt.InvalidSignatureError, "bad_signature"),
    (jwt.InvalidIssuerError, "wrong_issuer"),
    (jwt.InvalidAudienceError, "wrong_audience"),
    (jwt.MissingRequiredClaimError, "missing_claim"),
)

class InvalidToken(Exception):
    """The token is refused (401). `reason` is a short code, safe to log; the token never is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeySetUnavailable(Exception):
    """The issuer's JWKS could not be fetched or read: our failure, not the caller's (5xx)."""


@dataclass(frozen=True)
class Identity:
    subject: str
    groups: tuple[str, ...]
    org_unit: str | None = None


def fetch_jwks(url: str, timeout_s: float = 3.0) -> Mapping[str, Any]:
    """GET the JWKS over HTTPS (the default `JwksFetcher`)."""
    if not url.startswith("https://"):
        raise KeySetUnavailable("the JWKS URL must be https")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # https only: checked above
            if not str(response.geturl()).startswith("https://"):
                raise KeySetUnavailable("the JWKS URL redirected away from https")
            body = response.read(MAX_JWKS_BYTES + 1)
    except KeySetUnavailable:
        raise
    except Exception as error:  # URLError, timeouts, TLS errors
        raise KeySetUnavailable(f"fetching the JWKS failed: {type(error).__name__}") from None
    if len(body) > MAX_JWKS_BYTES:
        raise KeySetUnavailable("the JWKS is too large")
    try:
        document = json.loads(body)
    except ValueError:
        raise KeySetUnavailable("the JWKS is not JSON") from None
    if not isinstance(document, dict):
        raise KeySetUnavailable("the JWKS is not a JSON object")
    return document


def _signing_keys(document: Mapping[str, Any]) -> dict[str, jwt.PyJWK]:
    """The JWKS's usable signing keys by `kid`; keys we would never accept are left out."""
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise KeySetUnavailable("the JWKS has no 'keys' list")
    keys: dict[str, jwt.PyJWK] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str) or entry.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(entry)  # the algorithm: the key's `alg`, else implied by kty/crv
        except jwt.PyJWTError:
            continue  # a key type or curve we do not support: never a match
        if key.algorithm_name not in ALLOWED_ALGORITHMS:
            continue
        if key.algorithm_name == "RS256" and getattr(key.key, "key_size", 0) < MIN_RSA_BITS:
            continue
        if key.algorithm_name == "ES256" and getattr(getattr(key.key, "curve", None), "name", None) != "secp256r1":
            continue  # ES256 is P-256 only, whatever the key's `alg` says
        keys[entry["kid"]] = key
    return keys


class KeySet:
    """The issuer's signing keys, cached per container (one per Lambda process)."""

    def __init__(
        self,
        url: str,
        fetch: JwksFetcher = fetch_jwks,
        *,
        clock: Clock = time.monotonic,
        max_age_s: float = 3600.0,
        refetch_cooldown_s: float = 30.0,
    ) -> None:
        self.url = url
        self._fetch = fetch
        self._clock = clock
        self._max_age_s = max_age_s
        self._cooldown_s = refetch_cooldown_s
        self._keys: dict[str, jwt.PyJWK] = {}
        self._loaded_at: float | None = None  # the last successful fetch
        self._attempted_at: float | None = None  # the last fetch, successful or not
        self._lock = threading.Lock()

    def get(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            now = self._clock()
            stale = self._loaded_at is None or now - self._loaded_at >= self._max_age_s
            may_fetch = self._attempted_at is None or now - self._attempted_at >= self._cooldown_s
            if (stale or kid not in self._keys) and may_fetch:
                self._attempted_at = now
                try:
                    self._keys = _signing_keys(self._fetch(self.url))
                    self._loaded_at = now
                except KeySetUnavailable:
                    if self._loaded_at is None:
                        raise
                    # The issuer is down: the keys we already hold keep serving.
            elif self._loaded_at is None:
                # Never loaded, and the last attempt (within the cooldown) failed: still our failure.
                raise KeySetUnavailable("the JWKS has not been fetched yet")
            key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("unknown_kid")
        return key


@dataclass(frozen=True)
class TokenVerifier:
    issuer: str
    audience: str
    keys: KeySet
    groups_claim: str | None = None  # None: the first of DEFAULT_GROUPS_CLAIMS present
    # The IdP's group names for ours ({"LOYALTY-OPS": "operators"}). Set: only mapped names count,
    # so a group the IdP happens to call "operators" grants nothing. None: names are ours as they are.
    group_map: Mapping[str, str] | None = None
    leeway_s: int = LEEWAY_S
    # The claim naming the operator's org unit (a unit id); None: the first of DEFAULT_ORG_UNIT_CLAIMS present.
    org_unit_claim: str | None = None

    def verify(self, token: str) -> Identity:
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise InvalidToken("malformed")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed") from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in ALLOWED_ALGORITHMS:
            raise InvalidToken("algorithm_not_allowed")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("no_kid")
        key = self.keys.get(kid)
        if key.algorithm_name != algorithm:
            raise InvalidToken("algorithm_mismatch")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iss", "aud", "sub"], "verify_signature": True},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(next((reason for kind, reason in _REFUSALS if isinstance(error, kind)), "invalid")) from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject.strip():
            raise InvalidToken("missing_claim")
        return Identity(subject=subject, groups=self._groups(claims), org_unit=self._org_unit(claims))

    def _org_unit(self, claims: Mapping[str, Any]) -> str | None:
        names = (self.org_unit_claim,) if self.org_unit_claim else DEFAULT_ORG_UNIT_CLAIMS
        return org_unit_of(next((claims[n] for n in names if n in claims), None))

    def _groups(self, claims: Mapping[str, Any]) -> tuple[str, ...]:
        names = (self.groups_claim,) if self.groups_claim else DEFAULT_GROUPS_CLAIMS
        raw = next((claims[n] for n in names if n in claims), None)
        if isinstance(raw, str):
            candidates = re.split(r"[\s,]+", raw)
        elif isinstance(raw, list | tuple):
            candidates = [g for g in raw if isinstance(g, str)]
        else:
            candidates = []
        named = (g for g in candidates if _GROUP_NAME.match(g))
        ours = (self.group_map.get(g) for g in named) if self.group_map is not None else named
        return tuple(sorted({g for g in ours if g in KNOWN_GROUPS}))


def bearer_token(header: str | None) -> str:
    """The token of an `Authorization` header: `Bearer <jwt>` or the bare JWT."""
    match = _BEARER.match(header or "")
    if match is None:
        raise InvalidToken("malformed")
    return match.group(1)


def allow_policy(identity: Identity, method_arn: str) -> dict[str, Any]:
    """The authorizer's answer for a verified caller: invoke any method of this API stage (so API
    Gateway's cached answer serves every route), and the caller for the handlers' `Caller`."""
    # arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path...>
    parts = method_arn.split("/")
    if len(parts) < 3 or not parts[0].startswith("arn:") or ":execute-api:" not in parts[0] or not parts[1]:
        raise ValueError("not an execute-api method ARN")
    return {
        "principalId": identity.subject,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": f"{parts[0]}/{parts[1]}/*"}],
        },
        "context": {CONTEXT_SUBJECT: identity.subject, CONTEXT_GROUPS: ",".join(identity.groups),
                    **({CONTEXT_ORG_UNIT: identity.org_unit} if identity.org_unit else {})},
    }


def verifier_from_settings(settings: Settings, fetch: JwksFetcher = fetch_jwks) -> TokenVerifier:
    """The bank IdP CDK configures (`JWT_ISSUER`, `JWT_AUDIENCE`, `JWT_JWKS_URL`, `JWT_GROUPS_CLAIM`,
    `JWT_GROUP_MAP`, `JWT_ORG_UNIT_CLAIM`: infra/stacks/authorizer.py)."""
    if not settings.jwt_issuer or not settings.jwt_audience:
        raise RuntimeError("JWT_ISSUER and JWT_AUDIENCE must be set")
    return TokenVerifier(
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        keys=KeySet(settings.jwt_jwks_url or settings.jwt_issuer.rstrip("/") + "/.well-known/jwks.json", fetch),
        groups_claim=settings.jwt_groups_claim or None,
        group_map=settings.jwt_group_map,
        org_unit_claim=settings.jwt_org_unit_claim or None,
    )
