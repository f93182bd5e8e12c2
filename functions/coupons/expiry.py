"""The scheduled sweep that marks lapsed coupons expired and announces CouponExpired."""

from typing import Any

from loyalty.core.clock import utc_now
from loyalty.core.observability import lambda_entry, logger
from loyalty.coupons import service


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    result = service.sweep_expired(service.default_store(), utc_now())
    logger.info("expiry sweep done", extra={**result, "schedule": event.get("schedule")})
    return result
