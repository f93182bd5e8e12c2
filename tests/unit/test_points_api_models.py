"""The points API's models: request examples that validate, free text that refuses control characters,
response views that keep today's shapes, and routes that are exactly the topology's."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from infra.topology import TOPOLOGY
from loyalty.points.model import AdjustmentRequest, QuoteRequest, RuleDefinition
from loyalty.points.redemption import CatalogueItem, RedemptionRequest, SettlementRequest
from loyalty.points.risk import RiskDecision, RiskSettings
from loyalty.points.tiers import TierLadder
from loyalty.points.views import CatalogueItemView, QuoteCaps, RedemptionView, RiskHoldView, RuleView

REQUESTS: list[type[BaseModel]] = [AdjustmentRequest, QuoteRequest, RuleDefinition, CatalogueItem, RedemptionRequest,
                                   SettlementRequest, RiskDecision, RiskSettings, TierLadder]


@pytest.mark.parametrize("model", REQUESTS, ids=lambda m: m.__name__)
def test_every_request_model_has_examples_that_it_accepts(model: type[BaseModel]) -> None:
    # Given the examples the OpenAPI document shows for a request body
    examples = model.model_json_schema().get("examples")
    # Then there is at least one, and each is a valid request
    assert examples
    for example in examples:
        model.model_validate(example)


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (AdjustmentRequest, {"reason": "two\nlines"}),
        (AdjustmentRequest, {"reason": "bell\a"}),
        (AdjustmentRequest, {"reason": "   "}),
        (AdjustmentRequest, {"costCentre": "\t"}),
        (AdjustmentRequest, {"costCentre": "cc\x00"}),
        (RiskDecision, {"note": "\x1b[31mred"}),
        (RiskDecision, {"note": " \n "}),
        (RuleDefinition, {"costCentre": "c\rc"}),
        (RuleDefinition, {"name": "a\nb"}),
        (CatalogueItem, {"name": "  "}),
    ],
)
def test_free_text_refuses_control_characters_and_blanks(model: type[BaseModel], fields: dict[str, Any]) -> None:
    # Given a valid example with one free-text field made blank or given a control character
    example = model.model_json_schema()["examples"][0]
    # When parsed / Then it is refused
    with pytest.raises(ValidationError):
        model.model_validate({**example, **fields})


def test_a_note_keeps_its_line_breaks_and_a_cost_centre_loses_its_padding() -> None:
    assert RiskDecision(decision="reject", note="Called the branch.\nNot genuine.").note == "Called the branch.\nNot genuine."
    assert AdjustmentRequest(points=5, reason="goodwill", costCentre=" cc-service ").costCentre == "cc-service"


def test_views_leave_out_what_does_not_apply_as_the_api_always_did() -> None:
    # Given a coupon redemption, a pending hold, a coupon item and a rule with only a daily cap
    redemption = {"redemptionId": "rdm-1", "customerId": "c-1", "itemId": "i-1", "kind": "coupon", "points": 300, "templateId": "t-1",
                  "status": "issuing", "createdAt": "2026-12-04T01:02:03.000000Z"}
    hold = {"holdId": "rh-1", "customerId": "c-1", "status": "pending", "points": 450, "growth": 0, "reason": "points_per_day",
            "observed": 550, "limit": 500, "eventType": "CardTransactionPosted", "sourceEventId": "e-1", "heldAt": "2026-12-04T01:02:03Z"}
    item = {"itemId": "i-1", "name": "Coffee", "kind": "coupon", "points": 500, "templateId": "t-1", "holdMinutes": 30, "active": True}
    # Then each answers exactly its fields, no nulls for the rest
    assert RedemptionView.model_validate(redemption).model_dump(mode="json") == redemption
    assert RiskHoldView.model_validate(hold).model_dump(mode="json") == hold
    assert CatalogueItemView.model_validate(item).model_dump(mode="json") == item
    assert QuoteCaps.model_validate({"daily": {"cap": 5, "used": 0}}).model_dump(mode="json") == {"daily": {"cap": 5, "used": 0}}


def test_a_rule_view_keeps_every_field_of_the_definition() -> None:
    # Given a stored rule as the service shows it (nulls included)
    definition = RuleDefinition.model_validate(RuleDefinition.model_json_schema()["examples"][0]).model_dump(mode="json")
    shown = {**definition, "version": 3, "updatedAt": "2026-12-04T01:02:03.000000Z", "updatedBy": "op-1"}
    # Then the view answers it unchanged
    assert RuleView.model_validate(shown).model_dump(mode="json") == shown


@pytest.mark.parametrize("function", [f for f in TOPOLOGY.functions if f.capability == "points" and f.routes], ids=lambda f: f.name)
def test_each_points_function_serves_exactly_its_topology_routes(function: Any) -> None:
    handler = importlib.import_module(function.import_path).handler
    served = {(o.method, o.path) for routes in handler.routes for o in routes.options}
    assert served == {(r.method, r.path) for r in function.routes}
