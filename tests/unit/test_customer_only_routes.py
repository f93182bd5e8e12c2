"""A customer-only route (`operators_too=False`) refuses an operator's token before the route runs, for
any subject, its own included (docs/security.md, "Callers without a profile, and operators"); the
coupon claim and the invite code are such routes. No AWS: proxy events through `serve`."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict

from loyalty.core.api import CallerDep, Routes, serve
from tests.unit.fakes import LAMBDA_CONTEXT
from tests.unit.proxy_events import CUSTOMER_CLAIMS, OPEN_SCOPE, json_headers, proxy_event


class Claim(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"templateId": "t-1"}]})

    templateId: str


class Claimed(BaseModel):
    customerId: str


def claims_route(ran: list[str]) -> Any:
    routes = Routes("test")

    @routes.post("/v1/claims", scope=OPEN_SCOPE, summary="Claim, as the customer", status=201, idempotency="none", operators_too=False)
    def claim(body: Claim, caller: CallerDep) -> Claimed:
        """The customer is the token's subject."""
        ran.append(caller.subject)
        return Claimed(customerId=caller.subject)

    return serve(routes)


def call(handler: Any, claims: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    event = proxy_event("POST", "/v1/claims", body=json.dumps({"templateId": "t-1"}), headers=json_headers(), claims=claims, path_params={})
    response = handler(event, LAMBDA_CONTEXT)
    return response["statusCode"], json.loads(response["body"])


def test_an_operator_token_never_runs_a_customer_only_route_whatever_its_groups() -> None:
    ran: list[str] = []
    handler = claims_route(ran)
    # Given operators' tokens, one of them also an approver
    for groups in ("operators", "operators,approvers"):
        # When they call the route (its subject would be the one it acts for: a member of staff)
        status, body = call(handler, {"sub": "op-1", "cognito:groups": groups})
        # Then it is 403 CUSTOMER_TOKEN_REQUIRED and the route never ran
        assert (status, body["error"]["code"]) == (403, "CUSTOMER_TOKEN_REQUIRED")
    assert ran == []
    # And a customer's token runs it, for its own subject
    assert call(handler, CUSTOMER_CLAIMS) == (201, {"customerId": "c-001"}) and ran == ["c-001"]


def test_the_coupon_claim_and_the_invite_code_are_customer_only_routes() -> None:
    from functions.campaigns.api import routes as campaigns_routes
    from functions.coupons.claim import routes as claim_routes

    customer_only = {(o.method, o.path) for r in (claim_routes, campaigns_routes) for o in r.options if not o.operators_too}
    assert {("POST", "/v1/coupons/claims"), ("POST", "/v1/customers/{customerId}/invite-code")} <= customer_only
