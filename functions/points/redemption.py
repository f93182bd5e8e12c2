"""Customer redemptions (积分兑换): points for a coupon, or points and cash for a mall item."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response

from loyalty.core.api import CallerDep, IdempotencyKey, Routes, serve
from loyalty.core.api_params import id_path
from loyalty.core.clock import utc_now
from loyalty.core.errors import Forbidden
from loyalty.org.scope import customers_own
from loyalty.points import redemption, service
from loyalty.points.redemption import RedemptionRequest
from loyalty.points.views import RedemptionView

routes = Routes("points")
# An operator redeems for, and reads the redemptions of, the customers of their subtree.
REDEEMING = customers_own(customer_of=lambda call: getattr(call.body, "customerId", None))
REDEMPTION = customers_own(
    "REDEMPTION_NOT_FOUND",
    "redemption {redemptionId} does not exist",
    customer_of=lambda call: redemption.find(service.default_store(), call.path_param("redemptionId"))["customerId"],
)


# The redemption id derives from the customer and the key, so the ledger itself refuses a second one.
@routes.post(
    "/v1/points/redemptions",
    scope=REDEEMING,
    summary="Redeem points (积分兑换)",
    status=201,
    idempotency="domain",
    links={"getPointsRedemption": {"redemptionId": "$response.body#/redemptionId"}},
    errors={
        403: ["NOT_RESOURCE_OWNER", "CUSTOMER_TOKEN_REQUIRED"],
        404: ["ITEM_NOT_FOUND", "CUSTOMER_NOT_FOUND"],
        409: ["ACCOUNT_CONTENDED"],
        422: ["INSUFFICIENT_POINTS", "POINTS_TOO_FRAGMENTED", "ITEM_NOT_AVAILABLE", "IDEMPOTENCY_KEY_REUSED"],
    },
)
def redeem_points(body: RedemptionRequest, key: IdempotencyKey, caller: CallerDep) -> Response[RedemptionView]:
    """The points leave the balance at once and show as `held` until the redemption settles: a coupon
    when it is issued (or the points come back if it is refused), a mall item when the payment
    backend reports the payment. A retry with the same key answers the same redemption with 200 and
    `Idempotent-Replayed: true`; the same key for another item is 422 `IDEMPOTENCY_KEY_REUSED`.
    An operator redeems for the customer named in `customerId`, who must be known to the engine
    (404 `CUSTOMER_NOT_FOUND` otherwise), never for its own subject (403 `CUSTOMER_TOKEN_REQUIRED`: a
    member of staff is not a customer, and a mall coupon is a coupon claimed)."""
    customer_id = body.customerId or caller.subject
    caller.require_owner_or_operator(customer_id)
    if caller.is_operator:
        if customer_id == caller.subject:
            raise Forbidden("an operator redeems for a customer it names, never for itself", code="CUSTOMER_TOKEN_REQUIRED")
        service.require_known_customer(customer_id)
    view, new = redemption.redeem(service.default_store(), customer_id, body, key, utc_now())
    return Response(201 if new else 200, "application/json", RedemptionView.model_validate(view),
                    None if new else {"Idempotent-Replayed": "true"})


@routes.get(
    "/v1/points/redemptions/{redemptionId}",
    scope=REDEMPTION,
    summary="A points redemption",
    operation_id="getPointsRedemption",
    errors={403: ["NOT_RESOURCE_OWNER"], 404: ["REDEMPTION_NOT_FOUND"]},
)
def get_redemption(redemptionId: Annotated[str, id_path("The redemption id.")], caller: CallerDep) -> RedemptionView:
    """The customer's own redemption, or anyone's for an operator."""
    record = redemption.find(service.default_store(), redemptionId)
    caller.require_owner_or_operator(record["customerId"])
    return RedemptionView.model_validate(redemption.view(record))


handler = serve(routes)
