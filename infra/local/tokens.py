"""Dev-key JWTs for the local cloud, with the claims a Cognito ID token carries.

In AWS a Cognito user pool authorizer verifies tokens; locally this module does, with a shared
HS256 key that is not a secret. Only HS256 is accepted: `alg=none` and other algorithms are refused.
"""

from __future__ import annotations

import os
import time
from typing import Any

import jwt

ISSUER = "loyalty-local"
AUDIENCE = "loyalty-local"
ALGORITHM = "HS256"
DEFAULT_TTL_S = 12 * 3600


def signing_key() -> str:
    return os.environ.get("LOCAL_JWT_KEY", "loyalty-local-dev-key-not-a-secret-0123456789")


class InvalidToken(Exception):
    pass


def issue(subject: str, groups: list[str] | None = None, ttl_s: int = DEFAULT_TTL_S, org_unit: str | None = None) -> str:
    """`org_unit`: the operator's org unit, as Cognito's custom attribute `custom:orgUnit` carries it."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "token_use": "id",
        "iat": now,
        "exp": now + ttl_s,
        "cognito:username": subject,
    }
    if groups:
        claims["cognito:groups"] = groups
    if org_unit:
        claims["custom:orgUnit"] = org_unit
    return jwt.encode(claims, signing_key(), algorithm=ALGORITHM)


def verify(token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            signing_key(),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "sub", "iss", "aud"]},
        )
    except jwt.PyJWTError as error:
        raise InvalidToken(str(error)) from None
    return claims


def authorizer_claims(claims: dict[str, Any]) -> dict[str, str]:
    """The claims as API Gateway's REST authorizer hands them on: every value a string."""
    flat = {k: (",".join(v) if isinstance(v, list) else str(v)) for k, v in claims.items()}
    return flat
