"""The customer's checkout: quotes, and sessions that lock a basket's coupons and hold its points in one
transaction, confirmed once per payment, cancelled or lapsed, and refunded (docs/checkout.md)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response

from loyalty.checkout import service, session_service
from loyalty.checkout.session_store import default_store as default_sessions
from loyalty.checkout.session_views import ConfirmRequest, RefundRequest, RefundResult, RefundView, SessionRequest, SessionView
from loyalty.checkout.store import default_store
from loyalty.checkout.views import CheckoutQuote, CheckoutQuoteRequest
from loyalty.core.api import Call, CallerDep, IdempotencyKey, Routes, serve
from loyalty.core.api_params import id_path
from loyalty.core.clock import utc_now
from loyalty.core.errors import NotFound
from loyalty.org.scope import customers_own

routes = Routes("checkout", "Several coupons and points on one order: the stacking policy, quotes, sessions and refunds.")
SessionPath = Annotated[str, id_path("The checkout session's id.")]
SESSION = "/v1/checkout/sessions/{sessionId}"
# An operator reads the sessions of the customers of their subtree (the console's inspector).
A_SESSION = customers_own("SESSION_NOT_FOUND", "checkout session {sessionId} does not exist",
                          customer_of=lambda call: session_service.find(default_sessions(), None, call.path_param("sessionId")).customerId)
ORDER_REFUSALS = ["ORDER_EMPTY", "ORDER_LINES_DUPLICATED", "ORDER_AMOUNT_INVALID", "ORDER_CURRENCY_MIXED", "COUPON_CHOSEN_TWICE",
                  "INSUFFICIENT_POINTS", "POINTS_OVER_SHARE", "POINTS_NOT_WITH_COUPONS", "QUOTE_CHOICE_AMBIGUOUS"]


def _view(session_id: str) -> SessionView:
    found = session_service.find(default_sessions(), None, session_id)
    return SessionView.of(found, found.state_at(utc_now()))


def _as_stored(call: Call) -> SessionView:
    """A retry's answer when the first try committed and died before answering: the session as it is."""
    return _view(call.path_param("sessionId"))


def _refund_as_stored(call: Call) -> RefundResult:
    """A retried refund whose first try committed: the refund its `refundId` names, as recorded."""
    found = session_service.find(default_sessions(), None, call.path_param("sessionId"))
    record = found.refund(str(getattr(call.body, "refundId", "")))
    if record is None:
        raise NotFound(f"refund {getattr(call.body, 'refundId', '')} was not recorded", code="REFUND_NOT_FOUND")
    return RefundResult(refund=RefundView.of(record), session=SessionView.of(found, found.state))


@routes.post("/v1/checkout/quote", summary="Quote an order with coupons and points", idempotency="none", operators_too=False,
             operation_id="quoteCheckout", errors={403: ["NOT_RESOURCE_OWNER"], 422: ORDER_REFUSALS})
def quote_checkout(body: CheckoutQuoteRequest, caller: CallerDep) -> CheckoutQuote:
    """Writes nothing and takes no Idempotency-Key. The coupons chosen apply in the policy's order of
    kinds, each spread over the lines it covers; each that cannot is left out with its reason. With
    `best`, the engine picks from the customer's wallet the combination that takes most off (ties:
    the coupons expiring first), by an exact branch and bound. Points then pay what the policy lets
    them of what is left. The customer is the token's subject: a coupon not theirs is 403."""
    found, version = service.quote(default_store(), caller.subject, body.order.order(), utc_now(), coupon_ids=list(body.coupons),
                                   best=body.best, points=body.points)
    return CheckoutQuote.of(body.order.currency, found, version)


@routes.post("/v1/checkout/sessions", summary="Open a checkout session: lock the coupons and hold the points", status=201,
             idempotency="domain", operators_too=False, operation_id="openCheckoutSession",
             links={"getCheckoutSession": {"sessionId": "$response.body#/sessionId"},
                    "confirmCheckoutSession": {"sessionId": "$response.body#/sessionId"}},
             errors={403: ["NOT_RESOURCE_OWNER"], 404: ["COUPON_NOT_FOUND"], 409: ["COUPON_LOCKED", "COUPON_ALREADY_REDEEMED",
                                                                                  "CHECKOUT_CONTENDED"],
                     422: [*ORDER_REFUSALS, "COUPON_NOT_APPLICABLE", "COUPON_EXPIRED", "COUPON_REVOKED", "COUPON_NOT_YET_VALID",
                           "POINTS_TOO_FRAGMENTED", "CHECKOUT_TOO_LARGE", "IDEMPOTENCY_KEY_REUSED"]})
