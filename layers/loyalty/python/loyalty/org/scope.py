"""Which operators may call which route, by the org unit on their token (docs/security.md, "Org scope").

An operator sees and changes what belongs to their unit's subtree; the head office's operators see
everything. A resource belongs to the unit it names (`orgUnitId`; none: the head office), a customer
to the unit their profile's `branchId` maps to (none, or an unmapped branch: the head office). A
resource outside the caller's subtree is answered as one that does not exist (404 with the route's
own not-found code), so nothing leaks its existence; a bank-wide setting is read by every operator
and changed by the head office's alone (403 `ORG_HEAD_OFFICE_REQUIRED`). Every route an operator may
call declares one of these rules (`loyalty.core.api.Routes` refuses a route that declares none).

Only the API functions and the org capability import this module; a capability's service that
filters a listing takes the `Scope` (its `sees`) as an argument.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import BaseModel

from loyalty.core.api import Call
from loyalty.core.auth import Caller
from loyalty.core.errors import BusinessRuleViolation, Forbidden, NotFound
from loyalty.core.missing import Missing
from loyalty.org.model import OrgUnit
from loyalty.org.ports import OrgUnits, units

UNIT_CODES = ("ORG_UNIT_REQUIRED", "ORG_UNIT_UNKNOWN")


class Creating:
    """`Scope.claim`'s stored unit when there is none yet: the resource is being created."""


CREATING = Creating()


@dataclass(frozen=True)
class Scope:
    """The caller's org unit, and the tree it is judged against."""

    unit: OrgUnit
    tree: OrgUnits

    @property
    def is_head_office(self) -> bool:
        return self.unit.is_root

    @property
    def own_unit(self) -> str | None:
        """What a resource the caller creates without naming a unit belongs to (None: the head office)."""
        return None if self.is_head_office else self.unit.unitId

    def sees(self, unit_id: str | None) -> bool:
        """A resource of this unit (None: the head office's) is in the caller's subtree."""
        if self.is_head_office:
            return True
        return unit_id is not None and self.tree.contains(self.unit.unitId, unit_id)

    def claim(self, unit_id: str | None, code: str, *, stored: str | Creating | None = CREATING) -> str | None:
        """The unit a resource being created or edited is to belong to: the one named, if the
        caller's subtree holds it as an open unit; left out, the stored one (an edit) or the
        caller's own (a creation; None for the head office). A unit outside the subtree is refused
        as one that does not exist (422 `code`)."""
        if unit_id is None:
            return self.own_unit if isinstance(stored, Creating) else stored
        unit = self.tree.get(unit_id)
        if unit is None or not unit.is_open or not self.sees(unit_id):
            raise BusinessRuleViolation(f"org unit {unit_id} is not an open unit of your part of the org tree", code=code)
        return unit_id


Definition = TypeVar("Definition", bound=BaseModel)


def claimed(
    definition: Definition, scope: Scope, code: str = "ORG_UNIT_INVALID", *, stored: str | Creating | None = CREATING
) -> Definition:
    """The definition an operator wrote, its `orgUnitId` as `Scope.claim` decides it."""
    return definition.model_copy(update={"orgUnitId": scope.claim(getattr(definition, "orgUnitId", None), code, stored=stored)})


def on_one_line(tree: OrgUnits, first: str | None, second: str | None) -> bool:
    """One of the units is the other or above it (None: the head office, above every unit)."""
    return first is None or second is None or tree.contains(first, second) or tree.contains(second, first)


def require_reference(scope: Scope, unit: str | Missing | None, owner: str | None, *, code: str, message: str) -> None:
    """A branch operator's resource may name another resource (a campaign's coupon template, an earn
    rule's campaign) only on its own line of the tree: the other's unit above it, the same, or under
    it. Anything else is refused as a resource that does not exist (422 `code`), so a branch learns
    nothing of a sibling's. The head office's operators see everything: never refused here."""
    if scope.is_head_office:
        return
    if isinstance(unit, Missing) or not on_one_line(scope.tree, unit, owner):
        raise BusinessRuleViolation(message, code=code)


def scope_of(caller: Caller, tree: OrgUnits | None = None) -> Scope:
    """The operator's scope: 403 when their token names no unit, or one the tree does not hold."""
    tree = tree or units()
    return Scope(callers_unit(caller, tree.get), tree)


def callers_unit(caller: Caller, read: Callable[[str], OrgUnit | None]) -> OrgUnit:
    """The unit the caller's token names, as `read` finds it: 403 `ORG_UNIT_REQUIRED` when the token
    names none, `ORG_UNIT_UNKNOWN` when the tree does not hold it."""
    if caller.org_unit is None:
        raise Forbidden(
            "this route needs an org unit on your token (custom:orgUnit, or the identity provider's org unit claim)",
            code="ORG_UNIT_REQUIRED",
        )
    unit = read(caller.org_unit)
    if unit is None:
        raise Forbidden(f"your token's org unit {caller.org_unit} is not in the org tree", code="ORG_UNIT_UNKNOWN")
    return unit


# ---- the rules a route declares ----------------------------------------------------------------------


