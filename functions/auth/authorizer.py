"""API Gateway Lambda TOKEN authorizer for a bank's own identity provider (docs/authentication.md).

Thin: `loyalty.core.tokens` verifies the JWT. A refused token raises `Exception("Unauthorized")`,
which API Gateway turns into 401; any other exception (the JWKS cannot be fetched) is a 5xx. The
token is never logged.

Not `lambda_entry`: its Powertools Tracer would import the X-Ray SDK on every cold start (the
authorizer sits in front of every uncached request and makes no AWS call to trace; Lambda's own
active tracing still records it) and would log every refused token as an ERROR with a traceback.
"""

from typing import Any

from loyalty.core.config import get_settings
from loyalty.core.observability import logger
from loyalty.core.tokens import InvalidToken, KeySetUnavailable, TokenVerifier, allow_policy, bearer_token, verifier_from_settings

_verifier: list[TokenVerifier] = []  # one per container: its JWKS cache outlives the invocation


def verifier() -> TokenVerifier:
    if not _verifier:
        _verifier.append(verifier_from_settings(get_settings()))
    return _verifier[0]


# The alarm's log metric filter matches this message: a refusal is a Lambda error too (that is how
# API Gateway is told "401"), so the function's Errors metric cannot tell an outage from a bad token.
KEY_SET_UNAVAILABLE = "issuer key set unavailable"


def authorize(event: dict[str, Any], token_verifier: TokenVerifier) -> dict[str, Any]:
    try:
        identity = token_verifier.verify(bearer_token(event.get("authorizationToken")))
    except InvalidToken as refused:
        logger.info("token refused", extra={"reason": refused.reason})
        raise Exception("Unauthorized") from None  # the exact message API Gateway maps to 401
    except KeySetUnavailable as outage:
        logger.error(KEY_SET_UNAVAILABLE, extra={"reason": str(outage)})
        raise
    try:
        return allow_policy(identity, str(event.get("methodArn") or ""))
    except ValueError:
        logger.warning("authorizer event without a method ARN")
        raise Exception("Unauthorized") from None


@logger.inject_lambda_context(clear_state=True, log_event=False)  # never the event: it holds the token
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return authorize(event, verifier())
