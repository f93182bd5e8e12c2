"""The operator's org unit on their token: read from Cognito's `custom:orgUnit`, from the bank IdP's
configured claim through the TOKEN authorizer's context, and from the local cloud's dev tokens."""

from __future__ import annotations

from typing import Any

import pytest

from infra.local import tokens as local_tokens
from loyalty.core.auth import Caller
from loyalty.core.config import Settings
from loyalty.core.tokens import allow_policy, verifier_from_settings
from tests.unit.jwt_builders import METHOD_ARN, FakeIdp, claims, rs256, verifier


@pytest.mark.parametrize(("raw", "expected"), [
    ("310000", "310000"), ("bj-hd.1:a_b", "bj-hd.1:a_b"), (None, None), ("", None), ("a b", None), ("a/b", None), ("x" * 65, None),
    (["310000"], None), (310000, None),
])
def test_the_org_unit_is_read_from_cognito_s_custom_attribute_and_only_when_well_formed(raw: Any, expected: str | None) -> None:
    # Given Cognito's claims with custom:orgUnit as raw
    given = {"sub": "op-1", "cognito:groups": "operators", **({} if raw is None else {"custom:orgUnit": raw})}
    # When the caller is read
    caller = Caller.from_authorizer({"claims": given})
    # Then its org unit is the value when it is a unit id, else none (a malformed value grants nothing)
    assert caller.org_unit == expected


def test_the_org_unit_is_read_from_the_token_authorizer_s_context() -> None:
    caller = Caller.from_authorizer({"sub": "op-1", "groups": "operators", "orgUnit": "310000"})
    assert (caller.subject, caller.groups, caller.org_unit) == ("op-1", frozenset({"operators"}), "310000")
    assert Caller.from_authorizer({"sub": "op-1", "groups": "operators"}).org_unit is None


@pytest.mark.parametrize(("claim", "token_claims", "expected"), [
    (None, {"orgUnit": "310000"}, "310000"),
    (None, {"custom:orgUnit": "310000"}, "310000"),
    (None, {"orgUnit": "310000", "custom:orgUnit": "999"}, "310000"),
    ("department", {"department": "310000", "orgUnit": "999"}, "310000"),
    ("department", {"orgUnit": "310000"}, None),
    (None, {"orgUnit": "31 0000"}, None),
])
def test_the_bank_idp_s_org_unit_claim_is_configurable(claim: str | None, token_claims: dict[str, Any], expected: str | None) -> None:
    # Given a bank IdP token with an org unit claim, and the authorizer's configured claim name
    idp = FakeIdp()
    configured = verifier(idp)
    configured = type(configured)(issuer=configured.issuer, audience=configured.audience, keys=configured.keys, org_unit_claim=claim)
    # When verified
    identity = configured.verify(rs256(claims(sub="op-1", groups=["operators"], **token_claims)))
    # Then the org unit is that claim's, and the authorizer hands it on in its context only when there is one
    assert identity.org_unit == expected
    context = allow_policy(identity, METHOD_ARN)["context"]
    assert context.get("orgUnit") == expected
    assert Caller.from_authorizer(context).org_unit == expected


def test_the_org_unit_claim_comes_from_the_settings() -> None:
    settings = Settings.model_validate({"jwt_issuer": "https://idp.bank.example/", "jwt_audience": "loyalty-api",
                                        "jwt_org_unit_claim": "department"})
    assert verifier_from_settings(settings, FakeIdp()).org_unit_claim == "department"


def test_a_local_dev_token_carries_the_org_unit_as_cognito_does() -> None:
    token = local_tokens.issue("op-1", ["operators"], org_unit="310000")
    caller = Caller.from_authorizer({"claims": local_tokens.authorizer_claims(local_tokens.verify(token))})
    assert caller.org_unit == "310000"
    assert "custom:orgUnit" not in local_tokens.verify(local_tokens.issue("op-1", ["operators"]))
