"""Coupon outcomes of campaign grants: refused or returned gives the budget back, redeemed is counted."""

from loyalty.campaigns import outcomes, service
from loyalty.campaigns.model import CouponOutcome
from loyalty.core.clock import utc_now
from loyalty.core.consumer import BusEvent, sqs_consumer


@sqs_consumer({"CouponIssueFailed": CouponOutcome, "CouponReturned": CouponOutcome, "CouponRedeemed": CouponOutcome})
def handler(event: BusEvent) -> None:
    outcome: CouponOutcome = event.detail  # type: ignore[assignment]
    store, now = service.default_store(), utc_now()
    if event.detail_type == "CouponRedeemed":
        outcomes.count_redeemed(store, outcome.commandId, now)
    else:
        outcomes.give_back(store, outcome.commandId, f"{event.detail_type}:{outcome.reason or 'returned'}", now)
