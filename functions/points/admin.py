"""Operator API for points: versioned earn rules and member levels, adjustments, the liability
report, the redemption catalogue, the settlement of points-and-cash redemptions, and the risk
warning's limits and holds."""

from typing import Any

from loyalty.core.clock import utc_now
from loyalty.core.errors import InvalidInput, NotFound
from loyalty.core.http import Request, Response, api_handler, api_router, created, ok
from loyalty.points import redemption, risk, risk_service, service, tier_service
from loyalty.points.model import AdjustmentRequest, RuleDefinition
from loyalty.points.redemption import CatalogueItem, SettlementRequest
from loyalty.points.risk import RiskDecision, RiskSettings
from loyalty.points.tiers import TierLadder

RULES = "/v1/admin/point-rules"


@api_handler(body=RuleDefinition)
def create_rule(request: Request[RuleDefinition]) -> Response:
    rule = service.save_rule(service.default_store(), request.json_body(), request.caller.subject, utc_now(), create=True)
    return created(service.rule_view(rule))


def _rule_now(request: Request[Any]) -> Any:
    return service.rule_view(service.default_store().rule(request.path_param("ruleId")))


@api_handler(body=RuleDefinition, audit_before=_rule_now)
def update_rule(request: Request[RuleDefinition]) -> Response:
    definition = request.json_body()
    if definition.ruleId != request.path_param("ruleId"):
        raise InvalidInput("the body's ruleId must match the path", code="VALIDATION_ERROR")
    rule = service.save_rule(service.default_store(), definition, request.caller.subject, utc_now(), create=False)
    return ok(service.rule_view(rule))


@api_handler()
def list_rules(request: Request[Any]) -> Response:
    return ok({"items": [service.rule_view(r) for r in service.default_store().rules()]})


@api_handler()
def get_rule(request: Request[Any]) -> Response:
    version = request.query.get("version")
    if version is not None and not version.isdigit():
        raise InvalidInput("version must be a positive integer", code="VALIDATION_ERROR")
    rule = service.default_store().rule(request.path_param("ruleId"), int(version) if version else None)
    return ok(service.rule_view(rule))


def _balance_now(request: Request[Any]) -> Any:
    return service.balance(service.default_store(), request.path_param("customerId"), utc_now())


@api_handler(body=AdjustmentRequest, audit_before=_balance_now)
def adjust(request: Request[AdjustmentRequest]) -> Response:
    customer_id = request.path_param("customerId")
    service.adjust(service.default_store(), customer_id, request.json_body(), request.caller.subject, request.idempotency_key or "", utc_now())
    return created(service.balance(service.default_store(), customer_id, utc_now()))


@api_handler()
def liability(request: Request[Any]) -> Response:
    return ok(service.liability(service.default_store()))


def _catalogue_item_now(request: Request[Any]) -> Any:
    return redemption.catalogue_item(service.default_store(), request.path_param("itemId")).model_dump(mode="json")


@api_handler(body=CatalogueItem, audit_before=_catalogue_item_now)
def save_catalogue_item(request: Request[CatalogueItem]) -> Response:
    item = request.json_body()
    if item.itemId != request.path_param("itemId"):
        raise InvalidInput("the body's itemId must match the path", code="VALIDATION_ERROR")
    return ok(redemption.save_catalogue_item(service.default_store(), item, request.caller.subject, utc_now()))


@api_handler()
def list_catalogue(request: Request[Any]) -> Response:
    return ok({"items": redemption.catalogue(service.default_store(), active_only=False)})


def _redemption_now(request: Request[Any]) -> Any:
    found = service.default_store().get_record(redemption.redemption_key(request.path_param("redemptionId")))
    return redemption.view(found) if found else None


# The mall's payment backend reports how the cash part of a points-and-cash redemption ended.
@api_handler(body=SettlementRequest, audit_before=_redemption_now)
def settle(request: Request[SettlementRequest]) -> Response:
    rid = request.path_param("redemptionId")
    return ok(redemption.settle_payment(service.default_store(), rid, request.json_body(), utc_now()))


def _tiers_now(request: Request[Any]) -> Any:
    found = service.default_store().ladder()
    return found[0].model_dump(mode="json") if found else None


@api_handler(body=TierLadder, audit_before=_tiers_now)
def save_tiers(request: Request[TierLadder]) -> Response:
    return ok(tier_service.save_ladder(service.default_store(), request.json_body(), request.caller.subject, utc_now()))


@api_handler()
def get_tiers(request: Request[Any]) -> Response:
    found = service.default_store().ladder()
    if found is None:
        raise NotFound("no member levels are set yet", code="TIERS_NOT_SET")
    ladder, version, record = found
    return ok(tier_service.ladder_view(ladder, version, record["updatedBy"], record["updatedAt"]))


def _risk_settings_now(request: Request[Any]) -> Any:
    found = service.current_risk(service.default_store())
    return found.model_dump(mode="json") if found else None


@api_handler(body=RiskSettings, audit_before=_risk_settings_now)
def save_risk_settings(request: Request[RiskSettings]) -> Response:
    return ok(risk_service.save_settings(service.default_store(), request.json_body(), request.caller.subject, utc_now()))


@api_handler()
def risk_holds(request: Request[Any]) -> Response:
    return ok({"items": risk_service.pending_holds(service.default_store())})


def _hold_now(request: Request[Any]) -> Any:
    found = service.default_store().get_record(risk.hold_key(request.path_param("holdId")))
    return risk.view(found) if found else None


@api_handler(body=RiskDecision, audit_before=_hold_now)
def decide_risk_hold(request: Request[RiskDecision]) -> Response:
    hold_id = request.path_param("holdId")
    return ok(risk_service.decide(service.default_store(), hold_id, request.json_body(), request.caller.subject, utc_now()))


handler = api_router(
    {
        f"POST {RULES}": create_rule,
        f"GET {RULES}": list_rules,
        f"GET {RULES}/{{ruleId}}": get_rule,
        f"PUT {RULES}/{{ruleId}}": update_rule,
        "POST /v1/admin/customers/{customerId}/points/adjustments": adjust,
        "GET /v1/admin/points/liability": liability,
        "PUT /v1/admin/points/catalogue/{itemId}": save_catalogue_item,
        "GET /v1/admin/points/catalogue": list_catalogue,
        "POST /v1/admin/points/redemptions/{redemptionId}/settlement": settle,
        "PUT /v1/admin/point-tiers": save_tiers,
        "GET /v1/admin/point-tiers": get_tiers,
        "PUT /v1/admin/points/risk-settings": save_risk_settings,
        "GET /v1/admin/points/risk-holds": risk_holds,
        "POST /v1/admin/points/risk-holds/{holdId}/decision": decide_risk_hold,
    }
)
