"""Settles coupon redemptions: `CouponIssued` completes one, `CouponIssueFailed` gives the points back."""

from pydantic import BaseModel, ConfigDict

from loyalty.core.clock import utc_now
from loyalty.core.consumer import BusEvent, sqs_consumer
from loyalty.core.observability import logger
from loyalty.points import redemption
from loyalty.points.model import Key
from loyalty.points.service import default_store


class CouponOutcome(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    commandId: Key
    customerId: Key
    reason: str | None = None


@sqs_consumer({"CouponIssued": CouponOutcome, "CouponIssueFailed": CouponOutcome})
def handler(event: BusEvent) -> None:
    outcome: CouponOutcome = event.detail  # type: ignore[assignment]
    issued = event.detail_type == "CouponIssued"
    reason = "coupon_issued" if issued else f"coupon_refused:{outcome.reason}"
    if redemption.settle(default_store(), outcome.commandId, completed=issued, now=utc_now(), reason=reason) is None:
        logger.info("a points-mall coupon outcome without a redemption here", extra={"command_id": outcome.commandId})
