"""Operator API for points: versioned earn rules and member levels, adjustments, the liability
report, the redemption catalogue, the settlement of points-and-cash redemptions, and the risk
warning's limits and holds."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query

from loyalty.core.api import Audit, Call, CallerDep, IdempotencyKey, Routes, ScopeDep, serve
from loyalty.core.api_params import CustomerIdPath, id_path
from loyalty.core.clock import utc_now
from loyalty.core.errors import Conflict, InvalidInput, NotFound
from loyalty.org.scope import CREATING, BankWide, Creating, HeadOffice, Scope, claimed, customers_own, owned, require_reference
from loyalty.points import redemption, risk, risk_service, service, tier_service
from loyalty.points.model import AdjustmentRequest, RuleDefinition
from loyalty.points.redemption import CatalogueItem, SettlementRequest
from loyalty.points.risk import RiskDecision, RiskSettings
from loyalty.points.tiers import TierLadder
from loyalty.points.views import (
    BalanceView,
    CatalogueItemView,
    CataloguePage,
    LiabilityView,
    RedemptionView,
    RiskHoldList,
    RiskHoldView,
    RiskSettingsView,
    RuleList,
    RuleView,
    TierLadderView,
)

RULES = "/v1/admin/point-rules"
routes = Routes("points")
RuleIdPath = Annotated[str, id_path("The earn rule id.")]
ItemIdPath = Annotated[str, id_path("The catalogue item id.")]
CONTENDED = "ACCOUNT_CONTENDED"  # the customer's account changed on every retry: try again
# Earn rules belong to an org unit; the levels, the catalogue and the risk limits are the bank's
# (read by every operator, changed by the head office), as are its books (the liability, holds, settlements).
RULE = owned(
    lambda rule_id: service.default_store().rule(rule_id).definition.orgUnitId,
    "ruleId",
    "RULE_NOT_FOUND",
    "earn rule {ruleId} does not exist",
)
ANY_OPERATOR, HEAD_OFFICE = BankWide(), HeadOffice()


def _matching(field: str, in_body: str, in_path: str) -> None:
    if in_body != in_path:
        raise InvalidInput(f"the body's {field} must match the path", code="VALIDATION_ERROR",
                           details=[{"field": field, "in": "body", "problem": "must match the path"}])


# ---- earn rules ----------------------------------------------------------------------------------


def _owned(definition: RuleDefinition, scope: Scope, *, stored: str | Creating | None = CREATING) -> RuleDefinition:
    """The rule with its org unit decided (`claimed`), and the campaign it names (if any) on that
    unit's line of the tree (for a branch's operator: another branch's campaign does not exist)."""
    owned_rule = claimed(definition, scope, stored=stored)
    if owned_rule.campaignId is not None:
        from loyalty.campaigns.ports import campaign_units

        require_reference(scope, campaign_units().unit_of(owned_rule.campaignId), owned_rule.orgUnitId, code="RULE_CAMPAIGN_NOT_FOUND",
                          message=f"campaign {owned_rule.campaignId} does not exist")
    return owned_rule


def _rule_as_stored(call: Call) -> RuleView:
    """A retry's answer when the first try committed and died before answering: the rule as it now is."""
    rule_id = str(call.path_params.get("ruleId") or getattr(call.body, "ruleId", ""))
    return RuleView.model_validate(service.rule_view(service.default_store().rule(rule_id)))


@routes.post(
    RULES,
    scope=ANY_OPERATOR,
    summary="Create an earn rule",
    status=201,
    replay=_rule_as_stored,
    links={"getPointRule": {"ruleId": "$response.body#/ruleId"}, "updatePointRule": {"ruleId": "$response.body#/ruleId"}},
    errors={409: ["RULE_VERSION_CONFLICT"], 422: ["ORG_UNIT_INVALID", "RULE_CAMPAIGN_NOT_FOUND"]},
)
def create_point_rule(body: RuleDefinition, key: IdempotencyKey, caller: CallerDep, scope: ScopeDep) -> RuleView:
    """Version 1 of a new rule; in force for accrual within the configuration cache's lifetime. A
    rule id already taken is 409 `RULE_VERSION_CONFLICT`; an `orgUnitId` outside the caller's
    subtree 422 `ORG_UNIT_INVALID` (left out: the caller's unit)."""
    rule = service.save_rule(service.default_store(), _owned(body, scope), caller.subject, utc_now(), create=True)
    return RuleView.model_validate(service.rule_view(rule))


