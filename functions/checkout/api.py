"""POST /v1/checkout/quote: several coupons and points on one order, priced under the stacking policy."""

from loyalty.checkout import service
from loyalty.checkout.store import default_store
from loyalty.checkout.views import CheckoutQuote, CheckoutQuoteRequest
from loyalty.core.api import CallerDep, Routes, serve
from loyalty.core.clock import utc_now

routes = Routes("checkout", "Several coupons and points on one order: the stacking policy, quotes.")


@routes.post("/v1/checkout/quote", summary="Quote an order with coupons and points", idempotency="none", operators_too=False,
             operation_id="quoteCheckout",
             errors={403: ["NOT_RESOURCE_OWNER"], 422: ["ORDER_EMPTY", "ORDER_LINES_DUPLICATED", "ORDER_AMOUNT_INVALID",
                                                        "ORDER_CURRENCY_MIXED", "COUPON_CHOSEN_TWICE", "INSUFFICIENT_POINTS",
                                                        "POINTS_OVER_SHARE", "POINTS_NOT_WITH_COUPONS", "QUOTE_CHOICE_AMBIGUOUS"]})
def quote_checkout(body: CheckoutQuoteRequest, caller: CallerDep) -> CheckoutQuote:
    """Writes nothing and takes no Idempotency-Key. The coupons chosen apply in the policy's order of
    kinds, each spread over the lines it covers; each that cannot is left out with its reason. With
    `best`, the engine picks from the customer's wallet the combination that takes most off (ties:
    the coupons expiring first), by an exact branch and bound. Points then pay what the policy lets
    them of what is left. The customer is the token's subject: a coupon not theirs is 403."""
    found, version = service.quote(default_store(), caller.subject, body.order.order(), utc_now(), coupon_ids=list(body.coupons),
                                   best=body.best, points=body.points)
    return CheckoutQuote.of(body.order.currency, found, version)


handler = serve(routes)
