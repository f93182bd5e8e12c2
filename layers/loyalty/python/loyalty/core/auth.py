"""Who is calling. API Gateway's authorizer has verified the token; we read what it hands on.

Two authorizers, one `Caller`: the Cognito user pool authorizer puts the token's claims under
`requestContext.authorizer.claims`; the Lambda TOKEN authorizer for a bank's own identity provider
(`loyalty.core.tokens`) puts `sub` and the comma-joined `groups` in `requestContext.authorizer`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loyalty.core.errors import Forbidden, Unauthenticated

OPERATORS = "operators"
APPROVERS = "approvers"
GROUPS_CLAIM = "cognito:groups"
# The groups this engine checks: a Lambda authorizer hands on only these (a bank token may carry
# hundreds of directory groups).
KNOWN_GROUPS = frozenset({OPERATORS, APPROVERS})
# The Lambda authorizer's context keys (values must be strings: groups are comma-joined).
CONTEXT_SUBJECT = "sub"
CONTEXT_GROUPS = "groups"


def _parse_groups(raw: Any) -> frozenset[str]:
    # A JWT carries a list; API Gateway's REST authorizer flattens it to a string such as
    # "operators,approvers" or "[operators approvers]". Accept every shape.
    if raw is None:
        return frozenset()
    if isinstance(raw, list | tuple):
        return frozenset(str(g) for g in raw)
    return frozenset(g for g in re.split(r"[\s,\[\]]+", str(raw)) if g)


@dataclass(frozen=True)
class Caller:
    subject: str
    groups: frozenset[str]

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any] | None) -> Caller:
        if not claims or not claims.get("sub"):
            raise Unauthenticated("a valid bearer token is required")
        return cls(subject=str(claims["sub"]), groups=_parse_groups(claims.get(GROUPS_CLAIM)))

    @classmethod
    def from_authorizer(cls, authorizer: Mapping[str, Any] | None) -> Caller:
        """`requestContext.authorizer` of either authorizer (see the module docstring)."""
        if not authorizer:
            return cls.from_claims(None)
        if authorizer.get("claims") is not None:  # Cognito user pool authorizer
            return cls.from_claims(authorizer["claims"])
        return cls.from_claims({"sub": authorizer.get(CONTEXT_SUBJECT), GROUPS_CLAIM: authorizer.get(CONTEXT_GROUPS)})

    @property
    def is_operator(self) -> bool:
        return OPERATORS in self.groups

    def require_operator(self) -> None:
        if not self.is_operator:
            raise Forbidden("this route needs the operators group", code="OPERATOR_REQUIRED")

    def require_owner_or_operator(self, customer_id: str) -> None:
        """Customers act only on their own resources; operators act on anyone's."""
        if self.subject != customer_id and not self.is_operator:
            raise Forbidden("the resource belongs to another customer", code="NOT_RESOURCE_OWNER")

    def require_owner(self, customer_id: str) -> None:
        if self.subject != customer_id:
            raise Forbidden("the resource belongs to another customer", code="NOT_RESOURCE_OWNER")