@dataclass(frozen=True)
class BankWide:
    """Bank-wide reads (tiers, the catalogue, scoring models, templates of campaigns), creations and
    listings that judge the scope themselves: every operator with a unit of the tree (a customer's
    token, on a customer route such as the catalogue, passes: it is no operator's)."""

    errors: Mapping[int, Sequence[str]] = field(default_factory=lambda: {403: UNIT_CODES})
    tree: Callable[[], OrgUnits] = units

    def admit(self, call: Call) -> Scope | None:
        return scope_of(call.caller, self.tree()) if call.caller.is_operator else None


@dataclass(frozen=True)
class HeadOffice:
    """Bank-wide settings' changes and the bank's books (the audit log, the reconciliation, the
    liability): the head office's operators alone."""

    errors: Mapping[int, Sequence[str]] = field(default_factory=lambda: {403: (*UNIT_CODES, "ORG_HEAD_OFFICE_REQUIRED")})
    tree: Callable[[], OrgUnits] = units

    def admit(self, call: Call) -> Scope:
        scope = scope_of(call.caller, self.tree())
        if not scope.is_head_office:
            raise Forbidden("only the head office's operators may do this: it is bank-wide", code="ORG_HEAD_OFFICE_REQUIRED")
        return scope


@dataclass(frozen=True)
class Owned:
    """A resource of one unit, named by the path: `unit_of` reads the unit it belongs to (None: the
    head office's) and raises the route's own NotFound when there is no such resource; outside the
    caller's subtree, `hidden` is raised, the same answer."""

    unit_of: Callable[[Call], str | None]
    hidden: Callable[[Call], NotFound]
    tree: Callable[[], OrgUnits] = units

    @property
    def errors(self) -> Mapping[int, Sequence[str]]:
        return {403: UNIT_CODES, 404: (self.hidden(_NO_CALL).code,)}

    def admit(self, call: Call) -> Scope:
        scope = scope_of(call.caller, self.tree())
        if not scope.sees(self.unit_of(call)):
            raise self.hidden(call)
        return scope


@dataclass(frozen=True)
class CustomersOwn:
    """A customer's own resource: the customer's token passes (its ownership is the route's own
    check); an operator's passes when the customer's branch is in their subtree. `customer_of` names
    the customer (raising the route's NotFound when the resource does not exist)."""

    customer_of: Callable[[Call], str | None]
    hidden: Callable[[Call], NotFound]
    tree: Callable[[], OrgUnits] = units
    # The unit a customer belongs to (their profile's branch's), in the tree given.
    unit_of_customer: Callable[[str, OrgUnits], str | None] = lambda customer_id, tree: customer_unit(customer_id, tree)

    @property
    def errors(self) -> Mapping[int, Sequence[str]]:
        return {403: UNIT_CODES, 404: (self.hidden(_NO_CALL).code,)}

    def admit(self, call: Call) -> Scope | None:
        if not call.caller.is_operator:
            return None
        scope = scope_of(call.caller, self.tree())
        customer_id = self.customer_of(call)
        if customer_id is not None and not scope.sees(self.unit_of_customer(customer_id, scope.tree)):
            raise self.hidden(call)
        return scope


@dataclass(frozen=True)
class ScopedByItself:
    """The org capability's own routes, which judge the caller's subtree in their service."""

    errors: Mapping[int, Sequence[str]] = field(default_factory=dict)

    def admit(self, call: Call) -> None:
        return None


def customer_unit(customer_id: str, tree: OrgUnits | None = None) -> str | None:
    """The unit a customer belongs to: their profile's branch's (None: the head office's, when they
    have no profile, no branch, or a branch no unit maps)."""
    from loyalty.customers.ports import directory

    profile = directory().profile(customer_id)
    return _unit_of_branch(profile.branchId if profile is not None else None, tree or units())


def path_customer(call: Call) -> str:
    return call.path_param("customerId")


def not_found(code: str, message: str) -> Callable[[Call], NotFound]:
    """The route's own 404, worded as for a resource that does not exist: `message` formatted with the
    path's parameters (`"campaign {campaignId} does not exist"`)."""

    def hidden(call: Call) -> NotFound:
        return NotFound(message.format_map(defaultdict(str, call.path_params)), code=code)

    return hidden


def owned(read_unit: Callable[[str], str | None], parameter: str, code: str, message: str) -> Owned:
    """`Owned` for a resource the path names by `parameter`, whose unit `read_unit` reads."""
    return Owned(lambda call: read_unit(call.path_param(parameter)), not_found(code, message))


def customers_own(
    code: str = "CUSTOMER_NOT_FOUND",
    message: str = "customer {customerId} is not known",
    customer_of: Callable[[Call], str | None] | None = None,
) -> CustomersOwn:
    """`CustomersOwn` for the customer the path names (or the one `customer_of` reads)."""
    return CustomersOwn(customer_of or path_customer, not_found(code, message))


def visible_customers(scope: Scope | None, customer_ids: Sequence[str]) -> set[str]:
    """Those of the customers the scope sees (every one for the head office, or no scope)."""
    if scope is None or scope.is_head_office:
        return set(customer_ids)
    from loyalty.customers.ports import directory

    profiles = directory().profiles(list(customer_ids))
    return {c for c in customer_ids if scope.sees(_unit_of_branch(profiles[c].branchId if c in profiles else None, scope.tree))}


def _unit_of_branch(branch: str | None, tree: OrgUnits) -> str | None:
    return tree.unit_for_branch(branch) if branch else None


_NO_CALL = Call("GET", "", "", Caller("", frozenset()), {}, {}, None, "")