def open_checkout_session(body: SessionRequest, key: IdempotencyKey, caller: CallerDep) -> Response[SessionView]:
    """Prices the basket as a quote does (the coupons chosen, or `best`), then locks every coupon
    and holds the points in one transaction, until `lapsesAt`. All or nothing: a coupon chosen that
    does not apply with the others is 422 `COUPON_NOT_APPLICABLE`, one locked for another order
    409 `COUPON_LOCKED`, each naming the coupon in `details`, and nothing is locked or held. The
    session's id derives from the customer and the Idempotency-Key: a retry answers the same session
    with 200 and `Idempotent-Replayed: true`."""
    opened, new = session_service.open_session(default_sessions(), default_store(), caller.subject, body.order.model_dump(mode="json"),
                                          body.order.order(), key, utc_now(), coupon_ids=list(body.coupons), best=body.best,
                                          points=body.points, ttl_minutes=body.ttlMinutes)
    return Response(201 if new else 200, "application/json", SessionView.of(opened, opened.state_at(utc_now())),
                    None if new else {"Idempotent-Replayed": "true"})


@routes.get(SESSION, scope=A_SESSION, summary="A checkout session", operation_id="getCheckoutSession",
            errors={404: ["SESSION_NOT_FOUND"]})
def get_checkout_session(sessionId: SessionPath, caller: CallerDep) -> SessionView:
    """The customer's own session (another's is 404), or, for an operator, a session of a customer
    of their subtree: its coupons, points, state, payment and refunds."""
    found = session_service.find(default_sessions(), None if caller.is_operator else caller.subject, sessionId)
    return SessionView.of(found, found.state_at(utc_now()))


@routes.post(f"{SESSION}/confirm", summary="Confirm a checkout session: redeem the coupons, settle the points", operators_too=False,
             operation_id="confirmCheckoutSession", replay=_as_stored,
             errors={404: ["SESSION_NOT_FOUND"], 409: ["SESSION_EXPIRED", "SESSION_CANCELLED", "SESSION_PAID_OTHERWISE", "CHECKOUT_CONTENDED"],
                     422: ["COUPON_EXPIRED", "COUPON_REVOKED"]})
def confirm_checkout_session(sessionId: SessionPath, body: ConfirmRequest, key: IdempotencyKey, caller: CallerDep) -> SessionView:
    """Redeems every coupon and settles the points, once: the same `paymentId` again answers the
    session as confirmed and changes nothing; another `paymentId` is 409 `SESSION_PAID_OTHERWISE`.
    A session past `lapsesAt` is 409 `SESSION_EXPIRED` and consumes nothing. Emits `CheckoutConfirmed`."""
    confirmed = session_service.confirm(default_sessions(), caller.subject, sessionId, body.paymentId, utc_now())
    return SessionView.of(confirmed, confirmed.state)


@routes.post(f"{SESSION}/cancel", summary="Cancel a checkout session: release the coupons and the points", operators_too=False,
             operation_id="cancelCheckoutSession", replay=_as_stored,
             errors={404: ["SESSION_NOT_FOUND"], 409: ["SESSION_CONFIRMED", "CHECKOUT_CONTENDED"]})
def cancel_checkout_session(sessionId: SessionPath, key: IdempotencyKey, caller: CallerDep) -> SessionView:
    """Releases every coupon and the points. A session already cancelled or lapsed is answered as it
    is (a lapsed one not yet swept is released now, as lapsed); a confirmed one is refunded instead."""
    cancelled = session_service.cancel(default_sessions(), caller.subject, sessionId, utc_now())
    return SessionView.of(cancelled, cancelled.state)


@routes.post(f"{SESSION}/refunds", summary="Refund a confirmed checkout, in part or whole", operators_too=False, status=201,
             operation_id="refundCheckoutSession", replay=_refund_as_stored,
             errors={404: ["SESSION_NOT_FOUND"], 409: ["SESSION_NOT_REFUNDABLE", "CHECKOUT_CONTENDED"],
                     422: ["REFUND_EXCEEDS_ORDER", "REFUND_LINE_UNKNOWN", "REFUND_LINES_DUPLICATED", "REFUND_MODE_MIXED", "REFUND_ID_REUSED", "REFUND_LIMIT"]})
def refund_checkout_session(sessionId: SessionPath, body: RefundRequest, key: IdempotencyKey, caller: CallerDep) -> RefundResult:
    """Gives back the discounts and the points in proportion to what is refunded (lines and
    quantities, or an amount of the order's value), computed from everything refunded so far, so
    rounding never drifts; the refund that completes the order returns the coupons whose template
    says so. The same `refundId` again answers the same refund; a refund beyond the order is 422
    `REFUND_EXCEEDS_ORDER`. Emits `CheckoutRefunded`."""
    session, record = session_service.refund(default_sessions(), caller.subject, sessionId, body.refundId, body.quantities(),
                                             body.amountMinor, utc_now())
    return RefundResult(refund=RefundView.of(record), session=SessionView.of(session, session.state))


handler = serve(routes)
