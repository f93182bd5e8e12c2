"""Every minute: checkout sessions that lapsed give back what they held (their coupons and points)."""

from typing import Any

from loyalty.checkout import session_service
from loyalty.checkout.session_store import default_store
from loyalty.core.clock import utc_now
from loyalty.core.observability import lambda_entry, logger


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    swept = session_service.sweep(default_store(), utc_now())
    logger.info("lapsed checkout sessions released", extra=swept)
    return swept
