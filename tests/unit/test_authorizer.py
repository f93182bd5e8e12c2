"""`functions/auth/authorizer.py`: the Lambda TOKEN authorizer answers API Gateway with a policy, or
with "Unauthorized" (API Gateway's 401); its answer becomes the handlers' `Caller`."""

from __future__ import annotations

import logging
import time
from typing import Any

import jwt
import pytest
from pydantic import BaseModel

from functions.auth import authorizer
from loyalty.core.api import CallerDep, Routes, serve
from loyalty.core.tokens import KeySetUnavailable
from tests.unit.fakes import LAMBDA_CONTEXT
from tests.unit.jwt_builders import METHOD_ARN, OTHER_RSA_KEY, FakeIdp, claims, rs256, verifier
from tests.unit.proxy_events import NO_CLAIMS, OPEN_SCOPE, proxy_event


def token_event(authorization: str | None) -> dict[str, Any]:
    """What API Gateway sends a TOKEN authorizer."""
    return {"type": "TOKEN", "authorizationToken": authorization, "methodArn": METHOD_ARN}


@pytest.fixture
def idp(monkeypatch: pytest.MonkeyPatch) -> FakeIdp:
    """The container's verifier, built on a fake issuer instead of the environment."""
    fake = FakeIdp()
    monkeypatch.setattr(authorizer, "_verifier", [verifier(fake)])
    return fake


def test_a_valid_token_gets_an_allow_policy_and_the_caller_context(idp: FakeIdp) -> None:
    # Given a valid token from the bank's identity provider, for an operator
    event = token_event(f"Bearer {rs256(claims(sub='op-7', groups=['operators']))}")
    # When the authorizer runs
    answer = authorizer.handler(event, LAMBDA_CONTEXT)
    # Then it allows the stage's methods for that principal, with sub and groups as strings
    assert answer["principalId"] == "op-7"
    (statement,) = answer["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "execute-api:Invoke"
    assert statement["Resource"].endswith(":abc123/prod/*")
    assert answer["context"] == {"sub": "op-7", "groups": "operators"}


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="no header"),
        pytest.param("Basic dXNlcjpwYXNz", id="not a bearer token"),
        pytest.param(f"Bearer {rs256(claims(exp=int(time.time()) - 120))}", id="expired"),
        pytest.param(f"Bearer {rs256(claims(), key=OTHER_RSA_KEY)}", id="wrongly signed"),
        pytest.param(f"Bearer {jwt.encode(claims(), None, algorithm='none', headers={'kid': 'k1'})}", id="alg none"),  # type: ignore[arg-type]
        pytest.param(f"Bearer {rs256(claims(aud='another-api'))}", id="wrong audience"),
    ],
)
def test_a_refused_token_raises_unauthorized_for_a_401(idp: FakeIdp, authorization: str | None) -> None:
    # Given a missing, expired, wrongly signed, unsigned or foreign token
    # When the authorizer runs
    with pytest.raises(Exception) as refused:
        authorizer.handler(token_event(authorization), LAMBDA_CONTEXT)
    # Then it raises exactly "Unauthorized", which API Gateway answers with 401
    assert type(refused.value) is Exception
    assert str(refused.value) == "Unauthorized"


def test_the_token_is_never_logged(idp: FakeIdp, caplog: pytest.LogCaptureFixture) -> None:
    # Given a refused token and an accepted one
    expired = rs256(claims(exp=int(time.time()) - 120))
    valid = rs256(claims())
    # When the authorizer handles both
    caplog.set_level(logging.DEBUG)
    with pytest.raises(Exception, match="Unauthorized"):
        authorizer.handler(token_event(f"Bearer {expired}"), LAMBDA_CONTEXT)
    authorizer.handler(token_event(f"Bearer {valid}"), LAMBDA_CONTEXT)
    # Then the logs carry the refusal's reason, and no part of either token (extras included)
    logs = " ".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert [r.__dict__.get("reason") for r in caplog.records if r.getMessage() == "token refused"] == ["expired"]
    for token in (expired, valid):
        for part in token.split("."):
            assert part not in logs


def test_an_unreachable_issuer_is_a_5xx_not_a_401_and_logs_what_the_alarm_counts(idp: FakeIdp, caplog: pytest.LogCaptureFixture) -> None:
    # Given an issuer whose JWKS cannot be fetched
    idp.down = True
    # When the authorizer runs / Then it fails (API Gateway: 500), rather than calling the token bad
    with pytest.raises(KeySetUnavailable):
        authorizer.handler(token_event(f"Bearer {rs256(claims())}"), LAMBDA_CONTEXT)
    # And it logs, once and as an error, the message the alarm's metric filter matches
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [(logging.ERROR, authorizer.KEY_SET_UNAVAILABLE)]


def test_an_event_without_a_method_arn_is_unauthorized(idp: FakeIdp) -> None:
    event = token_event(f"Bearer {rs256(claims())}") | {"methodArn": ""}
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler(event, LAMBDA_CONTEXT)


class Whoami(BaseModel):
    subject: str
    operator: bool


routes = Routes("test")


@routes.get("/v1/admin/whoami", scope=OPEN_SCOPE, summary="Who is calling")
def get_whoami(caller: CallerDep) -> Whoami:
    """The caller, as the route sees it."""
    return Whoami(subject=caller.subject, operator=caller.is_operator)


whoami = serve(routes)


@pytest.mark.parametrize(("groups", "status"), [(["operators"], 200), ([], 403)])
def test_the_authorizer_context_becomes_the_handlers_caller(idp: FakeIdp, groups: list[str], status: int) -> None:
    # Given the authorizer's answer for a token, and an admin route behind it
    answer = authorizer.handler(token_event(f"Bearer {rs256(claims(sub='op-7', groups=groups))}"), LAMBDA_CONTEXT)
    event = proxy_event("GET", "/v1/admin/whoami", claims=NO_CLAIMS, path_params={})
    # API Gateway hands the context on, with its own fields added
    event["requestContext"]["authorizer"] = {**answer["context"], "principalId": answer["principalId"], "integrationLatency": 12}
    # When the route runs
    response = whoami(event, LAMBDA_CONTEXT)
    # Then the caller is the token's subject, an operator only with the operators group
    assert response["statusCode"] == status
    if status == 200:
        assert response["body"] == '{"subject":"op-7","operator":true}'