@routes.get(RULES, scope=ANY_OPERATOR, summary="List the earn rules")
def list_point_rules(scope: ScopeDep) -> RuleList:
    """Every rule's current version of the caller's subtree, active or not."""
    return RuleList.model_validate(
        {"items": [service.rule_view(r) for r in service.default_store().rules() if scope.sees(r.definition.orgUnitId)]}
    )


@routes.get(
    f"{RULES}/{{ruleId}}", scope=RULE, summary="An earn rule, current or of one version", errors={404: ["RULE_NOT_FOUND"]}
)
def get_point_rule(
    ruleId: RuleIdPath,
    version: Annotated[int | None, Query(ge=1, description="A past version; the current one if left out.")] = None,
) -> RuleView:
    """Every version ever saved stays readable: a ledger entry names the rule version that awarded it."""
    return RuleView.model_validate(service.rule_view(service.default_store().rule(ruleId, version)))


def _rule_now(call: Call) -> Any:
    return service.rule_view(service.default_store().rule(call.path_param("ruleId")))


@routes.put(
    f"{RULES}/{{ruleId}}",
    scope=RULE,
    summary="Change an earn rule",
    errors={404: ["RULE_NOT_FOUND"], 409: ["RULE_VERSION_CONFLICT"], 422: ["ORG_UNIT_INVALID", "RULE_CAMPAIGN_NOT_FOUND"]},
    audit=Audit(before=_rule_now),
    replay=_rule_as_stored,
)
def update_point_rule(
    ruleId: RuleIdPath, body: RuleDefinition, key: IdempotencyKey, caller: CallerDep, scope: ScopeDep
) -> RuleView:
    """A new version replacing the whole definition (the body's `ruleId` must be the path's). Points
    already booked keep the version that awarded them; a concurrent change is 409."""
    _matching("ruleId", body.ruleId, ruleId)
    stored = service.default_store().rule(ruleId).definition.orgUnitId
    rule = service.save_rule(
        service.default_store(), _owned(body, scope, stored=stored), caller.subject, utc_now(), create=False
    )
    return RuleView.model_validate(service.rule_view(rule))


# ---- adjustments and the liability ---------------------------------------------------------------


def _balance_now(call: Call) -> Any:
    return service.balance(service.default_store(), call.path_param("customerId"), utc_now())


def _adjusted_balance(call: Call) -> BalanceView:
    """A retry's answer when the first try committed and died before answering: the balance as it now
    is, once the entry the call booked is found (its id is the operator's and the Idempotency-Key's)."""
    customer_id, store = call.path_param("customerId"), service.default_store()
    entry_id = f"adjust:{call.caller.subject}:{call.idempotency_key}"  # as service.adjust names it
    if not any(entry.get("entryId") == entry_id for entry in store.entries_with_prefix(customer_id, entry_id)):
        raise Conflict("this request was applied, but its answer was lost: read the balance for its outcome", code="IDEMPOTENCY_COMMITTED")
    return BalanceView.model_validate(service.balance(store, customer_id, utc_now()))


@routes.post(
    "/v1/admin/customers/{customerId}/points/adjustments",
    scope=customers_own(),
    summary="Adjust a customer's points",
    status=201,
    errors={
        404: ["CUSTOMER_NOT_FOUND"],
        409: [CONTENDED, "IDEMPOTENCY_COMMITTED"],
        422: ["INSUFFICIENT_POINTS", "POINTS_TOO_FRAGMENTED"],
    },
    audit=Audit(before=_balance_now),
    replay=_adjusted_balance,
)
def adjust_points(customerId: CustomerIdPath, body: AdjustmentRequest, key: IdempotencyKey, caller: CallerDep) -> BalanceView:
    """Credits points (valid for a year, paid by `costCentre`) or takes them (never below zero: 422
    `INSUFFICIENT_POINTS`), as an `adjust` entry with the reason and the operator. Answers the
    balance after it. A customer the engine has never seen (no profile from core banking) is 404
    `CUSTOMER_NOT_FOUND`, and nothing is booked."""
    service.require_known_customer(customerId)
    store, now = service.default_store(), utc_now()
    service.adjust(store, customerId, body, caller.subject, key, now)
    return BalanceView.model_validate(service.balance(store, customerId, now))


