"""`loyalty.core.auth`: the caller comes from the verified token's claims."""

from __future__ import annotations

from typing import Any

import pytest

from loyalty.core.auth import Caller
from loyalty.core.errors import Forbidden, Unauthenticated


@pytest.mark.parametrize("claims", [None, {}, {"sub": ""}, {"sub": None}, {"cognito:groups": "operators"}])
def test_missing_or_empty_claims_are_unauthenticated(claims: dict[str, Any] | None) -> None:
    # Given no claims, empty claims, or claims without a subject
    # When a caller is built from them
    # Then the request is unauthenticated
    with pytest.raises(Unauthenticated) as raised:
        Caller.from_claims(claims)
    assert raised.value.code == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("raw_groups", "expected"),
    [
        (["operators", "approvers"], {"operators", "approvers"}),  # a JWT list
        (("operators",), {"operators"}),
        ("operators,approvers", {"operators", "approvers"}),  # REST authorizer, comma-joined
        ("[operators approvers]", {"operators", "approvers"}),  # REST authorizer, bracketed
        ("[operators, approvers]", {"operators", "approvers"}),
        ("operators", {"operators"}),
        ("", set()),
        ("[]", set()),
        (None, set()),
    ],
)
def test_groups_are_read_in_every_shape_the_authorizer_produces(raw_groups: Any, expected: set[str]) -> None:
    # Given the groups claim as a list, a comma string, a bracketed string, or absent
    claims = {"sub": "c-001"} if raw_groups is None else {"sub": "c-001", "cognito:groups": raw_groups}
    # When the caller is built
    caller = Caller.from_claims(claims)
    # Then the subject and the set of groups are read
    assert caller.subject == "c-001"
    assert caller.groups == frozenset(expected)


def test_a_group_merely_containing_the_word_operators_is_not_operators() -> None:
    # Given a group named "not-operators"
    caller = Caller.from_claims({"sub": "c-001", "cognito:groups": "not-operators,approvers"})
    # When its operator status is checked
    # Then it is not an operator
    assert not caller.is_operator
    with pytest.raises(Forbidden):
        caller.require_operator()


def test_require_operator_passes_for_operators() -> None:
    # Given a caller in the operators group (bracketed claim shape)
    caller = Caller.from_claims({"sub": "op-1", "cognito:groups": "[approvers operators]"})
    # When the operator requirement is checked
    # Then it passes
    assert caller.is_operator
    caller.require_operator()


def test_require_operator_refuses_customers() -> None:
    # Given a customer with no groups
    caller = Caller.from_claims({"sub": "c-001"})
    # When the operator requirement is checked
    # Then it is forbidden with OPERATOR_REQUIRED
    with pytest.raises(Forbidden) as raised:
        caller.require_operator()
    assert raised.value.code == "OPERATOR_REQUIRED"


def test_require_owner_or_operator() -> None:
    # Given a customer c-001 and an operator
    customer = Caller.from_claims({"sub": "c-001"})
    operator = Caller.from_claims({"sub": "op-1", "cognito:groups": ["operators"]})
    # When each acts on c-001's resource and on c-002's resource
    # Then the owner and the operator pass, and the other customer's resource is forbidden
    customer.require_owner_or_operator("c-001")
    operator.require_owner_or_operator("c-001")
    operator.require_owner_or_operator("c-002")
    with pytest.raises(Forbidden) as raised:
        customer.require_owner_or_operator("c-002")
    assert raised.value.code == "NOT_RESOURCE_OWNER"


def test_require_owner_refuses_even_operators() -> None:
    # Given an operator and the owner
    operator = Caller.from_claims({"sub": "op-1", "cognito:groups": "operators"})
    owner = Caller.from_claims({"sub": "c-001"})
    # When each must be the owner of c-001's resource
    # Then the owner passes and the operator is forbidden
    owner.require_owner("c-001")
    with pytest.raises(Forbidden) as raised:
        operator.require_owner("c-001")
    assert raised.value.code == "NOT_RESOURCE_OWNER"


@pytest.mark.parametrize(
    ("authorizer", "subject", "groups"),
    [
        # the Cognito user pool authorizer: the token's claims under `claims`
        ({"claims": {"sub": "op-1", "cognito:groups": "operators,approvers"}}, "op-1", {"operators", "approvers"}),
        # our Lambda TOKEN authorizer: `sub` and comma-joined `groups` in its context, beside
        # what API Gateway adds
        ({"sub": "op-1", "groups": "operators,approvers", "principalId": "op-1", "integrationLatency": 9}, "op-1", {"operators", "approvers"}),
        ({"sub": "c-001", "groups": "", "principalId": "c-001"}, "c-001", set()),
        ({"sub": "c-001"}, "c-001", set()),
    ],
)
def test_the_caller_is_read_from_either_authorizer(authorizer: dict[str, Any], subject: str, groups: set[str]) -> None:
    # Given requestContext.authorizer as the Cognito or the Lambda authorizer fills it
    # When the caller is built
    caller = Caller.from_authorizer(authorizer)
    # Then subject and groups are the same either way
    assert caller.subject == subject
    assert caller.groups == frozenset(groups)


@pytest.mark.parametrize("authorizer", [None, {}, {"principalId": "x"}, {"sub": ""}, {"claims": {}}, {"groups": "operators"}])
def test_an_authorizer_context_without_a_subject_is_unauthenticated(authorizer: dict[str, Any] | None) -> None:
    # Given no authorizer, or one without a subject
    # When the caller is built / Then the request is unauthenticated
    with pytest.raises(Unauthenticated):
        Caller.from_authorizer(authorizer)
