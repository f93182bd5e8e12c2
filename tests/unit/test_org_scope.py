"""The org scope's rules (loyalty.org.scope), against a tree in memory: who sees what, what a new
resource belongs to, and what each route's rule answers before the route runs."""

from __future__ import annotations

from typing import Any

import pytest

from loyalty.core.api import Call, Routes
from loyalty.core.auth import Caller
from loyalty.core.errors import BusinessRuleViolation, Forbidden, NotFound
from loyalty.core.missing import MISSING
from loyalty.org.ports import InMemoryOrgUnits
from loyalty.org.scope import CREATING, BankWide, CustomersOwn, HeadOffice, Owned, claimed, not_found, require_reference, scope_of
from loyalty.points.model import RuleDefinition
from tests.unit.points_builders import definition as rule_definition

TREE = InMemoryOrgUnits.of(("hq", None, "head_office"), ("bj", "hq", "branch"), ("bj-1", "bj", "sub_branch"),
                           ("sh", "hq", "branch"))


def operator(unit: str | None) -> Caller:
    return Caller("op-1", frozenset({"operators"}), org_unit=unit)


def call(caller: Caller, **path: str) -> Call:
    return Call("GET", "/v1/admin/things/{thingId}", "/v1/admin/things/x", caller, path, {}, None, "c-1")


def refusal(action: Any) -> tuple[type[Exception], str]:
    try:
        action()
    except (Forbidden, NotFound, BusinessRuleViolation) as error:
        return type(error), error.code
    raise AssertionError("not refused")


@pytest.mark.parametrize(("unit", "resource", "seen"), [
    ("hq", None, True), ("hq", "sh", True), ("bj", "bj-1", True), ("bj", "bj", True),
    ("bj", "sh", False), ("bj", None, False), ("bj-1", "bj", False), ("bj", "nowhere", False),
])
def test_an_operator_sees_their_subtree_and_the_head_office_sees_all(unit: str, resource: str | None, seen: bool) -> None:
    # Given an operator of `unit`
    scope = scope_of(operator(unit), TREE)
    # When they look at a resource of `resource` (None: the head office's)
    # Then they see it only if it is in their subtree
    assert scope.sees(resource) is seen


def test_a_token_without_a_unit_or_with_an_unknown_one_is_refused() -> None:
    # Given tokens with no org unit and with one the tree does not hold
    # When their scope is asked for
    # Then each is 403 with its own code
    assert refusal(lambda: scope_of(operator(None), TREE)) == (Forbidden, "ORG_UNIT_REQUIRED")
    assert refusal(lambda: scope_of(operator("gz"), TREE)) == (Forbidden, "ORG_UNIT_UNKNOWN")


def test_a_new_resource_is_the_creators_units_unless_it_names_one_of_their_subtree() -> None:
    # Given a branch operator and a head office operator
    branch, head = scope_of(operator("bj"), TREE), scope_of(operator("hq"), TREE)
    # When they create without naming a unit, or name one
    # Then the branch's is theirs, the head office's none, and a named unit of the subtree is kept
    assert branch.claim(None, "X") == "bj" and head.claim(None, "X") is None
    assert branch.claim("bj-1", "X") == "bj-1" and head.claim("sh", "X") == "sh"
    # And a unit outside the subtree is refused as one that does not exist
    assert refusal(lambda: branch.claim("sh", "ORG_UNIT_INVALID")) == (BusinessRuleViolation, "ORG_UNIT_INVALID")
    assert refusal(lambda: branch.claim("nowhere", "ORG_UNIT_INVALID")) == (BusinessRuleViolation, "ORG_UNIT_INVALID")


def test_an_edit_that_names_no_unit_keeps_the_one_stored() -> None:
    # Given a rule of sub-branch bj-1, edited by its branch's operator without naming a unit
    definition: RuleDefinition = rule_definition()
    scope = scope_of(operator("bj"), TREE)
    # When its unit is decided
    edited = claimed(definition, scope, stored="bj-1")
    created = claimed(definition, scope, stored=CREATING)
    # Then the edit keeps bj-1, and a creation takes the operator's own unit
    assert (edited.orgUnitId, created.orgUnitId) == ("bj-1", "bj")