@routes.get("/v1/admin/points/liability", scope=HEAD_OFFICE, summary="The points liability report")
def get_points_liability() -> LiabilityView:
    """Outstanding points by cost centre and expiry month, from the lots, with the balances' total,
    which must agree: both are written by the same transactions."""
    return LiabilityView.model_validate(service.liability(service.default_store()))


# ---- the catalogue and settlements ---------------------------------------------------------------


def _catalogue_item_now(call: Call) -> Any:
    return redemption.catalogue_item(service.default_store(), call.path_param("itemId")).model_dump(mode="json")


def _catalogue_item_as_stored(call: Call) -> CatalogueItemView:
    """A retry's answer when the first try committed and died before answering: the item as it now is."""
    item = redemption.catalogue_item(service.default_store(), call.path_param("itemId"))
    return CatalogueItemView.model_validate(item.model_dump(mode="json", exclude_none=True))


@routes.put(
    "/v1/admin/points/catalogue/{itemId}",
    scope=HEAD_OFFICE,
    summary="Create or replace a catalogue item",
    audit=Audit(before=_catalogue_item_now),
    replay=_catalogue_item_as_stored,
)
def save_points_catalogue_item(
    itemId: ItemIdPath, body: CatalogueItem, key: IdempotencyKey, caller: CallerDep
) -> CatalogueItemView:
    """A coupon (its template is issued through `IssueCoupon`) or a mall item paid in points and cash
    (the points are held while the payment is made). The body's `itemId` must be the path's.
    Redemptions already made keep what they cost."""
    _matching("itemId", body.itemId, itemId)
    return CatalogueItemView.model_validate(redemption.save_catalogue_item(service.default_store(), body, caller.subject, utc_now()))


@routes.get("/v1/admin/points/catalogue", scope=ANY_OPERATOR, summary="List every catalogue item")
def list_points_catalogue_items() -> CataloguePage:
    """Active and inactive."""
    return CataloguePage.model_validate({"items": redemption.catalogue(service.default_store(), active_only=False)})


def _redemption_now(call: Call) -> Any:
    found = service.default_store().redemption(call.path_param("redemptionId"))
    return redemption.view(found) if found else None


def _redemption_as_stored(call: Call) -> RedemptionView:
    """A retry's answer when the first try committed and died before answering: the redemption as it now is."""
    return RedemptionView.model_validate(redemption.view(redemption.find(service.default_store(), call.path_param("redemptionId"))))


# The mall's payment backend reports how the cash part of a points-and-cash redemption ended.
@routes.post(
    "/v1/admin/points/redemptions/{redemptionId}/settlement",
    scope=HEAD_OFFICE,
    summary="Settle a points-and-cash redemption",
    errors={404: ["REDEMPTION_NOT_FOUND"], 409: ["REDEMPTION_SETTLED", CONTENDED], 422: ["NOT_A_MALL_REDEMPTION"]},
    audit=Audit(before=_redemption_now),
    replay=_redemption_as_stored,
)
def settle_points_redemption(
    redemptionId: Annotated[str, id_path("The redemption id.")], body: SettlementRequest, key: IdempotencyKey
) -> RedemptionView:
    """`paid` completes the redemption; `failed` puts the points back into the lots they came from.
    The same payment reported again answers the redemption as it is; a different outcome for a
    settled one is 409 `REDEMPTION_SETTLED`."""
    return RedemptionView.model_validate(redemption.settle_payment(service.default_store(), redemptionId, body, utc_now()))


# ---- member levels -------------------------------------------------------------------------------


def _tiers_now(call: Call) -> Any:
    found = service.default_store().ladder()
    return found[0].model_dump(mode="json") if found else None


def _tiers_as_stored(call: Call) -> TierLadderView:
    """A retry's answer when the first try committed and died before answering: the ladder in force."""
    return TierLadderView.model_validate(tier_service.current_view(service.default_store()))


