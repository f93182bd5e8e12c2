"""Who is calling. API Gateway's authorizer has verified the token; we read what it hands on.

Two authorizers, one `Caller`: the Cognito user pool authorizer puts the token's claims under
`requestContext.authorizer.claims`; the Lambda TOKEN authorizer for a bank's own identity provider
(`loyalty.core.tokens`) puts `sub`, the comma-joined `groups` and the `orgUnit` in
`requestContext.authorizer`. An operator's org unit is the Cognito custom attribute `custom:orgUnit`
(in the ID token's claims), or the claim the bank's IdP is configured with (`JWT_ORG_UNIT_CLAIM`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loyalty.core.errors import Forbidden, Unauthenticated

OPERATORS = "operators"
APPROVERS = "approvers"
RELATIONSHIP_MANAGERS = "relationship-managers"  # 客户经理: the token's subject is the manager (docs/mot.md)
GROUPS_CLAIM = "cognito:groups"
# The groups this engine checks: a Lambda authorizer hands on only these (a bank token may carry
# hundreds of directory groups).
KNOWN_GROUPS = frozenset({OPERATORS, APPROVERS, RELATIONSHIP_MANAGERS})
# The Lambda authorizer's context keys (values must be strings: groups are comma-joined).
CONTEXT_SUBJECT = "sub"
CONTEXT_GROUPS = "groups"
CONTEXT_ORG_UNIT = "orgUnit"
ORG_UNIT_CLAIM = "custom:orgUnit"  # Cognito's custom attribute, as its ID token carries it
# An org unit id (loyalty.core.api_params.ID_PATTERN, 64 at most); anything else on a token is no org unit.
_ORG_UNIT = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def _parse_groups(raw: Any) -> frozenset[str]:
    # A JWT carries a list; API Gateway's REST authorizer flattens it to a string such as
    # "operators,approvers" or "[operators approvers]". Accept every shape.
    if raw is None:
        return frozenset()
    if isinstance(raw, list | tuple):
        return frozenset(str(g) for g in raw)
    return frozenset(g for g in re.split(r"[\s,\[\]]+", str(raw)) if g)


def org_unit_of(raw: Any) -> str | None:
    """A token's org unit: an id as units have them, else none (a malformed value grants nothing)."""
    return raw if isinstance(raw, str) and _ORG_UNIT.match(raw) else None


@dataclass(frozen=True)
class Caller:
    subject: str
    groups: frozenset[str]
    # The operator's org unit: what the org-scoped routes are scoped to (docs/security.md). None on
    # customers' tokens, and on operators' tokens that carry none.
    org_unit: str | None = None

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any] | None) -> Caller:
        if not claims or not claims.get("sub"):
            raise Unauthenticated("a valid bearer token is required")
        return cls(subject=str(claims["sub"]), groups=_parse_groups(claims.get(GROUPS_CLAIM)),
                   org_unit=org_unit_of(claims.get(ORG_UNIT_CLAIM)))

    @classmethod
    def from_authorizer(cls, authorizer: Mapping[str, Any] | None) -> Caller:
        """`requestContext.authorizer` of either authorizer (see the module docstring)."""
        if not authorizer:
            return cls.from_claims(None)
        if authorizer.get("claims") is not None:  # Cognito user pool authorizer
            return cls.from_claims(authorizer["claims"])
        return cls.from_claims({"sub": authorizer.get(CONTEXT_SUBJECT), GROUPS_CLAIM: authorizer.get(CONTEXT_GROUPS),
                                ORG_UNIT_CLAIM: authorizer.get(CONTEXT_ORG_UNIT)})

    @property
    def is_operator(self) -> bool:
        return OPERATORS in self.groups

    def require_operator(self) -> None:
        if not self.is_operator:
            raise Forbidden("this route needs the operators group", code="OPERATOR_REQUIRED")

    @property
    def is_relationship_manager(self) -> bool:
        return RELATIONSHIP_MANAGERS in self.groups

    def require_relationship_manager(self) -> None:
        if not self.is_relationship_manager:
            raise Forbidden("this route needs the relationship-managers group", code="RELATIONSHIP_MANAGER_REQUIRED")

    def require_owner_or_operator(self, customer_id: str) -> None:
        """Customers act only on their own resources; operators act on anyone's."""
        if self.subject != customer_id and not self.is_operator:
            raise Forbidden("the resource belongs to another customer", code="NOT_RESOURCE_OWNER")

    def require_owner(self, customer_id: str) -> None:
        if self.subject != customer_id:
            raise Forbidden("the resource belongs to another customer", code="NOT_RESOURCE_OWNER")