def test_a_resource_outside_the_subtree_is_answered_as_missing() -> None:
    # Given a route owning things of unit sh, and operators of bj, sh and the head office
    rule = Owned(lambda c: "sh", not_found("THING_NOT_FOUND", "thing {thingId} does not exist"), tree=lambda: TREE)
    # When each calls it
    # Then bj's is the route's own 404, worded as for a thing that does not exist; the others pass
    with pytest.raises(NotFound) as hidden:
        rule.admit(call(operator("bj"), thingId="t-1"))
    assert (hidden.value.code, hidden.value.message) == ("THING_NOT_FOUND", "thing t-1 does not exist")
    assert rule.admit(call(operator("sh"), thingId="t-1")).unit.unitId == "sh"
    assert rule.admit(call(operator("hq"), thingId="t-1")).is_head_office
    # And the document lists what it may answer
    assert rule.errors == {403: ("ORG_UNIT_REQUIRED", "ORG_UNIT_UNKNOWN"), 404: ("THING_NOT_FOUND",)}


def test_bank_wide_changes_are_the_head_offices_and_reads_every_operators() -> None:
    # Given a branch operator and a head office operator
    # When they change a bank-wide setting, and read one
    change, read = HeadOffice(tree=lambda: TREE), BankWide(tree=lambda: TREE)
    # Then only the head office changes it; both read it
    assert refusal(lambda: change.admit(call(operator("bj")))) == (Forbidden, "ORG_HEAD_OFFICE_REQUIRED")
    assert change.admit(call(operator("hq"))).is_head_office
    assert read.admit(call(operator("bj"))) is not None


def test_a_customers_own_route_passes_the_customer_and_scopes_an_operator() -> None:
    # Given customers of bj and of sh, and a route of theirs
    homes = {"c-bj": "bj", "c-sh": "sh"}
    rule = CustomersOwn(lambda c: c.path_params["customerId"], not_found("CUSTOMER_NOT_FOUND", "customer {customerId} is not known"),
                        tree=lambda: TREE, unit_of_customer=lambda customer, tree: homes.get(customer))
    customer = Caller("c-sh", frozenset())
    # When the customer calls it, and bj's operator calls it for each customer
    # Then the customer's token passes (ownership is the route's check), and bj's operator sees bj's customer only
    assert rule.admit(call(customer, customerId="c-sh")) is None
    assert rule.admit(call(operator("bj"), customerId="c-bj")) is not None
    assert refusal(lambda: rule.admit(call(operator("bj"), customerId="c-sh"))) == (NotFound, "CUSTOMER_NOT_FOUND")
    # And a customer of no known branch is the head office's
    assert refusal(lambda: rule.admit(call(operator("bj"), customerId="c-unknown"))) == (NotFound, "CUSTOMER_NOT_FOUND")


def test_every_route_an_operator_may_call_declares_its_scope() -> None:
    # Given a capability's routes
    routes = Routes("test")
    # When an admin route, or a customer route open to operators, is declared without a scope
    # Then it is refused at once: a route nobody scoped would answer every operator bank-wide
    with pytest.raises(TypeError, match="declares its org scope"):
        routes.get("/v1/admin/things", summary="Things")
    with pytest.raises(TypeError, match="declares its org scope"):
        routes.get("/v1/customers/{customerId}/things", summary="A customer's things")
    # And a route only the customer's own token may call needs none
    routes.post("/v1/customers/{customerId}/claims", summary="Claim", operators_too=False)


def test_a_branchs_resource_names_others_of_its_own_line_only() -> None:
    # Given a branch operator of bj and the head office's
    branch, head = scope_of(operator("bj"), TREE), scope_of(operator("hq"), TREE)

    def named(scope: object, unit: object, owner: str | None) -> str | None:
        try:
            require_reference(scope, unit, owner, code="X_NOT_FOUND", message="x does not exist")  # type: ignore[arg-type]
        except BusinessRuleViolation as refused:
            return refused.code
        return None

    # When bj's resource names one of its own sub-branch, of the head office, of sh, or none at all
    # Then its line is fine; sh's and a missing one are refused alike; the head office is never refused
    assert named(branch, "bj-1", "bj") is None and named(branch, None, "bj") is None
    assert named(branch, "sh", "bj") == "X_NOT_FOUND" and named(branch, MISSING, "bj") == "X_NOT_FOUND"
    assert named(head, "sh", "bj") is None and named(head, MISSING, None) is None