@routes.put(
    "/v1/admin/point-tiers",
    scope=HEAD_OFFICE,
    summary="Set the member levels",
    errors={409: ["TIERS_VERSION_CONFLICT"]},
    audit=Audit(before=_tiers_now),
    replay=_tiers_as_stored,
)
def save_point_tiers(body: TierLadder, key: IdempotencyKey, caller: CallerDep) -> TierLadderView:
    """A new version of the whole ladder. Upgrades follow at the next growth earned; downgrades and
    monthly benefits at the monthly re-evaluation."""
    return TierLadderView.model_validate(tier_service.save_ladder(service.default_store(), body, caller.subject, utc_now()))


@routes.get("/v1/admin/point-tiers", scope=ANY_OPERATOR, summary="The member levels in force", errors={404: ["TIERS_NOT_SET"]})
def get_point_tiers() -> TierLadderView:
    """404 `TIERS_NOT_SET` until an operator sets them."""
    return TierLadderView.model_validate(tier_service.current_view(service.default_store()))


# ---- the risk warning ----------------------------------------------------------------------------


def _risk_settings_now(call: Call) -> Any:
    found = service.current_risk(service.default_store())
    return found.model_dump(mode="json") if found else None


def _risk_settings_as_stored(call: Call) -> RiskSettingsView:
    """A retry's answer when the first try committed and died before answering: the limits as saved."""
    return RiskSettingsView.model_validate(risk_service.settings_view(service.default_store()))


@routes.put(
    "/v1/admin/points/risk-settings",
    scope=HEAD_OFFICE,
    summary="Set the risk warning's limits",
    audit=Audit(before=_risk_settings_now),
    replay=_risk_settings_as_stored,
)
def save_risk_settings(body: RiskSettings, key: IdempotencyKey, caller: CallerDep) -> RiskSettingsView:
    """Replaces both limits (one left out is removed). Accrual that would pass one is held whole as a
    risk hold for an operator to decide."""
    return RiskSettingsView.model_validate(risk_service.save_settings(service.default_store(), body, caller.subject, utc_now()))


@routes.get("/v1/admin/points/risk-settings", scope=ANY_OPERATOR, summary="The risk warning's limits")
def get_risk_settings() -> RiskSettingsView:
    """The limits as last saved, with who saved them and when (accrual sees a change within its
    configuration cache's lifetime). Before any were ever saved, every field is null: no limits,
    nothing is held."""
    return RiskSettingsView.model_validate(risk_service.settings_view(service.default_store()))


@routes.get("/v1/admin/points/risk-holds", scope=HEAD_OFFICE, summary="List the risk holds awaiting a decision")
def list_risk_holds() -> RiskHoldList:
    """Every pending hold, oldest first."""
    return RiskHoldList.model_validate({"items": risk_service.pending_holds(service.default_store())})


def _hold_now(call: Call) -> Any:
    found = service.default_store().risk_hold(call.path_param("holdId"))
    return risk.view(found) if found else None


def _hold_as_stored(call: Call) -> RiskHoldView:
    """A retry's answer when the first try committed and died before answering: the hold as decided."""
    found = service.default_store().risk_hold(call.path_param("holdId"))
    if found is None:
        raise NotFound(f"risk hold {call.path_param('holdId')} does not exist", code="RISK_HOLD_NOT_FOUND")
    return RiskHoldView.model_validate(risk.view(found))


@routes.post(
    "/v1/admin/points/risk-holds/{holdId}/decision",
    scope=HEAD_OFFICE,
    summary="Release or reject a risk hold",
    errors={404: ["RISK_HOLD_NOT_FOUND"], 409: ["RISK_HOLD_DECIDED", CONTENDED]},
    audit=Audit(before=_hold_now),
    replay=_hold_as_stored,
)
def decide_risk_hold(
    holdId: Annotated[str, id_path("The risk hold id.")], body: RiskDecision, key: IdempotencyKey, caller: CallerDep
) -> RiskHoldView:
    """`release` books the held earnings as accrual would have (valid from today at the earliest);
    `reject` books nothing. Decided once: a second decision is 409 `RISK_HOLD_DECIDED`."""
    return RiskHoldView.model_validate(risk_service.decide(service.default_store(), holdId, body, caller.subject, utc_now()))


handler = serve(routes)
