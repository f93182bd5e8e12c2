"""The operator's org unit in the deployment: the staff user pool's `custom:orgUnit` attribute, which
no app client may write (a member of staff would move themselves to the head office), and a bank
IdP's org unit claim reaching the TOKEN authorizer."""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk.assertions import Template

from infra.app import build
from infra.stacks.api import ORG_UNIT_ATTRIBUTE
from infra.stacks.settings import validate_identity_provider
from loyalty.core.auth import ORG_UNIT_CLAIM
from tests.infra.console_support import console_stacks, only
from tests.infra.infra_support import BANK_IDP, Synthesized, cdk_json_context


def test_the_staff_pool_has_the_org_unit_attribute(synth: Synthesized) -> None:
    """Given the Cognito user pool / Then it holds a mutable custom string attribute of an org unit id's
    length, the one the handlers read (custom:orgUnit in the ID token)."""
    pool = synth.properties(synth.stack.api.user_pool)
    (attribute,) = (a for a in pool["Schema"] if a["Name"] == ORG_UNIT_ATTRIBUTE)
    assert attribute["AttributeDataType"] == "String" and attribute["Mutable"] is True
    assert attribute["StringAttributeConstraints"] == {"MinLength": "1", "MaxLength": "64"}
    assert f"custom:{ORG_UNIT_ATTRIBUTE}" == ORG_UNIT_CLAIM


def test_no_api_client_may_write_the_org_unit(synth: Synthesized) -> None:
    """Given the API's app client / Then it states what it may write, and the org unit is not in it
    (only administrators set it); what it reads is left to the default, so ID tokens carry it."""
    clients = synth.of_type("AWS::Cognito::UserPoolClient").values()
    assert clients
    for client in clients:
        assert client["WriteAttributes"] and ORG_UNIT_CLAIM not in client["WriteAttributes"]
        assert "ReadAttributes" not in client


def test_the_console_client_may_not_write_the_org_unit(console_synth: Synthesized) -> None:
    site, _ = console_stacks(console_synth)
    client = only(site, "AWS::Cognito::UserPoolClient")
    assert client["WriteAttributes"] and ORG_UNIT_CLAIM not in client["WriteAttributes"]


def test_a_bank_idp_s_org_unit_claim_reaches_the_authorizer() -> None:
    """Given identityProvider with orgUnitClaim / Then it is validated and set in the authorizer's
    environment as JWT_ORG_UNIT_CLAIM (the handlers' settings read it)."""
    provider = validate_identity_provider({**BANK_IDP, "orgUnitClaim": "department"}, "prod")
    assert provider is not None and provider.org_unit_claim == "department"
    app = cdk.App(context={**cdk_json_context(), "env": "dev", "identityProvider": json.dumps({**BANK_IDP, "orgUnitClaim": "department"})})
    stack = build(app)
    assert stack.api.token_authorizer is not None
    functions = Template.from_stack(cdk.Stack.of(stack.api.token_authorizer.function)).find_resources("AWS::Lambda::Function")
    (variables,) = (f["Properties"]["Environment"]["Variables"] for f in functions.values()
                    if "JWT_ISSUER" in f["Properties"]["Environment"]["Variables"])
    assert variables["JWT_ORG_UNIT_CLAIM"] == "department"


def test_an_empty_org_unit_claim_fails_synthesis() -> None:
    app = cdk.App(context={**cdk_json_context(), "env": "dev", "identityProvider": {**BANK_IDP, "orgUnitClaim": " "}})
    try:
        build(app)
    except ValueError as error:
        assert "'orgUnitClaim' must be a claim name" in str(error)
    else:
        raise AssertionError("synthesis took an empty orgUnitClaim")
